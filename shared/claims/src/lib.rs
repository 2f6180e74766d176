//! The mem0 access token: an HS256 JWT. This crate is the only place that knows JWT
//! details; everything else sees `Claims`.
//!
//! Its header says `typ: "at+jwt"` (RFC 9068), so that any other kind of token signed
//! with the same key one day (refresh, password reset, ...) can never pass as an access
//! token. Verification refuses, besides bad signatures and other algorithms:
//! - a `typ` other than `at+jwt` (or its long form `application/at+jwt`), compared
//!   ASCII case-insensitively because it is a media type (RFC 7515 §4.1.9, RFC 8725 §3.11);
//!   a missing `typ` too;
//! - `exp` more than [`LEEWAY_SECONDS`] ago, an `iat`, or an `nbf` if present, more than
//!   [`LEEWAY_SECONDS`] ahead: one clock-skew allowance for every time claim;
//! - `exp - iat` above the configured lifetime, so a key that leaked once cannot mint
//!   tokens that outlive its rotation;
//! - an `iss` or `aud` other than the configured ones.
//!
//! Keys: [`TokenKeys`] holds a [`KeySet`] (see [`keyset`] for its format and rules). The
//! header of every token names its key (`kid`); verification takes exactly that key
//! (never every key in turn) and refuses an unknown `kid` and a key past its
//! `retire_after`. A token without `kid` was issued before key sets: it is verified with
//! the [`LEGACY_KID`] key only, so it keeps working until that key is retired.

//!
//! Access tokens name the login session they were born of (`sid`); the refresh tokens
//! of that session are in [`refresh`]. The tokens of OAuth clients (the MCP resource's)
//! are in [`grant`]: same keys, another audience and other claims.

pub mod grant;
mod hs256;
pub mod keyset;
pub mod refresh;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
pub use keyset::{KeySet, KeyState, LEGACY_KID, Rotation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// HMAC-SHA256 keys shorter than this are guessable; refuse them at start-up.
pub const MIN_SECRET_BYTES: usize = 32;
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
pub const DEFAULT_ISSUER: &str = "mem0-auth";
pub const DEFAULT_AUDIENCE: &str = "mem0-api";
/// Clock skew tolerated between the machines that issue and verify, on every time claim.
/// A token stays valid up to `exp + LEEWAY_SECONDS`; see [`Claims::accepted_until`].
pub const LEEWAY_SECONDS: u64 = 30;
/// The header `typ` of an access token (RFC 9068 §2.1).
const ACCESS_TOKEN_TYPE: &str = "at+jwt";

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
    /// The session this token was born of; every request checks it is still live.
    /// Tokens issued before sessions existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl Claims {
    /// The last Unix second at which verification still accepts this token (its `exp`
    /// plus the clock-skew leeway): what revoking it must outlive.
    pub fn accepted_until(&self) -> u64 {
        self.exp.saturating_add(LEEWAY_SECONDS)
    }
}

/// Who a token is being issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub user_id: u64,
    pub email: String,
    pub account_type: String,
    pub role: String,
    pub organization_id: Option<u64>,
    /// The login session the token is issued in.
    pub sid: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("the token signing secret must be at least {MIN_SECRET_BYTES} bytes")]
    SecretTooShort,
    #[error("the token lifetime must be between one second and 30 days")]
    BadLifetime,
    #[error("the OAuth access token lifetime must be between one second and one day")]
    BadGrantLifetime,
    #[error("the signing key set is malformed: {0}")]
    BadKeySet(String),
    #[error("the signing key set has no key {0:?}")]
    NoSuchKey(String),
    #[error("no key of the signing key set may sign now (each is retired or not active yet)")]
    NoSigningKey,
}

/// Why a token was refused. Callers answer 401 whatever the reason; the reason is for logs.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token type is not at+jwt")]
    WrongType,
    #[error("token issued in the future")]
    IssuedInFuture,
    #[error("token not valid yet (nbf)")]
    NotYetValid,
    #[error("token lifetime (exp - iat) is negative or above the configured one")]
    LifetimeTooLong,
    #[error("token signed with a key that is not in the key set")]
    UnknownKey,
    #[error("token signed with a retired key")]
    RetiredKey,
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
    /// The lifetime of an OAuth client's access token ([`grant`]): short, since its
    /// refresh token gets another.
    pub grant_lifetime: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            lifetime: DEFAULT_LIFETIME,
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            grant_lifetime: grant::DEFAULT_LIFETIME,
        }
    }
}

/// Issues and verifies tokens with a key set. Build once at start-up; cheap to share.
pub struct TokenKeys {
    keys: Vec<LoadedKey>,
    validation: Validation,
    settings: TokenSettings,
}

struct LoadedKey {
    kid: String,
    refresh: refresh::RefreshKey,
    grant_refresh: refresh::RefreshKey,
    encoding: EncodingKey,
    decoding: DecodingKey,
    created_at: u64,
    signs_from: u64,
    retire_after: Option<u64>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|key| key.kid.as_str()).collect();
        f.debug_struct("TokenKeys")
            .field("kids", &kids)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// The keys of `secret` as stored: a JSON key set, or a bare key (>= 32 bytes) that
    /// becomes the one key [`LEGACY_KID`]; see [`KeySet::parse`].
    pub fn new(secret: &SecretString, settings: TokenSettings) -> Result<Self, ConfigError> {
        Self::from_key_set(&KeySet::parse(secret.expose_secret())?, settings)
    }

    /// Refuses a set in which no key may sign now: it would start and then fail every
    /// login.
    pub fn from_key_set(set: &KeySet, settings: TokenSettings) -> Result<Self, ConfigError> {
        let lifetime = settings.lifetime.as_secs();
        // Seconds are allowed for tests of expiry; deployments keep the default hours.
        if !(1..=30 * 24 * 60 * 60).contains(&lifetime) {
            return Err(ConfigError::BadLifetime);
        }
        if !(1..=grant::MAX_LIFETIME.as_secs()).contains(&settings.grant_lifetime.as_secs()) {
            return Err(ConfigError::BadGrantLifetime);
        }
        if set.signing_key(unix_now()).is_none() {
            return Err(ConfigError::NoSigningKey);
        }
        // Pinning the algorithm is what makes `alg: none` and algorithm-confusion tokens fail.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let keys = set
            .keys()
            .iter()
            .map(|key| LoadedKey {
                kid: key.kid().to_owned(),
                refresh: refresh::RefreshKey::derive(key.secret()),
                grant_refresh: refresh::RefreshKey::derive_for_grants(key.secret()),
                encoding: EncodingKey::from_secret(key.secret()),
                decoding: DecodingKey::from_secret(key.secret()),
                created_at: key.created_at(),
                signs_from: key.signs_from(),
                retire_after: key.retire_after(),
            })
            .collect();
        Ok(Self {
            keys,
            validation,
            settings,
        })
    }

    /// The key that signs now, by the rule of [`KeySet::signing_key`]; asked on every
    /// issue because a pending key starts signing at its `signs_from` without a restart.
    fn signing_key(&self) -> Option<&LoadedKey> {
        let now = unix_now();
        self.keys
            .iter()
            .filter(|key| key.signs_from <= now && key.retire_after.is_none_or(|at| now <= at))
            .max_by_key(|key| (key.signs_from, key.created_at))
    }

    pub fn lifetime(&self) -> Duration {
        self.settings.lifetime
    }

    /// The refresh token of generation `counter` of a session, MAC'd with the refresh key
    /// derived from the key that signs now.
    pub fn refresh_token(&self, user_id: u64, session_id: &str, counter: u64) -> Option<String> {
        let key = self.signing_key()?;
        Some(key.refresh.token(user_id, session_id, counter))
    }

    /// What a refresh token says, if a key of the set MAC'd it. Retired keys still count
    /// here (unlike for access tokens): a refresh token lives as long as its session, and
    /// an idle session's token was MAC'd by the key that signed at its last refresh. A
    /// key pruned from the set ends those sessions (docs/keys.md: prune after the session
    /// lifetime). At most 16 keys, each one HMAC.
    pub fn verify_refresh(&self, token: &str) -> Option<refresh::RefreshToken> {
        self.keys.iter().find_map(|key| key.refresh.verify(token))
    }

    /// Signs a token for `subject`, valid from now for the configured lifetime.
    pub fn issue(&self, subject: Subject) -> Result<(String, Claims), TokenError> {
        self.issue_at(subject, unix_now())
    }

    /// Signs a token as if issued at `issued_at` (Unix seconds); tests use it to make
    /// expired tokens. The key is the one that signs now, whatever `issued_at` says.
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
            exp: issued_at.saturating_add(self.settings.lifetime.as_secs()),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            jti: ulid::Ulid::new().to_string(),
            sid: subject.sid,
        };
        let token = self.sign(&claims)?;
        Ok((token, claims))
    }

    /// The claims of a valid access token; see the crate docs for what is refused.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let claims: Claims = self.decode(token, &self.validation)?;
        check_times(claims.iat, claims.exp, self.settings.lifetime)?;
        Ok(claims)
    }

    /// The claims of `token` if the key its `kid` names signed it, `validation` passes
    /// and its `typ` is an access token's; the time claims are the caller's to check
    /// further ([`check_times`]).
    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<T, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        hs256::install();
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        let kid = header.kid.as_deref().unwrap_or(LEGACY_KID);
        let key = self
            .keys
            .iter()
            .find(|key| key.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        if key.retire_after.is_some_and(|retire| unix_now() > retire) {
            return Err(TokenError::RetiredKey);
        }
        let data =
            jsonwebtoken::decode::<T>(token, &key.decoding, validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                    _ => TokenError::Invalid(e.to_string()),
                }
            })?;
        if !data.header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(TokenError::WrongType);
        }
        Ok(data.claims)
    }

    /// Signs `claims` with the key that signs now, naming it in the header.
    fn sign<T: Serialize>(&self, claims: &T) -> Result<String, TokenError> {
        let key = self
            .signing_key()
            .ok_or_else(|| TokenError::Signing("no key may sign now".into()))?;
        let header = Header {
            typ: Some(ACCESS_TOKEN_TYPE.to_owned()),
            kid: Some(key.kid.clone()),
            ..Header::new(Algorithm::HS256)
        };
        hs256::install();
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }
}

/// Refuses an `iat` ahead of the clock and an `exp - iat` above `lifetime` (or below
/// zero: an `exp` before `iat` is as malformed as one too far after it).
fn check_times(iat: u64, exp: u64, lifetime: Duration) -> Result<(), TokenError> {
    if iat > unix_now().saturating_add(LEEWAY_SECONDS) {
        return Err(TokenError::IssuedInFuture);
    }
    match exp.checked_sub(iat) {
        Some(lived) if lived <= lifetime.as_secs() => Ok(()),
        _ => Err(TokenError::LifetimeTooLong),
    }
}

/// `typ` is a media type, compared case-insensitively, and `application/` may be left
/// out of it (RFC 7515 §4.1.9); RFC 9068 §4 names both spellings.
fn is_access_token_type(typ: &str) -> bool {
    match typ.split_once('/') {
        Some((kind, subtype)) => {
            kind.eq_ignore_ascii_case("application")
                && subtype.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
        }
        None => typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE),
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
            sid: Some("01J0000000000000000000SID0".into()),
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
    fn lifetimes_of_a_few_seconds_are_allowed_but_not_zero_or_beyond_30_days() {
        let with = |seconds| {
            TokenKeys::new(
                &SecretString::from(SECRET),
                TokenSettings {
                    lifetime: Duration::from_secs(seconds),
                    ..TokenSettings::default()
                },
            )
            .map(drop)
        };
        assert_eq!(with(1), Ok(()));
        assert_eq!(with(3), Ok(()));
        assert_eq!(with(0), Err(ConfigError::BadLifetime));
        assert_eq!(with(30 * 24 * 60 * 60 + 1), Err(ConfigError::BadLifetime));
    }

    #[test]
    fn the_session_id_is_carried_as_sid() {
        let keys = keys(SECRET);
        let (token, _) = keys.issue(alice()).unwrap();
        assert_eq!(
            keys.verify(&token).unwrap().sid.as_deref(),
            Some("01J0000000000000000000SID0")
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

    /// A token signed with the right key whose header `typ` and claims the attacker chose,
    /// starting from those of a genuine token.
    fn forged(
        keys: &TokenKeys,
        typ: Option<&str>,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> String {
        let (_, claims) = keys.issue(alice()).unwrap();
        let mut payload = serde_json::to_value(claims).unwrap();
        edit(&mut payload);
        let header = Header {
            typ: typ.map(str::to_owned),
            ..Header::new(Algorithm::HS256)
        };
        jsonwebtoken::encode(
            &header,
            &payload,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn issued_tokens_say_at_jwt_in_their_header() {
        let (token, _) = keys(SECRET).issue(alice()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.alg, Algorithm::HS256);
    }

    #[test]
    fn tokens_of_another_type_or_of_none_are_refused_even_when_signed_with_the_key() {
        let keys = keys(SECRET);
        for typ in [
            Some("JWT"),
            Some("jwt"),
            None,
            Some(""),
            Some("refresh+jwt"),
            Some("application/jwt"),
            Some("text/at+jwt"),
            Some("at+jwt "),
            Some("at+jwt/extra"),
        ] {
            let token = forged(&keys, typ, |_| {});
            assert!(
                matches!(keys.verify(&token), Err(TokenError::WrongType)),
                "typ {typ:?} must be refused"
            );
        }
    }

    #[test]
    fn the_access_token_type_is_compared_as_a_media_type() {
        let keys = keys(SECRET);
        for typ in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+Jwt",
        ] {
            let token = forged(&keys, Some(typ), |_| {});
            assert!(keys.verify(&token).is_ok(), "typ {typ:?} must be accepted");
        }
    }

    #[test]
    fn a_token_issued_in_the_future_is_refused_beyond_the_leeway() {
        let keys = keys(SECRET);
        let (token, _) = keys.issue_at(alice(), unix_now() + 3600).unwrap();
        assert!(matches!(
            keys.verify(&token),
            Err(TokenError::IssuedInFuture)
        ));
        let skewed = unix_now() + LEEWAY_SECONDS - 10;
        let (token, _) = keys.issue_at(alice(), skewed).unwrap();
        assert!(keys.verify(&token).is_ok(), "clock skew within the leeway");
    }

    #[test]
    fn a_token_with_a_future_nbf_is_refused_beyond_the_leeway() {
        let keys = keys(SECRET);
        let future = forged(&keys, Some("at+jwt"), |claims| {
            claims["nbf"] = (unix_now() + 3600).into();
        });
        assert!(matches!(keys.verify(&future), Err(TokenError::NotYetValid)));
        for nbf in [unix_now() - 60, unix_now() + LEEWAY_SECONDS - 10] {
            let token = forged(&keys, Some("at+jwt"), |claims| claims["nbf"] = nbf.into());
            assert!(keys.verify(&token).is_ok(), "nbf {nbf} is fine");
        }
        let malformed = forged(&keys, Some("at+jwt"), |claims| {
            claims["nbf"] = "soon".into()
        });
        assert!(matches!(
            keys.verify(&malformed),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn a_token_living_longer_than_the_configured_lifetime_is_refused() {
        let keys = keys(SECRET);
        let century = forged(&keys, Some("at+jwt"), |claims| {
            claims["exp"] = (unix_now() + 100 * 365 * 24 * 60 * 60).into();
        });
        assert!(matches!(
            keys.verify(&century),
            Err(TokenError::LifetimeTooLong)
        ));
        let one_second_more = forged(&keys, Some("at+jwt"), |claims| {
            claims["exp"] = (claims["iat"].as_u64().unwrap() + 24 * 60 * 60 + 1).into();
        });
        assert!(matches!(
            keys.verify(&one_second_more),
            Err(TokenError::LifetimeTooLong)
        ));
        let ends_before_it_starts = forged(&keys, Some("at+jwt"), |claims| {
            claims["exp"] = (claims["iat"].as_u64().unwrap() - 1).into();
        });
        assert!(keys.verify(&ends_before_it_starts).is_err());
    }

    #[test]
    fn shortening_the_lifetime_refuses_tokens_issued_for_longer() {
        let week = TokenSettings {
            lifetime: Duration::from_secs(7 * 24 * 60 * 60),
            ..TokenSettings::default()
        };
        let long = TokenKeys::new(&SecretString::from(SECRET), week).unwrap();
        let (token, _) = long.issue(alice()).unwrap();
        assert!(long.verify(&token).is_ok());
        assert!(matches!(
            keys(SECRET).verify(&token),
            Err(TokenError::LifetimeTooLong)
        ));
    }

    #[test]
    fn a_token_is_accepted_until_exp_plus_the_leeway_and_no_longer() {
        let keys = keys(SECRET);
        let lifetime = keys.lifetime().as_secs();
        let (token, claims) = keys
            .issue_at(alice(), unix_now() - lifetime - (LEEWAY_SECONDS - 10))
            .unwrap();
        assert_eq!(claims.accepted_until(), claims.exp + LEEWAY_SECONDS);
        assert!(claims.accepted_until() > unix_now());
        assert!(
            keys.verify(&token).is_ok(),
            "expired, but within the leeway"
        );
        let (token, claims) = keys
            .issue_at(alice(), unix_now() - lifetime - (LEEWAY_SECONDS + 10))
            .unwrap();
        assert!(claims.accepted_until() < unix_now());
        assert!(matches!(keys.verify(&token), Err(TokenError::Expired)));
    }

    // ------------------------------------------------------------- key sets and kid

    fn key_set_json(keys: &[(&str, u8, Option<u64>, Option<u64>)]) -> SecretString {
        let keys: Vec<serde_json::Value> = keys
            .iter()
            .map(|(kid, fill, signs_from, retire_after)| {
                let mut key = serde_json::json!({
                    "kid": kid,
                    "secret": URL_SAFE_NO_PAD.encode([*fill; 32]),
                    "created_at": keyset::rfc3339(unix_now() - 7200),
                });
                if let Some(at) = signs_from {
                    key["signs_from"] = keyset::rfc3339(*at).into();
                }
                if let Some(at) = retire_after {
                    key["retire_after"] = keyset::rfc3339(*at).into();
                }
                key
            })
            .collect();
        SecretString::from(serde_json::json!({ "keys": keys }).to_string())
    }

    fn keys_of(json: &SecretString) -> TokenKeys {
        TokenKeys::new(json, TokenSettings::default()).unwrap()
    }

    fn kid_of(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token).unwrap().kid
    }

    #[test]
    fn the_header_names_the_signing_key() {
        let set = keys_of(&key_set_json(&[("one", 1, None, None)]));
        let (token, _) = set.issue(alice()).unwrap();
        assert_eq!(kid_of(&token).as_deref(), Some("one"));
        let (token, _) = keys(SECRET).issue(alice()).unwrap();
        assert_eq!(kid_of(&token).as_deref(), Some(LEGACY_KID));
    }

    #[test]
    fn a_token_is_verified_with_the_key_its_kid_names_and_no_other() {
        let both = keys_of(&key_set_json(&[
            ("one", 1, None, None),
            ("two", 2, None, None),
        ]));
        let (token, _) = keys_of(&key_set_json(&[("one", 1, None, None)]))
            .issue(alice())
            .unwrap();
        assert!(both.verify(&token).is_ok());
        // Signed with key "two" but claiming "one": not rescued by trying the other key.
        let relabelled = jsonwebtoken::encode(
            &Header {
                typ: Some("at+jwt".into()),
                kid: Some("one".into()),
                ..Header::new(Algorithm::HS256)
            },
            &both.verify(&token).unwrap(),
            &EncodingKey::from_secret(&[2; 32]),
        )
        .unwrap();
        assert!(matches!(
            both.verify(&relabelled),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn a_token_naming_an_unknown_kid_is_refused() {
        let keys = keys_of(&key_set_json(&[("one", 1, None, None)]));
        let (token, _) = keys_of(&key_set_json(&[("elsewhere", 1, None, None)]))
            .issue(alice())
            .unwrap();
        assert!(matches!(keys.verify(&token), Err(TokenError::UnknownKey)));
    }

    #[test]
    fn a_retired_key_is_refused_even_while_it_is_still_listed() {
        let before = keys_of(&key_set_json(&[("old", 1, None, None)]));
        let (token, _) = before.issue(alice()).unwrap();
        let retired = keys_of(&key_set_json(&[
            ("old", 1, None, Some(unix_now() - 1)),
            ("new", 2, None, None),
        ]));
        assert!(matches!(
            retired.verify(&token),
            Err(TokenError::RetiredKey)
        ));
        let retiring = keys_of(&key_set_json(&[
            ("old", 1, None, Some(unix_now() + 60)),
            ("new", 2, None, None),
        ]));
        assert!(retiring.verify(&token).is_ok());
    }

    #[test]
    fn after_a_rotation_tokens_of_the_old_key_still_verify_and_new_ones_use_the_new_key() {
        let mut set = KeySet::generate(unix_now() - 3600);
        let old = set.keys()[0].kid().to_owned();
        let before = TokenKeys::from_key_set(&set, TokenSettings::default()).unwrap();
        let (old_token, _) = before.issue(alice()).unwrap();
        let new = set.rotate(
            unix_now(),
            Rotation {
                lifetime: DEFAULT_LIFETIME,
                activate_in: Duration::ZERO,
            },
        );
        let after = TokenKeys::from_key_set(&set, TokenSettings::default()).unwrap();
        let (new_token, _) = after.issue(alice()).unwrap();
        assert_eq!(kid_of(&old_token), Some(old));
        assert_eq!(kid_of(&new_token), Some(new));
        assert!(after.verify(&old_token).is_ok());
        assert!(after.verify(&new_token).is_ok());
        // An instance still on the old set does not know the new key.
        assert!(matches!(
            before.verify(&new_token),
            Err(TokenError::UnknownKey)
        ));
    }

    #[test]
    fn a_pending_key_verifies_at_once_and_signs_only_from_its_signs_from() {
        let pending = keys_of(&key_set_json(&[
            ("old", 1, None, None),
            ("next", 2, Some(unix_now() + 600), None),
        ]));
        let (token, _) = pending.issue(alice()).unwrap();
        assert_eq!(kid_of(&token).as_deref(), Some("old"));
        let (next_token, _) = keys_of(&key_set_json(&[("next", 2, None, None)]))
            .issue(alice())
            .unwrap();
        assert!(pending.verify(&next_token).is_ok());
        let active = keys_of(&key_set_json(&[
            ("old", 1, None, Some(unix_now() + 600)),
            ("next", 2, Some(unix_now() - 1), None),
        ]));
        let (token, _) = active.issue(alice()).unwrap();
        assert_eq!(kid_of(&token).as_deref(), Some("next"));
    }

    #[test]
    fn a_token_without_kid_is_verified_with_the_legacy_key_only() {
        let claims = keys(SECRET).issue(alice()).unwrap().1;
        let unnamed = |secret: &[u8]| {
            jsonwebtoken::encode(
                &Header {
                    typ: Some("at+jwt".into()),
                    ..Header::new(Algorithm::HS256)
                },
                &claims,
                &EncodingKey::from_secret(secret),
            )
            .unwrap()
        };
        // A token issued before key sets, with the bare secret now the legacy key.
        let mut set = KeySet::legacy(SECRET.as_bytes(), 0).unwrap();
        assert!(keys(SECRET).verify(&unnamed(SECRET.as_bytes())).is_ok());
        set.rotate(
            unix_now(),
            Rotation {
                lifetime: DEFAULT_LIFETIME,
                activate_in: Duration::ZERO,
            },
        );
        let rotated = TokenKeys::from_key_set(&set, TokenSettings::default()).unwrap();
        assert!(rotated.verify(&unnamed(SECRET.as_bytes())).is_ok());
        // Not the newest key, nor any other.
        let newest = set.keys()[1].secret().to_vec();
        assert!(matches!(
            rotated.verify(&unnamed(&newest)),
            Err(TokenError::Invalid(_))
        ));
        let no_legacy = keys_of(&key_set_json(&[("one", 1, None, None)]));
        assert!(matches!(
            no_legacy.verify(&unnamed(&[1; 32])),
            Err(TokenError::UnknownKey)
        ));
        // And not once the legacy key is retired.
        let retired = keys_of(&SecretString::from(format!(
            r#"{{"keys":[{{"kid":"legacy","secret":"{}","created_at":"1970-01-01T00:00:00Z","retire_after":"{}"}},{{"kid":"one","secret":"{}","created_at":"1970-01-01T00:00:00Z"}}]}}"#,
            URL_SAFE_NO_PAD.encode(SECRET),
            keyset::rfc3339(unix_now() - 1),
            URL_SAFE_NO_PAD.encode([1; 32]),
        )));
        assert!(matches!(
            retired.verify(&unnamed(SECRET.as_bytes())),
            Err(TokenError::RetiredKey)
        ));
    }

    #[test]
    fn a_set_in_which_no_key_may_sign_is_refused_at_start_up() {
        for set in [
            key_set_json(&[("old", 1, None, Some(unix_now() - 1))]),
            key_set_json(&[("next", 1, Some(unix_now() + 600), None)]),
            key_set_json(&[
                ("old", 1, None, Some(unix_now() - 1)),
                ("next", 2, Some(unix_now() + 600), None),
            ]),
        ] {
            assert_eq!(
                TokenKeys::new(&set, TokenSettings::default()).unwrap_err(),
                ConfigError::NoSigningKey
            );
        }
    }
}
