//! Builds the word lists of `data/` into one FST map, word → rank << 3 | list, so the
//! lists live in the binary's read-only data: nothing is parsed or allocated at run time.

use std::collections::BTreeMap;
use std::path::Path;
use std::{env, fs};

/// In the order of `List` in src/words.rs.
const LISTS: [&str; 6] = [
    "passwords",
    "english_wikipedia",
    "female_names",
    "male_names",
    "surnames",
    "us_tv_and_film",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut best: BTreeMap<String, u64> = BTreeMap::new();
    for (list, name) in (0u64..).zip(LISTS) {
        let path = format!("data/{name}.txt");
        println!("cargo::rerun-if-changed={path}");
        for (rank, word) in (1u64..).zip(fs::read_to_string(&path)?.lines()) {
            let value = (rank << 3) | list;
            // A word in several lists counts with its best rank, as the matcher would
            // take the cheapest reading anyway.
            best.entry(word.to_owned())
                .and_modify(|kept| *kept = (*kept).min(value))
                .or_insert(value);
        }
    }
    let map = fst::Map::from_iter(best)?;
    let out = env::var("OUT_DIR")?;
    fs::write(Path::new(&out).join("words.fst"), map.as_fst().as_bytes())?;
    Ok(())
}
