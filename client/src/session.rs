//! Which token a command uses, and what to tell the user when there is none or the
//! server refuses it.

use crate::api_url::ApiUrl;
use crate::credentials::{self, CredentialsError};
use crate::token;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Env(&'static str),
    Saved,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    /// Without one the token is used until it expires, as before sessions.
    pub refresh: Option<String>,
    pub source: Source,
    /// The saved login's email, for hints.
    pub email: Option<String>,
}

/// Who is asking: the fix for a bad token differs between a shell and an MCP client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Cli,
    Mcp,
}

impl Caller {
    /// Environment variables holding a token, first match wins; the saved login comes after.
    pub fn token_vars(self) -> &'static [&'static str] {
        match self {
            Caller::Cli => &["MEM0_USER_TOKEN"],
            Caller::Mcp => &["MEM0_JWT_TOKEN", "MEM0_USER_TOKEN"],
        }
    }

    /// Where a refresh token for the environment's access token may be. Only the MCP
    /// server has one: it runs long enough to use the rotated tokens it keeps in memory,
    /// while each CLI command would leave the next one the spent token (and presenting
    /// a spent refresh token ends the session).
    pub fn refresh_var(self) -> Option<&'static str> {
        match self {
            Caller::Cli => None,
            Caller::Mcp => Some("MEM0_REFRESH_TOKEN"),
        }
    }
}

/// Why there is no token to send.
#[derive(Debug, thiserror::Error)]
pub enum NoSession {
    #[error("not logged in")]
    Missing,
    /// A saved login exists, but for another server than the one asked for.
    #[error("the saved login is for {saved}, not {target}")]
    OtherServer {
        saved: String,
        target: String,
        email: String,
    },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

impl NoSession {
    /// The sentence for the user: what is wrong and what to do.
    pub fn explain(&self, caller: Caller) -> String {
        match self {
            NoSession::Missing => missing(caller),
            NoSession::OtherServer {
                saved,
                target,
                email,
            } => {
                let why = format!(
                    "The saved login ({email}) is for {saved}, not {target}, so its token is not sent there: a saved token only goes to the server that issued it."
                );
                let login = format!("mem0 login --api-url {target} --email {email}");
                match caller {
                    Caller::Cli => format!(
                        "{why} If you trust {target}, run `{login}` to log in there; or drop --api-url / unset MEM0_API_URL to use {saved}."
                    ),
                    Caller::Mcp => format!(
                        "{why} To use {saved}, set MEM0_API_URL to it (or remove it) in the \"env\" of the mem0 server in your MCP client's config and restart the server; if you trust {target}, run `{login}` in a terminal on this machine."
                    ),
                }
            }
            NoSession::Credentials(error) => error.to_string(),
        }
    }
}

impl Session {
    /// A token from the environment is the user's choice for whichever server is asked.
    pub fn from_env(caller: Caller) -> Option<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        caller.token_vars().iter().find_map(|name| {
            Some(Self {
                token: var(name)?,
                refresh: caller.refresh_var().and_then(var),
                source: Source::Env(name),
                email: None,
            })
        })
    }

    /// The saved login, read afresh (another mem0 process may have refreshed it). It is
    /// only good for (and only ever sent to) the server that issued it.
    pub fn saved(target: &ApiUrl) -> Result<Self, NoSession> {
        let saved = credentials::load()?.ok_or(NoSession::Missing)?;
        if saved.api_url != *target {
            return Err(NoSession::OtherServer {
                saved: saved.api_url.to_string(),
                target: target.to_string(),
                email: saved.email,
            });
        }
        Ok(Self {
            token: saved.token,
            refresh: saved.refresh_token,
            source: Source::Saved,
            email: Some(saved.email),
        })
    }

    pub fn describe_source(&self) -> String {
        match self.source {
            Source::Env(var) => var.to_owned(),
            Source::Saved => credentials::path()
                .map(|path| format!("saved login {}", path.display()))
                .unwrap_or_else(|_| "saved login".to_owned()),
        }
    }

    /// `Some(exp)` if the token's own expiry has passed.
    pub fn expired_at(&self) -> Option<i64> {
        token::expiry(&self.token).filter(|&exp| exp <= token::now())
    }

    /// The sentence for a 401 that no refresh fixed: why (expired, session ended, or
    /// refused) and how to get a working token. `server_says` is the 401's message.
    pub fn refused(&self, caller: Caller, api_url: &ApiUrl, server_says: &str) -> String {
        if server_says.contains("session has ended") {
            return self.ended(caller);
        }
        let why = match self.expired_at() {
            Some(exp) => format!(
                "The access token from {} expired at {} ({}).",
                self.describe_source(),
                token::rfc3339(exp),
                token::relative(exp)
            ),
            None => format!(
                "The mem0 API at {api_url} refused the token from {}: it is malformed, was revoked (logged out), or was issued by another server.",
                self.describe_source()
            ),
        };
        format!("{why} {}", fix(caller, Some(self)))
    }

    /// Logged out (here or from another device), refresh token refused, or the session
    /// timed out: only a new login helps.
    pub fn ended(&self, caller: Caller) -> String {
        format!(
            "Your session has ended (logged out or revoked, perhaps from another device, or unused for too long). {}",
            fix(caller, Some(self))
        )
    }
}

pub fn missing(caller: Caller) -> String {
    let what = match caller {
        Caller::Cli => "Not logged in.",
        Caller::Mcp => "No mem0 token is configured.",
    };
    format!("{what} {}", fix(caller, None))
}

fn fix(caller: Caller, session: Option<&Session>) -> String {
    let email = session
        .and_then(|s| s.email.as_deref())
        .unwrap_or("you@example.com");
    let login = format!("mem0 login --email {email}");
    match (caller, session.map(|s| s.source)) {
        (Caller::Cli, Some(Source::Saved)) => format!("Run `{login}` to log in again."),
        (Caller::Cli, Some(Source::Env(var))) => format!(
            "Get a new token with `{login}` and unset {var}, or export a fresh token in {var}."
        ),
        (Caller::Cli, None) => {
            format!("Run `{login}` (or `mem0 signup`), or export a token in MEM0_USER_TOKEN.")
        }
        (Caller::Mcp, Some(Source::Saved)) => {
            format!("Run `{login}` in a terminal on this machine, then call the tool again.")
        }
        (Caller::Mcp, None) => format!(
            "Get a token with `{login} --json` (field user.jwt_token) and set it as MEM0_JWT_TOKEN in the \"env\" of the mem0 server in your MCP client's config, then restart the server; or run `{login}` on this machine."
        ),
        (Caller::Mcp, Some(Source::Env(var))) => format!(
            "Get a new token with `{login} --json` (field user.jwt_token), put it in {var} in the \"env\" of the mem0 server in your MCP client's config and restart the server; or run `{login}` on this machine and remove {var} from that config."
        ),
    }
}
