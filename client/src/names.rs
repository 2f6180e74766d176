//! Values checked once at the edge, as the API would check them, so a typo fails fast.

/// A context name: 1–64 characters of `[A-Za-z0-9._-]`, and not `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextName(String);

impl ContextName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid_chars = raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if raw.is_empty() || raw.len() > 64 || !valid_chars || raw == "." || raw == ".." {
            return Err(format!(
                "{raw:?} is not a context name: use 1-64 letters, digits, '.', '_' or '-' (not '.' or '..')"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ContextName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::ContextName;

    #[test]
    fn context_names_follow_the_contract() {
        for good in ["my-project", "a", "A.b_c-9", &"x".repeat(64)] {
            assert!(ContextName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "has space",
            "slash/name",
            "ü",
            &"x".repeat(65),
        ] {
            assert!(ContextName::parse(bad).is_err(), "{bad}");
        }
    }
}
