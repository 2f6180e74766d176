// The pages are embedded at compile time: rebuild when a file in the folder is added,
// changed or removed, not only when one that was already embedded changes.
fn main() {
    println!("cargo:rerun-if-changed=../../local-dev/static");
}
