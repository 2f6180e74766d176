//! Configuration: one typed struct, read once at start-up. A missing or weak secret
//! stops the process with a message that says what to set.

use std::time::Duration;

use claims::{TokenKeys, TokenSettings};
use secrecy::SecretString;

/// Abuse limits, per fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Signups one client address may attempt per hour.
    pub signups_per_client_per_hour: u32,
    /// Failed logins per email per 15 minutes before login answers 429.
    pub failed_logins_per_email: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            signups_per_client_per_hour: 20,
            failed_logins_per_email: 10,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{0} must be a whole number")]
    NotANumber(&'static str),
    #[error("token settings: {0}")]
    Token(#[from] claims::ConfigError),
}

/// What a deployed function reads from its environment.
pub struct Config {
    pub jwt_secret: SecretString,
    pub token_settings: TokenSettings,
    pub table: String,
    pub dynamodb_endpoint: Option<String>,
    pub limits: Limits,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("token_settings", &self.token_settings)
            .field("table", &self.table)
            .field("dynamodb_endpoint", &self.dynamodb_endpoint)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads `MEM0_JWT_SECRET` (required, >= 32 bytes), `MEM0_TABLE` (required),
    /// `DYNAMODB_ENDPOINT`, `MEM0_TOKEN_TTL_SECONDS`, `MEM0_SIGNUPS_PER_HOUR` and
    /// `MEM0_FAILED_LOGINS_PER_15_MIN`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &'static str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            var(name).map_or(Ok(default), |raw| {
                raw.trim()
                    .parse()
                    .map_err(|_| ConfigError::NotANumber(name))
            })
        };
        let defaults = Limits::default();
        let limit = |name, default: u32| -> Result<u32, ConfigError> {
            u32::try_from(number(name, u64::from(default))?)
                .map_err(|_| ConfigError::NotANumber(name))
        };
        let config = Self {
            jwt_secret: SecretString::from(
                var("MEM0_JWT_SECRET").ok_or(ConfigError::Missing("MEM0_JWT_SECRET"))?,
            ),
            token_settings: TokenSettings {
                lifetime: Duration::from_secs(number(
                    "MEM0_TOKEN_TTL_SECONDS",
                    claims::DEFAULT_LIFETIME.as_secs(),
                )?),
                ..TokenSettings::default()
            },
            table: var("MEM0_TABLE").ok_or(ConfigError::Missing("MEM0_TABLE"))?,
            dynamodb_endpoint: var("DYNAMODB_ENDPOINT"),
            limits: Limits {
                signups_per_client_per_hour: limit(
                    "MEM0_SIGNUPS_PER_HOUR",
                    defaults.signups_per_client_per_hour,
                )?,
                failed_logins_per_email: limit(
                    "MEM0_FAILED_LOGINS_PER_15_MIN",
                    defaults.failed_logins_per_email,
                )?,
            },
        };
        // Fail at start-up, not on the first login.
        config.token_keys()?;
        Ok(config)
    }

    pub fn token_keys(&self) -> Result<TokenKeys, ConfigError> {
        Ok(TokenKeys::new(
            &self.jwt_secret,
            self.token_settings.clone(),
        )?)
    }
}
