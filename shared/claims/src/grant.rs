//! The tokens of OAuth clients (agents at `/mcp`), issued under a grant.
//!
//! An access token is a JWT signed with the same key set as the REST tokens (same
//! `typ: at+jwt`, same `kid` rules) but for another audience, the MCP resource
//! (`<origin>/mcp`), with RFC 9068 claims: `sub` (the user id), `gid` (the grant),
//! `scope`, `client_id`. [`TokenKeys::verify`] refuses it (wrong `aud`, no `user_id`),
//! and [`TokenKeys::verify_grant_token`] refuses REST tokens (wrong `aud`, no `gid`).
//!
//! A grant's refresh token is opaque, like a session's (see [`crate::refresh`]):
//! `<user_id>.<grant_id>.<generation>.<mac>`, under a key derived with its own label, so
//! neither kind passes as the other.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use crate::{LEEWAY_SECONDS, TokenError, TokenKeys, check_times, unix_now};

/// An OAuth access token's lifetime unless configured: an hour.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// The longest the configuration accepts: a day (the refresh token gets new ones).
pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// What an OAuth access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantClaims {
    /// The user's id, in decimal (`sub` is a string in JWT).
    pub sub: String,
    /// The grant the token was issued under.
    pub gid: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    pub client_id: String,
    pub exp: u64,
    pub iat: u64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
}

impl GrantClaims {
    /// The user id of `sub`; `None` if it is not one (no token of ours).
    pub fn user_id(&self) -> Option<u64> {
        self.sub.parse().ok()
    }
}

/// Who an OAuth access token is issued to, under which grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSubject {
    pub user_id: u64,
    pub grant_id: String,
    /// Space-separated scopes.
    pub scope: String,
    pub client_id: String,
}

/// Where an OAuth access token is valid: its issuer (the origin) and audience (the MCP
/// resource, `<origin>/mcp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantAudience {
    pub issuer: String,
    pub resource: String,
}

/// What a genuine grant refresh token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRefresh {
    pub user_id: u64,
    pub grant_id: String,
    /// The grant's generation this token was issued for.
    pub generation: u64,
}

impl TokenKeys {
    /// The configured lifetime of OAuth access tokens.
    pub fn grant_lifetime(&self) -> Duration {
        self.settings.grant_lifetime
    }

    /// An access token for `subject`, valid at `audience` from now for the configured
    /// grant lifetime.
    pub fn issue_grant_token(
        &self,
        subject: GrantSubject,
        audience: &GrantAudience,
    ) -> Result<(String, GrantClaims), TokenError> {
        self.issue_grant_token_at(subject, audience, unix_now())
    }

    /// As [`Self::issue_grant_token`], as if issued at `issued_at` (tests of expiry).
    pub fn issue_grant_token_at(
        &self,
        subject: GrantSubject,
        audience: &GrantAudience,
        issued_at: u64,
    ) -> Result<(String, GrantClaims), TokenError> {
        let claims = GrantClaims {
            sub: subject.user_id.to_string(),
            gid: subject.grant_id,
            scope: subject.scope,
            client_id: subject.client_id,
            iat: issued_at,
            exp: issued_at.saturating_add(self.settings.grant_lifetime.as_secs()),
            iss: audience.issuer.clone(),
            aud: audience.resource.clone(),
            jti: ulid::Ulid::new().to_string(),
        };
        let token = self.sign(&claims)?;
        Ok((token, claims))
    }

    /// The claims of a valid OAuth access token for `audience`; refused like REST
    /// tokens are (signature, `kid`, `typ`, times), and for any other audience or issuer.
    pub fn verify_grant_token(
        &self,
        token: &str,
        audience: &GrantAudience,
    ) -> Result<GrantClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&audience.issuer]);
        validation.set_audience(&[&audience.resource]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let claims: GrantClaims = self.decode(token, &validation)?;
        check_times(claims.iat, claims.exp, self.settings.grant_lifetime)?;
        Ok(claims)
    }

    /// The refresh token of generation `generation` of a grant, MAC'd with the grant
    /// refresh key of the key that signs now.
    pub fn grant_refresh_token(
        &self,
        user_id: u64,
        grant_id: &str,
        generation: u64,
    ) -> Option<String> {
        let key = self.signing_key()?;
        Some(key.grant_refresh.token(user_id, grant_id, generation))
    }

    /// What a grant refresh token says, if a key of the set MAC'd it (retired keys
    /// included, as for sessions' refresh tokens).
    pub fn verify_grant_refresh(&self, token: &str) -> Option<GrantRefresh> {
        self.keys
            .iter()
            .find_map(|key| key.grant_refresh.verify(token))
            .map(|token| GrantRefresh {
                user_id: token.user_id,
                grant_id: token.session_id,
                generation: token.counter,
            })
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::{Subject, TokenSettings};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const GRANT: &str = "01J9ZQ3V5M8Q4Y0RZ5X1T2C3D4";

    fn keys() -> TokenKeys {
        TokenKeys::new(&SecretString::from(SECRET), TokenSettings::default()).unwrap()
    }

    fn mcp() -> GrantAudience {
        GrantAudience {
            issuer: "https://mem0.example.com".into(),
            resource: "https://mem0.example.com/mcp".into(),
        }
    }

    fn agent() -> GrantSubject {
        GrantSubject {
            user_id: 7,
            grant_id: GRANT.into(),
            scope: "memories:read".into(),
            client_id: "01J9ZQ3V5M8Q4Y0RZ5X1T2C3D5".into(),
        }
    }

    fn rest_subject() -> Subject {
        Subject {
            user_id: 7,
            email: "alice@example.com".into(),
            account_type: "individual".into(),
            role: "user".into(),
            organization_id: None,
            sid: Some(GRANT.into()),
        }
    }

    #[test]
    fn a_grant_token_says_its_user_grant_scope_and_client() {
        let keys = keys();
        let (token, issued) = keys.issue_grant_token(agent(), &mcp()).unwrap();
        let claims = keys.verify_grant_token(&token, &mcp()).unwrap();
        assert_eq!(claims, issued);
        assert_eq!(claims.user_id(), Some(7));
        assert_eq!(claims.gid, GRANT);
        assert_eq!(claims.aud, "https://mem0.example.com/mcp");
        assert_eq!(claims.iss, "https://mem0.example.com");
        assert_eq!(claims.exp - claims.iat, DEFAULT_LIFETIME.as_secs());
        assert_eq!(
            jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(),
            Some(crate::LEGACY_KID)
        );
    }

    #[test]
    fn a_grant_token_for_another_resource_or_issuer_is_refused() {
        let keys = keys();
        let (token, _) = keys.issue_grant_token(agent(), &mcp()).unwrap();
        for elsewhere in [
            GrantAudience {
                resource: "https://other.example.com/mcp".into(),
                ..mcp()
            },
            GrantAudience {
                issuer: "https://other.example.com".into(),
                ..mcp()
            },
        ] {
            assert!(keys.verify_grant_token(&token, &elsewhere).is_err());
        }
    }

    #[test]
    fn a_grant_token_is_no_rest_token_and_a_rest_token_no_grant_token() {
        let keys = keys();
        let (grant_token, _) = keys.issue_grant_token(agent(), &mcp()).unwrap();
        assert!(keys.verify(&grant_token).is_err());
        let (rest_token, _) = keys.issue(rest_subject()).unwrap();
        assert!(keys.verify_grant_token(&rest_token, &mcp()).is_err());
        // Not even a REST token minted for the MCP audience and issuer.
        let same_audience = TokenKeys::new(
            &SecretString::from(SECRET),
            TokenSettings {
                issuer: mcp().issuer,
                audience: mcp().resource,
                ..TokenSettings::default()
            },
        )
        .unwrap();
        let (rest_token, _) = same_audience.issue(rest_subject()).unwrap();
        assert!(keys.verify_grant_token(&rest_token, &mcp()).is_err());
    }

    #[test]
    fn an_expired_grant_token_is_refused() {
        let keys = keys();
        let long_ago = unix_now() - DEFAULT_LIFETIME.as_secs() - LEEWAY_SECONDS - 10;
        let (token, _) = keys
            .issue_grant_token_at(agent(), &mcp(), long_ago)
            .unwrap();
        assert!(matches!(
            keys.verify_grant_token(&token, &mcp()),
            Err(TokenError::Expired)
        ));
    }

    #[test]
    fn the_grant_token_lifetime_is_configurable_and_bounded() {
        let with = |seconds| {
            TokenKeys::new(
                &SecretString::from(SECRET),
                TokenSettings {
                    grant_lifetime: Duration::from_secs(seconds),
                    ..TokenSettings::default()
                },
            )
        };
        let short = with(5).unwrap();
        let (_, claims) = short.issue_grant_token(agent(), &mcp()).unwrap();
        assert_eq!(claims.exp - claims.iat, 5);
        // A token minted for a longer life than configured is refused.
        let (long, _) = keys().issue_grant_token(agent(), &mcp()).unwrap();
        assert!(matches!(
            short.verify_grant_token(&long, &mcp()),
            Err(TokenError::LifetimeTooLong)
        ));
        assert!(with(0).is_err());
        assert!(with(MAX_LIFETIME.as_secs() + 1).is_err());
    }

    #[test]
    fn grant_refresh_tokens_are_not_session_refresh_tokens() {
        let keys = keys();
        let grant = keys.grant_refresh_token(7, GRANT, 2).unwrap();
        assert_eq!(
            keys.verify_grant_refresh(&grant),
            Some(GrantRefresh {
                user_id: 7,
                grant_id: GRANT.into(),
                generation: 2,
            })
        );
        assert_eq!(keys.verify_refresh(&grant), None);
        let session = keys.refresh_token(7, GRANT, 2).unwrap();
        assert_eq!(keys.verify_grant_refresh(&session), None);
    }
}
