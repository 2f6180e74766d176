//! Refresh tokens, in the manner of Supabase's v2 sessions: a token names its session
//! and its generation, and is signed; the store keeps only each session's current
//! generation (its `counter`), never a token. So a leaked table yields no usable token,
//! and the child of any token can be derived again (which is what the grace window of
//! concurrent refreshes hands out).
//!
//! A token is `<user_id>.<session_id>.<counter>.<mac>`, where `mac` is the unpadded
//! base64url HMAC-SHA256, under the refresh key, of everything before its dot. The user
//! id is in it so that the store finds the session within the user's own sessions. The
//! refresh key is HMAC-SHA256(signing secret, "mem0 refresh v1"): one secret to keep,
//! and a refresh token can never pass as an access token or the other way round.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Domain separation of the refresh key from the access tokens' signing key.
const DERIVATION_LABEL: &[u8] = b"mem0 refresh v1";

/// Domain separation of grants' refresh tokens (OAuth clients) from sessions' ones: a
/// session's refresh token is never a grant's, nor the other way round.
const GRANT_DERIVATION_LABEL: &[u8] = b"mem0 grant refresh v1";

/// Anything longer is no token of ours (ours are under 100 bytes); refused before any
/// hashing.
const MAX_TOKEN_BYTES: usize = 160;

/// Most characters of a session id a token may carry.
const MAX_SESSION_ID: usize = 64;

/// The HMAC key refresh tokens are signed with.
#[derive(Clone)]
pub struct RefreshKey([u8; 32]);

impl std::fmt::Debug for RefreshKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshKey(..)")
    }
}

/// What a genuine refresh token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub user_id: u64,
    pub session_id: String,
    /// The session generation this token was issued for.
    pub counter: u64,
}

impl RefreshKey {
    /// The refresh key of a signing secret.
    pub fn derive(secret: &[u8]) -> Self {
        Self(keyed(secret, DERIVATION_LABEL))
    }

    /// The key of grants' refresh tokens of a signing secret; their `session_id` is
    /// the grant's id and `counter` its generation.
    pub fn derive_for_grants(secret: &[u8]) -> Self {
        Self(keyed(secret, GRANT_DERIVATION_LABEL))
    }

    /// The token of generation `counter` of the session.
    pub fn token(&self, user_id: u64, session_id: &str, counter: u64) -> String {
        let body = format!("{user_id}.{session_id}.{counter}");
        let mac = URL_SAFE_NO_PAD.encode(keyed(&self.0, body.as_bytes()));
        format!("{body}.{mac}")
    }

    /// What `token` says, if this key signed it; `None` for anything else. The MAC is
    /// compared in constant time.
    pub fn verify(&self, token: &str) -> Option<RefreshToken> {
        if token.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let (body, mac) = token.rsplit_once('.')?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let mut check = HmacSha256::new_from_slice(&self.0).ok()?;
        check.update(body.as_bytes());
        check.verify_slice(&mac).ok()?;
        // Signed by us, so well formed; parsed with care all the same.
        let mut parts = body.split('.');
        let user_id = parts.next()?.parse().ok()?;
        let session_id = parts.next()?;
        let counter = parts.next()?.parse().ok()?;
        if parts.next().is_some() || session_id.is_empty() || session_id.len() > MAX_SESSION_ID {
            return None;
        }
        Some(RefreshToken {
            user_id,
            session_id: session_id.to_owned(),
            counter,
        })
    }
}

fn keyed(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = "01J9ZQ3V5M8Q4Y0RZ5X1T2C3D4";

    fn key() -> RefreshKey {
        RefreshKey::derive(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn a_token_says_its_user_session_and_generation() {
        let token = key().token(7, SESSION, 3);
        assert_eq!(
            key().verify(&token),
            Some(RefreshToken {
                user_id: 7,
                session_id: SESSION.into(),
                counter: 3,
            })
        );
        assert_ne!(token, key().token(7, SESSION, 4), "each generation differs");
        assert_eq!(
            token,
            key().token(7, SESSION, 3),
            "and can be derived again"
        );
    }

    #[test]
    fn an_edited_or_foreign_token_is_refused() {
        let token = key().token(7, SESSION, 3);
        let mac = token.rsplit_once('.').unwrap().1;
        for forged in [
            format!("8.{SESSION}.3.{mac}"),
            format!("7.{SESSION}.4.{mac}"),
            format!("7.{SESSION}.03.{mac}"),
            format!("7.01J9ZQ3V5M8Q4Y0RZ5X1T2C3D5.3.{mac}"),
            format!("{token}x"),
            format!("{token}."),
            token[..token.len() - 1].to_owned(),
            String::new(),
            "...".into(),
            "a".repeat(10_000),
        ] {
            assert_eq!(key().verify(&forged), None, "{forged}");
        }
        let other = RefreshKey::derive(b"another-secret-another-secret-1234");
        assert_eq!(other.verify(&token), None);
    }

    #[test]
    fn a_session_refresh_token_is_not_a_grant_refresh_token_nor_the_other_way_round() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let sessions = RefreshKey::derive(secret);
        let grants = RefreshKey::derive_for_grants(secret);
        assert_eq!(grants.verify(&sessions.token(7, SESSION, 3)), None);
        assert_eq!(sessions.verify(&grants.token(7, SESSION, 3)), None);
        assert!(grants.verify(&grants.token(7, SESSION, 3)).is_some());
    }

    #[test]
    fn the_refresh_key_is_not_the_signing_secret() {
        let secret = b"0123456789abcdef0123456789abcdef";
        assert_ne!(&RefreshKey::derive(secret).0, secret);
    }
}
