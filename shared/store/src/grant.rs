//! Grants: what a user let one OAuth client (an agent) do, decided on the consent page.
//! Every access token and refresh token issued to the client names its grant; every
//! request at `/mcp` reads the grant, so a revocation holds from the next request on.
//! Times are whole Unix seconds.

use domain::{GrantContexts, Scopes};

use crate::UserId;

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
    /// Set by a revocation (the user's, or a refresh token's reuse); a revoked grant's
    /// tokens are refused.
    pub revoked_at: Option<i64>,
}

impl Grant {
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none()
    }
}
