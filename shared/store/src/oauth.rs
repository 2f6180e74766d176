//! The OAuth authorization server's records: registered clients and authorization
//! codes. Grants, what a code turns into, are in [`crate::grant`].
//!
//! A code is kept by its SHA-256 digest only, so a copy of the table cannot be turned
//! into tokens; it is used up by one atomic delete (`Store::use_authorization_code`), so
//! of any number of concurrent exchanges of one code exactly one gets it. Times are
//! whole Unix seconds.

use domain::{GrantContexts, Scopes};

use crate::UserId;

/// How long an authorization code may be exchanged after it was issued.
pub const AUTHORIZATION_CODE_SECONDS: i64 = 60;

/// A registered public client (RFC 7591), or a Client ID Metadata Document's client,
/// cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// A ULID for registered clients; the `https` URL for a metadata document's.
    pub client_id: String,
    /// As it registered (at most 100 characters, control characters removed, by the API).
    pub client_name: String,
    /// Exact strings, at most 10, each at most 2,000 bytes (the API validates).
    pub redirect_uris: Vec<String>,
    pub created_at: i64,
}

/// An authorization code as stored: only a digest of the code (SHA-256, hex), never
/// the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub digest: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// The PKCE `S256` challenge.
    pub code_challenge: String,
    /// The RFC 8707 resource the code is for.
    pub resource: String,
    pub user_id: UserId,
    pub scopes: Scopes,
    pub contexts: GrantContexts,
    /// Issued plus [`AUTHORIZATION_CODE_SECONDS`]; from this second on the code is dead.
    pub expires_at: i64,
}

/// What a refresh with generation `from` did to a grant (`Store::rotate_grant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantRotation {
    /// The generation was `from` and is now `from + 1`; `last_used_at` is now.
    Rotated(crate::Grant),
    /// The generation was not `from` (an old refresh token was replayed): the grant is
    /// now revoked.
    Reused,
    /// No such grant, or it was revoked already.
    Gone,
}
