//! Domain types. Raw input is parsed into these once, at the edge; past the edge a
//! `ContextName` or an `Email` is always valid.

use std::fmt;
use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;

/// Why a raw value was refused; the message is safe to show to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn refuse(message: impl Into<String>) -> ParseError {
    ParseError(message.into())
}

/// A trimmed, lower-cased email address with a plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let email = raw.trim().to_lowercase();
        let invalid = || refuse("Enter a valid email address, like name@example.com.");
        if email.is_empty() || email.len() > Self::MAX_LEN {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.chars().any(|c| c.is_whitespace() || c.is_control());
        if domain_ok && local_ok {
            Ok(Self(email))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`, used to refuse passwords built from it.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

numeric_id!(
    /// Allocated atomically by the store: 1, 2, 3, ...
    UserId
);
numeric_id!(
    /// Allocated atomically by the store, from its own sequence.
    OrganizationId
);

/// A display name for a person or an organization: 1–100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str, what: &str) -> Result<Self, ParseError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(refuse(format!("The {what} must not be empty.")));
        }
        if name.chars().count() > Self::MAX_CHARS || name.chars().any(char::is_control) {
            return Err(refuse(format!(
                "The {what} must be at most {} characters, without control characters.",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContextName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A memory's id: a ULID, so ids sort by creation time (newest first = descending id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MemoryId(String);

impl MemoryId {
    /// Strictly increasing within this process, even within one millisecond, so
    /// "newest first" is exact for memories written back to back.
    pub fn generate() -> Self {
        static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());
        // The generator only remembers the last id, so a poisoned lock is still usable.
        let mut generator = GENERATOR
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Overflow takes 2^80 ids in one millisecond; a fresh random id is fine then.
        let id = generator.generate().unwrap_or_else(|_| ulid::Ulid::new());
        Self(id.to_string())
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        ulid::Ulid::from_string(raw)
            .map(|id| Self(id.to_string()))
            .map_err(|_| refuse("Not a memory id."))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MemoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    Individual,
    OrganizationAdmin,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Individual => "individual",
            Self::OrganizationAdmin => "organization_admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "individual" => Some(Self::Individual),
            "organization_admin" => Some(Self::OrganizationAdmin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Self::User),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
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

/// What signup hands to the store; the password is already an argon2id PHC string.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: DisplayName,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: DisplayName,
    pub domain: Option<String>,
    pub size: Option<String>,
    pub industry: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub account_type: AccountType,
    pub role: Role,
    pub organization_id: Option<OrganizationId>,
    pub email_verified: bool,
    pub created_at: OffsetDateTime,
}

/// A user together with the stored password hash, for login only.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// Who is asking: decides which contexts are visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: UserId,
    pub organization_id: Option<OrganizationId>,
}

#[derive(Debug, Clone)]
pub struct NewContext {
    pub name: ContextName,
    pub description: String,
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
            description: new.description,
            visibility: new.visibility,
            created_at,
            memory_count: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewMemory {
    pub text: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    pub id: MemoryId,
    pub text: String,
    pub tags: Vec<String>,
    pub created_at: OffsetDateTime,
}

/// One page of memories, newest first; `next` is the id to continue after, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPage {
    pub memories: Vec<Memory>,
    pub next: Option<MemoryId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let email = Email::parse("  Alice@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "alice@example.com");
        assert_eq!(email.local_part(), "alice");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for raw in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "alice@exa mple.com",
            "alice@.example.com",
            "alice@example..com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be refused");
        }
    }

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
    fn memory_ids_are_ulids_and_sort_by_time() {
        let first = MemoryId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = MemoryId::generate();
        assert!(second > first);
        assert_eq!(MemoryId::parse(first.as_str()).unwrap(), first);
        assert!(MemoryId::parse("not-a-ulid").is_err());
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("  Ada ", "name").unwrap().as_str(),
            "Ada"
        );
        assert!(DisplayName::parse("   ", "name").is_err());
        assert!(DisplayName::parse(&"n".repeat(101), "name").is_err());
    }
}
