//! The mem0 access token: an HS256 JWT. This crate is the only place that knows JWT
//! details; everything else sees `Claims`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// HMAC-SHA256 keys shorter than this are guessable; refuse them at start-up.
pub const MIN_SECRET_BYTES: usize = 32;
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
pub const DEFAULT_ISSUER: &str = "mem0-auth";
pub const DEFAULT_AUDIENCE: &str = "mem0-api";
/// Clock skew tolerated between the machines that issue and verify.
const LEEWAY_SECONDS: u64 = 30;

/// What the token says about its holder. Field names are the contract's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub user_id: u64,
    pub email: String,
    pub account_type: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<u64>,
    pub exp: u64,
    pub iat: u64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
}

/// Who a token is being issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub user_id: u64,
    pub email: String,
    pub account_type: String,
    pub role: String,
    pub organization_id: Option<u64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("the token signing secret must be at least {MIN_SECRET_BYTES} bytes")]
    SecretTooShort,
    #[error("the token lifetime must be between one minute and 30 days")]
    BadLifetime,
}

/// Why a token was refused. Callers answer 401 whatever the reason; the reason is for logs.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid: {0}")]
    Invalid(String),
    #[error("token could not be signed: {0}")]
    Signing(String),
}

#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub lifetime: Duration,
    pub issuer: String,
    pub audience: String,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            lifetime: DEFAULT_LIFETIME,
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
        }
    }
}

/// Issues and verifies tokens with one secret. Build once at start-up; cheap to share.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    settings: TokenSettings,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn new(secret: &SecretString, settings: TokenSettings) -> Result<Self, ConfigError> {
        let secret = secret.expose_secret().as_bytes();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::SecretTooShort);
        }
        let lifetime = settings.lifetime.as_secs();
        if !(60..=30 * 24 * 60 * 60).contains(&lifetime) {
            return Err(ConfigError::BadLifetime);
        }
        // Pinning the algorithm is what makes `alg: none` and algorithm-confusion tokens fail.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        validation.leeway = LEEWAY_SECONDS;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            settings,
        })
    }

    pub fn lifetime(&self) -> Duration {
        self.settings.lifetime
    }

    /// Signs a token for `subject`, valid from now for the configured lifetime.
    pub fn issue(&self, subject: Subject) -> Result<(String, Claims), TokenError> {
        self.issue_at(subject, unix_now())
    }

    /// Signs a token as if issued at `issued_at` (Unix seconds); tests use it to make
    /// expired tokens.
    pub fn issue_at(
        &self,
        subject: Subject,
        issued_at: u64,
    ) -> Result<(String, Claims), TokenError> {
        let claims = Claims {
            user_id: subject.user_id,
            email: subject.email,
            account_type: subject.account_type,
            role: subject.role,
            organization_id: subject.organization_id,
            iat: issued_at,
            exp: issued_at + self.settings.lifetime.as_secs(),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            jti: ulid::Ulid::new().to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok((token, claims))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            })
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&SecretString::from(secret), TokenSettings::default()).unwrap()
    }

    fn alice() -> Subject {
        Subject {
            user_id: 7,
            email: "alice@example.com".into(),
            account_type: "individual".into(),
            role: "user".into(),
            organization_id: None,
        }
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_fresh_token_verifies_with_every_claim() {
        let keys = keys(SECRET);
        let (token, issued) = keys.issue(alice()).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims, issued);
        assert_eq!(claims.exp - claims.iat, 24 * 60 * 60);
        assert_eq!(claims.iss, DEFAULT_ISSUER);
        assert_eq!(claims.aud, DEFAULT_AUDIENCE);
        assert_eq!(claims.jti.len(), 26);
    }

    #[test]
    fn organization_id_is_present_only_for_members() {
        let keys = keys(SECRET);
        let (token, _) = keys.issue(alice()).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(!json.contains("organization_id"));
        let member = Subject {
            organization_id: Some(3),
            ..alice()
        };
        let (token, _) = keys.issue(member).unwrap();
        assert_eq!(keys.verify(&token).unwrap().organization_id, Some(3));
    }

    #[test]
    fn short_secrets_are_refused() {
        let short = SecretString::from("too-short");
        assert_eq!(
            TokenKeys::new(&short, TokenSettings::default()).unwrap_err(),
            ConfigError::SecretTooShort
        );
    }

    #[test]
    fn expired_tokens_are_refused_as_expired() {
        let keys = keys(SECRET);
        let (token, _) = keys.issue_at(alice(), unix_now() - 25 * 60 * 60).unwrap();
        assert!(matches!(keys.verify(&token), Err(TokenError::Expired)));
    }

    #[test]
    fn tokens_signed_with_another_secret_are_refused() {
        let (token, _) = keys("another-secret-another-secret-1234")
            .issue(alice())
            .unwrap();
        assert!(matches!(
            keys(SECRET).verify(&token),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn alg_none_tokens_are_refused() {
        let keys = keys(SECRET);
        let (token, _) = keys.issue(alice()).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        for forged in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}"),
        ] {
            assert!(keys.verify(&forged).is_err(), "{forged} must be refused");
        }
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let keys = keys(SECRET);
        let (token, _) = keys.issue(alice()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        parts[1] = URL_SAFE_NO_PAD.encode(json.replace("\"user_id\":7", "\"user_id\":8"));
        assert!(keys.verify(&parts.join(".")).is_err());
    }

    #[test]
    fn tokens_for_another_audience_or_issuer_are_refused() {
        let elsewhere = [
            TokenSettings {
                audience: "someone-else".into(),
                ..TokenSettings::default()
            },
            TokenSettings {
                issuer: "someone-else".into(),
                ..TokenSettings::default()
            },
        ];
        for settings in elsewhere {
            let other = TokenKeys::new(&SecretString::from(SECRET), settings.clone()).unwrap();
            let (token, _) = other.issue(alice()).unwrap();
            assert!(keys(SECRET).verify(&token).is_err(), "{settings:?}");
        }
    }
}
