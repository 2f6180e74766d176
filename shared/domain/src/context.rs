//! Contexts: the named collections memories are kept in.

use serde::Serialize;
use time::OffsetDateTime;

use crate::{OrganizationId, ParseError, UserId, Viewer, longer_than, refuse};

/// 1–64 characters of `[A-Za-z0-9._-]`, case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ContextName(String);

impl ContextName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        // "." and ".." would be rewritten as path steps by browsers and proxies, so a
        // context with such a name could never be reached by URL.
        if raw == "." || raw == ".." {
            return Err(refuse("A context name cannot be \".\" or \"..\"."));
        }
        let valid = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(refuse(
                "A context name is 1-64 characters of letters, digits, '.', '_' and '-'.",
            ))
        }
    }
}

text_newtype!(ContextName);

/// A context's description: trimmed, at most 1,000 characters, possibly empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 1_000;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let description = raw.trim();
        if longer_than(description, Self::MAX_CHARS) {
            return Err(refuse(format!(
                "The description must be at most {} characters.",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(description.to_owned()))
    }
}

text_newtype!(Description);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Private,
    Organization,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Organization => "organization",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "private" => Ok(Self::Private),
            "organization" => Ok(Self::Organization),
            _ => Err(refuse(
                "visibility must be \"private\" or \"organization\".",
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewContext {
    pub name: ContextName,
    pub description: Description,
    pub visibility: Visibility,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Internal and never reused: memories hang off this id, not off the name, so a
    /// context re-created under an old name never sees the old memories.
    pub id: String,
    pub owner_id: UserId,
    pub organization_id: Option<OrganizationId>,
    pub name: ContextName,
    pub description: String,
    pub visibility: Visibility,
    pub created_at: OffsetDateTime,
    pub memory_count: u64,
}

impl Context {
    /// A context as first stored: owned by `owner`, a fresh internal id, no memories.
    pub fn create(owner: &Viewer, new: NewContext, created_at: OffsetDateTime) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            owner_id: owner.user_id,
            organization_id: owner.organization_id,
            name: new.name,
            description: new.description.into(),
            visibility: new.visibility,
            created_at,
            memory_count: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_names_follow_the_contract() {
        for ok in ["a", "my-project", "v1.2_beta", &"x".repeat(64)] {
            assert!(ContextName::parse(ok).is_ok(), "{ok:?} should parse");
        }
        for bad in [
            "",
            ".",
            "..",
            "has space",
            "slash/name",
            "émoji",
            &"x".repeat(65),
        ] {
            assert!(
                ContextName::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn descriptions_are_trimmed_and_at_most_a_thousand_characters() {
        assert_eq!(Description::parse("  notes \n").unwrap().as_str(), "notes");
        assert_eq!(Description::parse("").unwrap(), Description::default());
        let longest = "é".repeat(Description::MAX_CHARS);
        assert!(Description::parse(&format!(" {longest} ")).is_ok());
        assert_eq!(
            Description::parse(&format!("{longest}é")),
            Err(ParseError(
                "The description must be at most 1000 characters.".into()
            ))
        );
    }

    #[test]
    fn visibility_is_private_or_organization_only() {
        assert_eq!(Visibility::parse("private"), Ok(Visibility::Private));
        assert_eq!(
            Visibility::parse("organization"),
            Ok(Visibility::Organization)
        );
        for bad in ["", "public", "Private", " private"] {
            assert!(Visibility::parse(bad).is_err(), "{bad:?}");
        }
    }
}
