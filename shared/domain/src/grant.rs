//! What a user lets an agent (an OAuth client) do: the scopes and contexts of a grant.
//! The grant is decided on the consent page and carried by every access token issued
//! under it; the tools of `/mcp` answer only within it.

use crate::{ContextName, ParseError, UserId, refuse};

/// A permission a grant may hold, named as OAuth scopes are (`scope` is a
/// space-separated list of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// list_contexts, recall.
    MemoriesRead,
    /// remember, forget, create_context.
    MemoriesWrite,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::MemoriesRead, Scope::MemoriesWrite];

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "memories:read" => Ok(Self::MemoriesRead),
            "memories:write" => Ok(Self::MemoriesWrite),
            _ => Err(refuse(format!(
                "Unknown scope {raw:?}: the scopes are memories:read and memories:write."
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MemoriesRead => "memories:read",
            Self::MemoriesWrite => "memories:write",
        }
    }
}

/// A set of scopes, never empty once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes {
    read: bool,
    write: bool,
}

impl Scopes {
    /// A space-separated `scope` parameter (RFC 6749 §3.3); duplicates are fine, an
    /// unknown scope or an empty list is refused.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let mut scopes = Self::default();
        for scope in raw.split(' ').filter(|part| !part.is_empty()) {
            scopes = scopes.with(Scope::parse(scope)?);
        }
        if scopes.is_empty() {
            return Err(refuse("At least one scope is needed."));
        }
        Ok(scopes)
    }

    pub fn all() -> Self {
        Self {
            read: true,
            write: true,
        }
    }

    pub fn with(self, scope: Scope) -> Self {
        match scope {
            Scope::MemoriesRead => Self { read: true, ..self },
            Scope::MemoriesWrite => Self {
                write: true,
                ..self
            },
        }
    }

    pub fn contains(self, scope: Scope) -> bool {
        match scope {
            Scope::MemoriesRead => self.read,
            Scope::MemoriesWrite => self.write,
        }
    }

    pub fn is_empty(self) -> bool {
        !self.read && !self.write
    }

    /// The scopes in this set and in `other` (a client asking less than it was granted
    /// at a refresh).
    pub fn intersect(self, other: Self) -> Self {
        Self {
            read: self.read && other.read,
            write: self.write && other.write,
        }
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .into_iter()
            .filter(move |scope| self.contains(*scope))
    }

    /// The space-separated form of the token response's `scope`.
    pub fn to_scope_string(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }
}

/// A context named absolutely: its owner and its name. A grant keeps these, not the
/// caller-relative `ContextAddress`, so that it means the same whoever reads it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextRef {
    pub owner: UserId,
    pub name: ContextName,
}

/// Most contexts a grant may name one by one; beyond that, grant them all.
pub const MAX_GRANT_CONTEXTS: usize = 50;

/// Which contexts a grant reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantContexts {
    /// Every context the user can use, now and later.
    All,
    /// Only these (1 to [`MAX_GRANT_CONTEXTS`], no duplicates); any other is invisible
    /// to the grant.
    Only(Vec<ContextRef>),
}

impl GrantContexts {
    /// The ticked contexts of a consent, deduplicated and sorted; none or too many is
    /// refused.
    pub fn only(mut contexts: Vec<ContextRef>) -> Result<Self, ParseError> {
        contexts.sort();
        contexts.dedup();
        if contexts.is_empty() {
            return Err(refuse("Pick at least one context, or all of them."));
        }
        if contexts.len() > MAX_GRANT_CONTEXTS {
            return Err(refuse(format!(
                "A grant names at most {MAX_GRANT_CONTEXTS} contexts; grant all of them instead."
            )));
        }
        Ok(Self::Only(contexts))
    }

    /// Whether the grant reaches the context `name` of `owner`.
    pub fn includes(&self, owner: UserId, name: &ContextName) -> bool {
        match self {
            Self::All => true,
            Self::Only(contexts) => contexts
                .iter()
                .any(|context| context.owner == owner && &context.name == name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_from_the_oauth_scope_parameter() {
        let both = Scopes::parse("memories:read  memories:write memories:read").unwrap();
        assert_eq!(both, Scopes::all());
        assert_eq!(both.to_scope_string(), "memories:read memories:write");
        let read = Scopes::parse("memories:read").unwrap();
        assert!(read.contains(Scope::MemoriesRead));
        assert!(!read.contains(Scope::MemoriesWrite));
        assert_eq!(read.intersect(both), read);
        for bad in [
            "",
            "   ",
            "memories:admin",
            "memories:read openid",
            "MEMORIES:READ",
        ] {
            assert!(Scopes::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_grant_for_some_contexts_includes_only_those() {
        let notes = ContextName::parse("notes").unwrap();
        let work = ContextName::parse("work").unwrap();
        let mine = ContextRef {
            owner: UserId(1),
            name: notes.clone(),
        };
        let grant = GrantContexts::only(vec![mine.clone(), mine]).unwrap();
        assert!(grant.includes(UserId(1), &notes));
        assert!(!grant.includes(UserId(1), &work));
        assert!(!grant.includes(UserId(2), &notes), "same name, other owner");
        assert!(GrantContexts::All.includes(UserId(2), &work));
        assert!(GrantContexts::only(Vec::new()).is_err());
        let many = (0..=MAX_GRANT_CONTEXTS)
            .map(|i| ContextRef {
                owner: UserId(1),
                name: ContextName::parse(&format!("c{i}")).unwrap(),
            })
            .collect();
        assert!(GrantContexts::only(many).is_err());
    }
}
