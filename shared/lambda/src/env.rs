//! Environment variables as the template sets them: a value that is empty or only
//! blanks is the same as no value (CloudFormation cannot leave a variable out).

/// Reads one variable (the process environment, or a test's map).
pub(crate) type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// `name` through `lookup`, trimmed; `None` when unset or blank.
pub(crate) fn nonempty(
    lookup: &(impl Fn(&str) -> Option<String> + ?Sized),
    name: &str,
) -> Option<String> {
    lookup(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// `name` from the process environment, trimmed; `None` when unset or blank.
pub(crate) fn var(name: &str) -> Option<String> {
    nonempty(&|name: &str| std::env::var(name).ok(), name)
}
