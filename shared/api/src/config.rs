//! Configuration: one typed struct, read once at start-up. A missing or weak secret
//! stops the process with a message that says what to set.

use std::path::PathBuf;
use std::time::Duration;

use claims::{TokenKeys, TokenSettings};
use secrecy::SecretString;

use crate::mail::Links;

/// The environment variables the functions read, named once: `Config::from_vars`
/// reads them and local-dev's flags take the same names.
pub mod vars {
    /// ARN (or name) of the Secrets Manager secret holding the token signing key set.
    pub const JWT_SECRET_ARN: &str = "MEM0_JWT_SECRET_ARN";
    /// The token signing key set itself (local runs): a JSON key set, or one bare key of
    /// at least 32 bytes (`claims::KeySet::parse`).
    pub const JWT_SECRET: &str = "MEM0_JWT_SECRET";
    pub const TABLE: &str = "MEM0_TABLE";
    pub const DYNAMODB_ENDPOINT: &str = "DYNAMODB_ENDPOINT";
    pub const TOKEN_TTL_SECONDS: &str = "MEM0_TOKEN_TTL_SECONDS";
    pub const SIGNUPS_PER_HOUR: &str = "MEM0_SIGNUPS_PER_HOUR";
    pub const FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS: &str =
        "MEM0_FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS";
    pub const FAILED_LOGINS_PER_ADDRESS: &str = "MEM0_FAILED_LOGINS_PER_ADDRESS";
    pub const FAILED_LOGINS_PER_ACCOUNT: &str = "MEM0_FAILED_LOGINS_PER_ACCOUNT";
    pub const PASSWORD_RESETS_PER_ADDRESS: &str = "MEM0_PASSWORD_RESETS_PER_ADDRESS";
    pub const PASSWORD_RESETS_PER_ACCOUNT: &str = "MEM0_PASSWORD_RESETS_PER_ACCOUNT";
    pub const VERIFICATION_MAILS_PER_ACCOUNT: &str = "MEM0_VERIFICATION_MAILS_PER_ACCOUNT";
    /// The origin serving the pages, e.g. `https://mem0.example.com`: links in mail point there.
    pub const PUBLIC_ORIGIN: &str = "MEM0_PUBLIC_ORIGIN";
    /// A folder to write mail to, one file per message, instead of sending it (local runs).
    pub const OUTBOX_DIR: &str = "MEM0_OUTBOX_DIR";
    /// How long an invitation's link works, in seconds.
    pub const INVITATION_TTL_SECONDS: &str = "MEM0_INVITATION_TTL_SECONDS";
    /// Invitations one organization may send per hour.
    pub const INVITATIONS_PER_HOUR: &str = "MEM0_INVITATIONS_PER_HOUR";
    /// A login session's absolute lifetime in seconds, refreshed or not.
    pub const SESSION_LIFETIME_SECONDS: &str = "MEM0_SESSION_LIFETIME_SECONDS";
    /// Seconds without a refresh after which a session ends.
    pub const SESSION_IDLE_SECONDS: &str = "MEM0_SESSION_IDLE_SECONDS";
    /// Seconds during which a just-rotated refresh token still gets its child.
    pub const REFRESH_GRACE_SECONDS: &str = "MEM0_REFRESH_GRACE_SECONDS";
    /// OAuth client registrations (`POST /oauth/register`) one address may make per hour.
    pub const OAUTH_REGISTRATIONS_PER_HOUR: &str = "MEM0_OAUTH_REGISTRATIONS_PER_HOUR";
    /// `POST /oauth/token` requests one address may make per 15 minutes.
    pub const OAUTH_TOKEN_REQUESTS_PER_ADDRESS: &str = "MEM0_OAUTH_TOKEN_REQUESTS_PER_ADDRESS";
    /// The lifetime of an OAuth client's access token (for `/mcp`), in seconds.
    pub const OAUTH_ACCESS_TOKEN_SECONDS: &str = "MEM0_OAUTH_ACCESS_TOKEN_SECONDS";
    /// The SES sender (deployed functions; read by `shared/lambda`, which owns SES).
    pub const MAIL_FROM: &str = "MEM0_MAIL_FROM";
    /// The SES configuration set to send with, if any.
    pub const SES_CONFIGURATION_SET: &str = "MEM0_SES_CONFIGURATION_SET";
}

/// Login sessions' lifetimes (see `crate::sessions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Absolute lifetime: a session ends this long after its login.
    pub lifetime_seconds: u32,
    /// Idle lifetime: a session ends this long after its last refresh.
    pub idle_seconds: u32,
    /// How long after a refresh the refresh token it replaced may be presented again
    /// (two tabs, a retried request) and gets the same child instead of ending the
    /// session.
    pub grace_seconds: u32,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            lifetime_seconds: 30 * 24 * 60 * 60,
            idle_seconds: 7 * 24 * 60 * 60,
            grace_seconds: 10,
        }
    }
}

impl SessionSettings {
    /// Refuses lifetimes of zero (every session would be born dead) and a grace window
    /// of more than a minute (a stolen, already used token would stay good that long).
    pub fn checked(self) -> Result<Self, ConfigError> {
        if self.lifetime_seconds == 0 || self.idle_seconds == 0 {
            return Err(ConfigError::BadSessionLifetime);
        }
        if self.grace_seconds > MAX_GRACE_SECONDS {
            return Err(ConfigError::BadGrace);
        }
        Ok(self)
    }
}

/// The longest grace window the configuration accepts.
const MAX_GRACE_SECONDS: u32 = 60;

/// Abuse limits, per fixed window (see `throttle` for why these three login budgets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Signups one client address may attempt per hour.
    pub signups_per_client_per_hour: u32,
    /// Failed logins per 15 minutes at one account from one client address.
    pub failed_logins_per_account_and_address: u32,
    /// Failed logins per 15 minutes from one client address, at any accounts.
    pub failed_logins_per_address: u32,
    /// Failed logins per 15 minutes at one account, from any addresses.
    pub failed_logins_per_account: u32,
    /// How long an invitation's link works, in seconds (7 days).
    pub invitation_ttl_seconds: u32,
    /// Invitations (each a mail) one organization may send per hour.
    pub invitations_per_hour: u32,
    /// Password reset requests per hour from one client address, for any emails.
    pub password_resets_per_address: u32,
    /// Password reset requests per hour for one email, from any addresses.
    pub password_resets_per_account: u32,
    /// Verification mails an account may ask to be sent again per hour.
    pub verification_mails_per_account: u32,
    /// OAuth client registrations one client address may make per hour.
    pub oauth_registrations_per_address: u32,
    /// OAuth token requests (codes and refreshes) per 15 minutes from one address.
    pub oauth_token_requests_per_address: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            signups_per_client_per_hour: 20,
            failed_logins_per_account_and_address: 10,
            failed_logins_per_address: 30,
            failed_logins_per_account: 30,
            invitation_ttl_seconds: 7 * 24 * 3600,
            invitations_per_hour: 50,
            password_resets_per_address: 20,
            password_resets_per_account: 3,
            verification_mails_per_account: 3,
            oauth_registrations_per_address: 20,
            oauth_token_requests_per_address: 300,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{0} must be a whole number")]
    NotANumber(&'static str),
    #[error("set either MEM0_JWT_SECRET_ARN or MEM0_JWT_SECRET, not both")]
    TwoSecrets,
    #[error("token settings: {0}")]
    Token(#[from] claims::ConfigError),
    #[error(
        "session lifetimes (MEM0_SESSION_LIFETIME_SECONDS, MEM0_SESSION_IDLE_SECONDS) must be at least one second"
    )]
    BadSessionLifetime,
    #[error("MEM0_REFRESH_GRACE_SECONDS must be at most 60")]
    BadGrace,
}

/// Where the token signing key set comes from. Either way its text is a JSON key set or
/// one bare key (`claims::KeySet::parse`), so a secret from before key sets needs no
/// change.
pub enum SigningSecret {
    /// The key set itself: local runs (`cargo lambda watch`, tests).
    Value(SecretString),
    /// The ARN (or name) of a Secrets Manager secret holding the key set: deployed
    /// functions, which fetch it once per cold start.
    SecretsManager(String),
}

/// What a deployed function reads from its environment.
pub struct Config {
    pub signing_secret: SigningSecret,
    pub token_settings: TokenSettings,
    pub table: String,
    pub dynamodb_endpoint: Option<String>,
    pub limits: Limits,
    /// Links in mail point at this origin.
    pub links: Links,
    /// `MEM0_PUBLIC_ORIGIN` as set (`links` falls back to local-dev's origin without it).
    pub public_origin: Option<String>,
    /// Set: mail is written there, one file per message, rather than sent.
    pub outbox_dir: Option<PathBuf>,
    pub sessions: SessionSettings,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("token_settings", &self.token_settings)
            .field("table", &self.table)
            .field("dynamodb_endpoint", &self.dynamodb_endpoint)
            .field("limits", &self.limits)
            .field("links", &self.links)
            .field("outbox_dir", &self.outbox_dir)
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the process environment; see [`Config::from_vars`].
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads `MEM0_JWT_SECRET_ARN` or `MEM0_JWT_SECRET` (exactly one; a key set given
    /// directly must be well-formed, a bare key >= 32 bytes), `MEM0_TABLE` (required), `DYNAMODB_ENDPOINT`,
    /// `MEM0_TOKEN_TTL_SECONDS`, `MEM0_SIGNUPS_PER_HOUR` and the login budgets
    /// `MEM0_FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS`, `MEM0_FAILED_LOGINS_PER_ADDRESS`,
    /// `MEM0_FAILED_LOGINS_PER_ACCOUNT`, the mail budgets `MEM0_PASSWORD_RESETS_PER_ADDRESS`,
    /// `MEM0_PASSWORD_RESETS_PER_ACCOUNT`, `MEM0_VERIFICATION_MAILS_PER_ACCOUNT`,
    /// `MEM0_PUBLIC_ORIGIN`, `MEM0_OUTBOX_DIR`, `MEM0_INVITATION_TTL_SECONDS`,
    /// `MEM0_INVITATIONS_PER_HOUR`, and the session lifetimes
    /// `MEM0_SESSION_LIFETIME_SECONDS`, `MEM0_SESSION_IDLE_SECONDS`,
    /// `MEM0_REFRESH_GRACE_SECONDS`, and the OAuth settings `MEM0_OAUTH_ACCESS_TOKEN_SECONDS`,
    /// `MEM0_OAUTH_REGISTRATIONS_PER_HOUR`, `MEM0_OAUTH_TOKEN_REQUESTS_PER_ADDRESS` through `lookup`.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            var(name).map_or(Ok(default), |raw| {
                raw.trim()
                    .parse()
                    .map_err(|_| ConfigError::NotANumber(name))
            })
        };
        let defaults = Limits::default();
        let session_defaults = SessionSettings::default();
        let limit = |name, default: u32| -> Result<u32, ConfigError> {
            u32::try_from(number(name, u64::from(default))?)
                .map_err(|_| ConfigError::NotANumber(name))
        };
        let signing_secret = match (var(vars::JWT_SECRET_ARN), var(vars::JWT_SECRET)) {
            (Some(_), Some(_)) => return Err(ConfigError::TwoSecrets),
            (Some(arn), None) => SigningSecret::SecretsManager(arn.trim().to_owned()),
            (None, Some(key)) => SigningSecret::Value(SecretString::from(key)),
            (None, None) => return Err(ConfigError::Missing(vars::JWT_SECRET_ARN)),
        };
        let config = Self {
            signing_secret,
            token_settings: TokenSettings {
                lifetime: Duration::from_secs(number(
                    vars::TOKEN_TTL_SECONDS,
                    claims::DEFAULT_LIFETIME.as_secs(),
                )?),
                grant_lifetime: Duration::from_secs(number(
                    vars::OAUTH_ACCESS_TOKEN_SECONDS,
                    claims::grant::DEFAULT_LIFETIME.as_secs(),
                )?),
                ..TokenSettings::default()
            },
            table: var(vars::TABLE).ok_or(ConfigError::Missing(vars::TABLE))?,
            dynamodb_endpoint: var(vars::DYNAMODB_ENDPOINT),
            limits: Limits {
                signups_per_client_per_hour: limit(
                    vars::SIGNUPS_PER_HOUR,
                    defaults.signups_per_client_per_hour,
                )?,
                failed_logins_per_account_and_address: limit(
                    vars::FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS,
                    defaults.failed_logins_per_account_and_address,
                )?,
                failed_logins_per_address: limit(
                    vars::FAILED_LOGINS_PER_ADDRESS,
                    defaults.failed_logins_per_address,
                )?,
                failed_logins_per_account: limit(
                    vars::FAILED_LOGINS_PER_ACCOUNT,
                    defaults.failed_logins_per_account,
                )?,
                invitation_ttl_seconds: limit(
                    vars::INVITATION_TTL_SECONDS,
                    defaults.invitation_ttl_seconds,
                )?,
                invitations_per_hour: limit(
                    vars::INVITATIONS_PER_HOUR,
                    defaults.invitations_per_hour,
                )?,
                password_resets_per_address: limit(
                    vars::PASSWORD_RESETS_PER_ADDRESS,
                    defaults.password_resets_per_address,
                )?,
                password_resets_per_account: limit(
                    vars::PASSWORD_RESETS_PER_ACCOUNT,
                    defaults.password_resets_per_account,
                )?,
                verification_mails_per_account: limit(
                    vars::VERIFICATION_MAILS_PER_ACCOUNT,
                    defaults.verification_mails_per_account,
                )?,
                oauth_registrations_per_address: limit(
                    vars::OAUTH_REGISTRATIONS_PER_HOUR,
                    defaults.oauth_registrations_per_address,
                )?,
                oauth_token_requests_per_address: limit(
                    vars::OAUTH_TOKEN_REQUESTS_PER_ADDRESS,
                    defaults.oauth_token_requests_per_address,
                )?,
            },
            public_origin: var(vars::PUBLIC_ORIGIN).map(|origin| origin.trim().to_owned()),
            links: var(vars::PUBLIC_ORIGIN)
                .map_or_else(Links::default, |origin| Links::new(origin.trim())),
            outbox_dir: var(vars::OUTBOX_DIR).map(PathBuf::from),
            sessions: SessionSettings {
                lifetime_seconds: limit(
                    vars::SESSION_LIFETIME_SECONDS,
                    session_defaults.lifetime_seconds,
                )?,
                idle_seconds: limit(vars::SESSION_IDLE_SECONDS, session_defaults.idle_seconds)?,
                grace_seconds: limit(vars::REFRESH_GRACE_SECONDS, session_defaults.grace_seconds)?,
            }
            .checked()?,
        };
        // Fail at start-up, not on the first login. A fetched secret is checked the
        // same way once it has been fetched.
        if let SigningSecret::Value(key) = &config.signing_secret {
            config.token_keys(key)?;
        }
        Ok(config)
    }

    /// The token keys of `secret` (a key set, or a bare key), refused if it is malformed,
    /// a key is too short to sign with, or no key may sign now.
    pub fn token_keys(&self, secret: &SecretString) -> Result<TokenKeys, ConfigError> {
        Ok(TokenKeys::new(secret, self.token_settings.clone())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn a_secrets_manager_arn_is_fetched_later_not_read_as_the_key() {
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mem0-jwt-AbCdEf";
        let config = config(&[("MEM0_JWT_SECRET_ARN", arn), ("MEM0_TABLE", "mem0")]).unwrap();
        assert!(
            matches!(config.signing_secret, SigningSecret::SecretsManager(ref id) if id == arn)
        );
        assert_eq!(config.table, "mem0");
        assert_eq!(config.limits, Limits::default());
    }

    #[test]
    fn no_secret_at_all_names_the_variable_to_set() {
        let error = config(&[("MEM0_TABLE", "mem0")]).unwrap_err();
        assert_eq!(error.to_string(), "MEM0_JWT_SECRET_ARN is not set");
    }

    #[test]
    fn two_secrets_are_refused_rather_than_one_silently_winning() {
        let error = config(&[
            ("MEM0_JWT_SECRET_ARN", "mem0-jwt"),
            ("MEM0_JWT_SECRET", KEY),
            ("MEM0_TABLE", "mem0"),
        ])
        .unwrap_err();
        assert!(matches!(error, ConfigError::TwoSecrets));
    }

    #[test]
    fn a_short_key_given_directly_stops_the_start() {
        let error = config(&[("MEM0_JWT_SECRET", "short"), ("MEM0_TABLE", "mem0")]).unwrap_err();
        assert!(matches!(error, ConfigError::Token(_)), "{error}");
    }

    #[test]
    fn a_key_set_given_directly_is_checked_at_start_up() {
        let retired = r#"{"keys":[{"kid":"a","secret":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY","created_at":"2026-01-01T00:00:00Z","retire_after":"2026-01-02T00:00:00Z"}]}"#;
        let error = config(&[("MEM0_JWT_SECRET", retired), ("MEM0_TABLE", "mem0")]).unwrap_err();
        assert!(
            matches!(error, ConfigError::Token(claims::ConfigError::NoSigningKey)),
            "{error}"
        );
        let signing = retired.replace(r#","retire_after":"2026-01-02T00:00:00Z""#, "");
        assert!(config(&[("MEM0_JWT_SECRET", &signing), ("MEM0_TABLE", "mem0")]).is_ok());
    }

    #[test]
    fn limits_and_lifetime_come_from_the_environment() {
        let config = config(&[
            ("MEM0_JWT_SECRET", KEY),
            ("MEM0_TABLE", "mem0"),
            ("MEM0_TOKEN_TTL_SECONDS", "600"),
            ("MEM0_OAUTH_ACCESS_TOKEN_SECONDS", "90"),
            ("MEM0_SIGNUPS_PER_HOUR", "3"),
            ("MEM0_FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS", " 4 "),
            ("MEM0_FAILED_LOGINS_PER_ADDRESS", "5"),
            ("MEM0_FAILED_LOGINS_PER_ACCOUNT", "6"),
        ])
        .unwrap();
        assert_eq!(config.token_settings.lifetime, Duration::from_secs(600));
        assert_eq!(
            config.token_settings.grant_lifetime,
            Duration::from_secs(90)
        );
        assert_eq!(
            config.limits,
            Limits {
                signups_per_client_per_hour: 3,
                failed_logins_per_account_and_address: 4,
                failed_logins_per_address: 5,
                failed_logins_per_account: 6,
                ..Limits::default()
            }
        );
        let error = config_error(&[("MEM0_SIGNUPS_PER_HOUR", "many")]);
        assert_eq!(
            error.to_string(),
            "MEM0_SIGNUPS_PER_HOUR must be a whole number"
        );
    }

    #[test]
    fn session_lifetimes_have_defaults_and_come_from_the_environment() {
        let plain = config(&[("MEM0_JWT_SECRET", KEY), ("MEM0_TABLE", "mem0")]).unwrap();
        assert_eq!(
            plain.sessions,
            SessionSettings {
                lifetime_seconds: 30 * 24 * 3600,
                idle_seconds: 7 * 24 * 3600,
                grace_seconds: 10,
            }
        );
        let short = config(&[
            ("MEM0_JWT_SECRET", KEY),
            ("MEM0_TABLE", "mem0"),
            ("MEM0_SESSION_LIFETIME_SECONDS", "8"),
            ("MEM0_SESSION_IDLE_SECONDS", "4"),
            ("MEM0_REFRESH_GRACE_SECONDS", "0"),
        ])
        .unwrap();
        assert_eq!(short.sessions.lifetime_seconds, 8);
        assert_eq!(short.sessions.idle_seconds, 4);
        assert_eq!(short.sessions.grace_seconds, 0);
        assert!(matches!(
            config_error(&[("MEM0_SESSION_IDLE_SECONDS", "0")]),
            ConfigError::BadSessionLifetime
        ));
        assert!(matches!(
            config_error(&[("MEM0_REFRESH_GRACE_SECONDS", "3600")]),
            ConfigError::BadGrace
        ));
    }

    fn config_error(extra: &[(&str, &str)]) -> ConfigError {
        let mut vars = vec![("MEM0_JWT_SECRET", KEY), ("MEM0_TABLE", "mem0")];
        vars.extend_from_slice(extra);
        config(&vars).unwrap_err()
    }
}
