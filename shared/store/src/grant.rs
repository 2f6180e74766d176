//! Grants: what a user let one OAuth client (an agent) do, decided on the consent page.
//! Every access token and refresh token issued to the client names its grant; every
//! request at `/mcp` reads the grant, so a revocation holds from the next request on.
//! Times are whole Unix seconds.
//!
//! A grant is one record, like a login session: `generation` is the generation of its
//! refresh token, moved on by one with a conditional write at each refresh
//! (`Store::rotate_grant`), so a refresh token cannot fork the grant; a refresh with an
//! older generation is a replayed token and revokes the grant (RFC 9700 §4.14.2).
//! Revoked grants are kept for [`KEEP_REVOKED_SECONDS`] so that their old tokens are
//! answered as revoked, then forgotten.

use domain::{GrantContexts, Scopes};

use crate::UserId;

/// Most grants `list_grants` returns (the newest live ones).
pub const MAX_LISTED_GRANTS: usize = 100;

/// How long a revoked grant's record is kept after its revocation.
pub const KEEP_REVOKED_SECONDS: i64 = 90 * 24 * 60 * 60;

/// `touch_grant` writes `last_used_at` at most this often per grant.
pub const TOUCH_INTERVAL_SECONDS: i64 = 60;

/// A grant's id: a ULID (time-ordered, 80 random bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId(String);

impl GrantId {
    pub fn generate() -> Self {
        Self(ulid::Ulid::new().to_string())
    }

    /// A grant id as a client sends it back; `None` unless it is a canonical ULID.
    pub fn parse(raw: &str) -> Option<Self> {
        let id = ulid::Ulid::from_string(raw).ok()?;
        (id.to_string() == raw).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for GrantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's consent to one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: GrantId,
    pub user_id: UserId,
    /// The OAuth `client_id`: a registered client's id, or a Client ID Metadata
    /// Document's URL.
    pub client_id: String,
    /// The client's name as it registered it, for the consent page, the connected
    /// apps list and the activity trail.
    pub client_name: String,
    pub scopes: Scopes,
    pub contexts: GrantContexts,
    pub created_at: i64,
    pub last_used_at: i64,
    /// The generation of the current refresh token: 0 when the grant is made, one more
    /// per refresh.
    pub generation: u64,
    /// Set by a revocation (the user's, or a refresh token's reuse); a revoked grant's
    /// tokens are refused.
    pub revoked_at: Option<i64>,
}

impl Grant {
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A grant's contexts as both stores keep them: a list of strings, `["*"]` for all,
/// else `<owner>/<name>` each (a context name has no `/`, so neither form is ambiguous).
#[cfg(any(feature = "dynamodb", feature = "embedded"))]
pub(crate) fn contexts_to_strings(contexts: &GrantContexts) -> Vec<String> {
    match contexts {
        GrantContexts::All => vec![ALL_CONTEXTS.to_owned()],
        GrantContexts::Only(contexts) => contexts
            .iter()
            .map(|context| format!("{}/{}", context.owner, context.name))
            .collect(),
    }
}

/// The contexts `contexts_to_strings` wrote; `None` for anything it cannot have written.
#[cfg(any(feature = "dynamodb", feature = "embedded"))]
pub(crate) fn contexts_from_strings(stored: &[String]) -> Option<GrantContexts> {
    if let [all] = stored
        && all == ALL_CONTEXTS
    {
        return Some(GrantContexts::All);
    }
    let contexts = stored
        .iter()
        .map(|context| {
            let (owner, name) = context.split_once('/')?;
            Some(domain::ContextRef {
                owner: UserId(owner.parse().ok()?),
                name: domain::ContextName::parse(name).ok()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    GrantContexts::only(contexts).ok()
}

#[cfg(any(feature = "dynamodb", feature = "embedded"))]
const ALL_CONTEXTS: &str = "*";

#[cfg(all(test, any(feature = "dynamodb", feature = "embedded")))]
mod tests {
    use super::*;

    #[test]
    fn grant_contexts_read_back_as_they_were_stored() {
        let some = GrantContexts::only(vec![
            domain::ContextRef {
                owner: UserId(7),
                name: domain::ContextName::parse("work.notes").expect("name"),
            },
            domain::ContextRef {
                owner: UserId(3),
                name: domain::ContextName::parse("a-b_c").expect("name"),
            },
        ])
        .expect("contexts");
        for contexts in [GrantContexts::All, some] {
            assert_eq!(
                contexts_from_strings(&contexts_to_strings(&contexts)),
                Some(contexts)
            );
        }
        for corrupt in [
            &[][..],
            &["*".to_owned(), "1/a".to_owned()],
            &["x/a".to_owned()],
        ] {
            assert_eq!(contexts_from_strings(corrupt), None, "{corrupt:?}");
        }
    }

    #[test]
    fn only_canonical_ulids_are_grant_ids() {
        let id = GrantId::generate();
        assert_eq!(GrantId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(GrantId::parse(&id.as_str().to_lowercase()), None);
        assert_eq!(GrantId::parse("GRANT#1"), None);
    }
}
