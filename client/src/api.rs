//! Typed calls to the public HTTP API (../shared/API.md); the only module that speaks HTTP.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use domain::{ContextAddress, ContextName};

use crate::api_url::ApiUrl;

pub const DEFAULT_URL: &str = "http://127.0.0.1:8000";

/// Everything that can go wrong talking to the API, in the words the user needs.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "cannot reach the mem0 API at {url} ({reason}). Is the server running? Set MEM0_API_URL to use another address."
    )]
    Unreachable { url: String, reason: String },
    #[error(
        "refusing to talk to {url}: mem0 never sends a token or password over plain http:// to a host other than this machine (localhost, 127.0.0.0/8, ::1), where anyone on the network could read it; use the server's https:// URL."
    )]
    Insecure { url: String },
    #[error(
        "the server at {url} answered with a redirect (HTTP {status}) to {location}; mem0 does not follow redirects, so that a token or password only goes where you pointed it: set MEM0_API_URL (or --api-url) to the address you mean."
    )]
    Redirected {
        url: String,
        status: u16,
        location: String,
    },
    /// 401: the token is missing, expired, revoked or not from this server.
    #[error("{message}")]
    Unauthorized { message: String },
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the server at {url} did not answer like the mem0 API (HTTP {status})")]
    Unexpected { url: String, status: u16 },
}

/// A successful reply: the body as the server sent it (for `--json`) and its typed reading.
pub struct Reply<T> {
    pub raw: Value,
    pub data: T,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub email: String,
    pub name: String,
    pub account_type: String,
    pub role: String,
    #[serde(default)]
    pub organization_id: Option<u64>,
    #[serde(default)]
    pub jwt_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UserBody {
    pub user: User,
    /// Servers from before sessions send none; their logins simply can't be refreshed.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Refreshed {
    pub jwt_token: String,
    pub refresh_token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionInfo {
    pub session_id: String,
    pub created_at: String,
    #[serde(default)]
    pub last_used_at: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub current: bool,
}

#[derive(Debug, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}

/// A connected app: a grant the user gave an OAuth client.
#[derive(Debug, Clone, Deserialize)]
pub struct App {
    pub grant_id: String,
    pub client_name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `"all"`, or the contexts' addresses (`name`, `OWNER_ID:name`).
    #[serde(default)]
    pub contexts: Value,
    pub created_at: String,
    #[serde(default)]
    pub last_used_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AppList {
    pub grants: Vec<App>,
}

/// One thing a connected app did: never any memory text or token.
#[derive(Debug, Clone, Deserialize)]
pub struct ActivityEntry {
    pub client_name: String,
    pub grant_id: String,
    pub action: String,
    #[serde(default)]
    pub context: Option<String>,
    #[serde(default)]
    pub count: u64,
    pub at: String,
}

#[derive(Debug, Deserialize)]
pub struct ActivityPage {
    pub activity: Vec<ActivityEntry>,
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Context {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub visibility: String,
    /// Where the context is addressed: `/contexts/{name}` or `/contexts/{owner_id}:{name}`.
    #[serde(default)]
    pub href: Option<String>,
    /// A shared context's owner.
    #[serde(default)]
    pub owner: Option<Owner>,
    #[serde(default)]
    pub memory_count: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Owner {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct ContextList {
    pub contexts: Vec<Context>,
}

#[derive(Debug, Deserialize)]
pub struct ContextBody {
    pub context: Context,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Memory {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Deserialize)]
pub struct MemoryBody {
    pub memory: Memory,
}

#[derive(Debug, Deserialize)]
pub struct MemoryPage {
    pub memories: Vec<Memory>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Done {}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: &'a str,
}

pub struct NewOrganization<'a> {
    pub name: &'a str,
    pub domain: Option<&'a str>,
    pub size: Option<&'a str>,
    pub industry: Option<&'a str>,
}

/// Characters left alone in a path segment; context names and ids need nothing else.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_');

fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Api {
    url: ApiUrl,
    http: reqwest::Client,
}

impl Api {
    /// Fails only if the TLS backend cannot start.
    pub fn new(url: &ApiUrl) -> Result<Self, reqwest::Error> {
        let mut http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("mem0-cli/", env!("CARGO_PKG_VERSION")))
            // The API never redirects; following one would resend a login's password
            // (307/308 keep the body) to wherever the Location header says.
            .redirect(reqwest::redirect::Policy::none());
        if url.is_loopback() {
            // Plain http is only allowed because loopback traffic stays on this machine;
            // an HTTP_PROXY from the environment would carry the token off it.
            http = http.no_proxy();
        }
        Ok(Self {
            url: url.clone(),
            http: http.build()?,
        })
    }

    pub fn url(&self) -> &ApiUrl {
        &self.url
    }

    pub async fn signup(
        &self,
        user: NewUser<'_>,
        organization: Option<NewOrganization<'_>>,
    ) -> Result<Reply<UserBody>, ApiError> {
        let user_json = json!({"email": user.email, "password": user.password, "name": user.name});
        let (path, body) = match organization {
            None => ("/auth/signup/individual", user_json),
            Some(org) => (
                "/auth/signup/organization",
                json!({"user": user_json, "organization": {
                    "name": org.name, "domain": org.domain, "size": org.size, "industry": org.industry,
                }}),
            ),
        };
        self.send(Method::POST, path, None, Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<Reply<UserBody>, ApiError> {
        let body = json!({"email": email, "password": password});
        self.send(Method::POST, "/auth/login", None, Some(body))
            .await
    }

    pub async fn me(&self, token: &str) -> Result<Reply<UserBody>, ApiError> {
        self.send(Method::GET, "/auth/me", Some(token), None).await
    }

    /// Ends the token's session (its refresh token with it), or with `all` every session.
    pub async fn logout(&self, token: &str, all: bool) -> Result<Reply<Done>, ApiError> {
        let path = if all {
            "/auth/logout?scope=all"
        } else {
            "/auth/logout"
        };
        self.send(Method::POST, path, Some(token), None).await
    }

    /// Trades a refresh token for a new access token and the next refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Reply<Refreshed>, ApiError> {
        let body = json!({"refresh_token": refresh_token});
        self.send(Method::POST, "/auth/refresh", None, Some(body))
            .await
    }

    pub async fn sessions(&self, token: &str) -> Result<Reply<SessionList>, ApiError> {
        self.send(Method::GET, "/auth/sessions", Some(token), None)
            .await
    }

    pub async fn end_session(&self, token: &str, id: &str) -> Result<Reply<Done>, ApiError> {
        let path = format!("/auth/sessions/{}", segment(id));
        self.send(Method::DELETE, &path, Some(token), None)
            .await
            .map_err(|error| {
                not_found(error, || {
                    format!("No session {id:?} of yours (ids are shown by `mem0 sessions`).")
                })
            })
    }

    pub async fn apps(&self, token: &str) -> Result<Reply<AppList>, ApiError> {
        self.send(Method::GET, "/auth/grants", Some(token), None)
            .await
    }

    pub async fn revoke_app(&self, token: &str, id: &str) -> Result<Reply<Done>, ApiError> {
        let path = format!("/auth/grants/{}", segment(id));
        self.send(Method::DELETE, &path, Some(token), None)
            .await
            .map_err(|error| {
                not_found(error, || {
                    format!("No such app {id:?} connected to your account (ids are shown by `mem0 apps`).")
                })
            })
    }

    /// A page of a context's activity trail, newest first.
    pub async fn context_activity(
        &self,
        token: &str,
        context: &ContextAddress,
        limit: Option<u32>,
    ) -> Result<Reply<ActivityPage>, ApiError> {
        let path = format!("/contexts/{}/activity", segment(&context.to_string()));
        self.send(Method::GET, &with_limit(path, limit), Some(token), None)
            .await
            .map_err(|error| no_context(error, context))
    }

    /// A page of one connected app's activity trail, newest first.
    pub async fn app_activity(
        &self,
        token: &str,
        id: &str,
        limit: Option<u32>,
    ) -> Result<Reply<ActivityPage>, ApiError> {
        let path = format!("/auth/grants/{}/activity", segment(id));
        self.send(Method::GET, &with_limit(path, limit), Some(token), None)
            .await
            .map_err(|error| {
                not_found(error, || {
                    format!("No such app {id:?} connected to your account (ids are shown by `mem0 apps`).")
                })
            })
    }

    pub async fn contexts(&self, token: &str) -> Result<Reply<ContextList>, ApiError> {
        self.send(Method::GET, "/contexts", Some(token), None).await
    }

    pub async fn create_context(
        &self,
        token: &str,
        name: &ContextName,
        description: Option<&str>,
        visibility: Option<&str>,
    ) -> Result<Reply<ContextBody>, ApiError> {
        let mut body = json!({"name": name.as_str()});
        if let Some(description) = description {
            body["description"] = json!(description);
        }
        if let Some(visibility) = visibility {
            body["visibility"] = json!(visibility);
        }
        self.send(Method::POST, "/contexts", Some(token), Some(body))
            .await
    }

    pub async fn delete_context(
        &self,
        token: &str,
        name: &ContextAddress,
    ) -> Result<Reply<Done>, ApiError> {
        let path = format!("/contexts/{}", segment(&name.to_string()));
        self.send(Method::DELETE, &path, Some(token), None)
            .await
            .map_err(|error| no_context(error, name))
    }

    pub async fn remember(
        &self,
        token: &str,
        context: &ContextAddress,
        text: &str,
        tags: &[String],
    ) -> Result<Reply<MemoryBody>, ApiError> {
        let path = format!("/contexts/{}/memories", segment(&context.to_string()));
        let body = json!({"text": text, "tags": tags});
        self.send(Method::POST, &path, Some(token), Some(body))
            .await
            .map_err(|error| no_context(error, context))
    }

    pub async fn recall(
        &self,
        token: &str,
        context: &ContextAddress,
        query: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Reply<MemoryPage>, ApiError> {
        let mut path = format!("/contexts/{}/memories", segment(&context.to_string()));
        let params = {
            let mut params = form_urlencoded::Serializer::new(String::new());
            if let Some(query) = query {
                params.append_pair("query", query);
            }
            if let Some(limit) = limit {
                params.append_pair("limit", &limit.to_string());
            }
            params.finish()
        };
        if !params.is_empty() {
            path.push('?');
            path.push_str(&params);
        }
        self.send(Method::GET, &path, Some(token), None)
            .await
            .map_err(|error| no_context(error, context))
    }

    pub async fn forget(
        &self,
        token: &str,
        context: &ContextAddress,
        id: &str,
    ) -> Result<Reply<Done>, ApiError> {
        let path = format!(
            "/contexts/{}/memories/{}",
            segment(&context.to_string()),
            segment(id)
        );
        self.send(Method::DELETE, &path, Some(token), None)
            .await
            .map_err(|error| {
                not_found(error, || {
                    format!(
                        "No memory {id:?} in a context {context} that you can see (ids are shown by recall)."
                    )
                })
            })
    }

    /// Any route whose reply the caller reads as JSON (the organization commands).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Result<Reply<Value>, ApiError> {
        self.send(method, path, Some(token), body).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Reply<T>, ApiError> {
        // Every request carries a token or a password.
        if !self.url.may_carry_secrets() {
            return Err(ApiError::Insecure {
                url: self.url.to_string(),
            });
        }
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| self.unreachable(&error))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("nowhere")
                .to_owned();
            return Err(ApiError::Redirected {
                url: self.url.to_string(),
                status: status.as_u16(),
                location,
            });
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let unexpected = || ApiError::Unexpected {
            url: self.url.to_string(),
            status: status.as_u16(),
        };
        let text = response
            .text()
            .await
            .map_err(|error| self.unreachable(&error))?;
        let raw: Value = serde_json::from_str(&text).map_err(|_| unexpected())?;
        if status.is_success() {
            let data = serde_json::from_value(raw.clone()).map_err(|_| unexpected())?;
            return Ok(Reply { raw, data });
        }
        #[derive(Deserialize)]
        struct ErrorBody {
            error: String,
            message: String,
        }
        let ErrorBody { error, mut message } =
            serde_json::from_value(raw).map_err(|_| unexpected())?;
        if status == StatusCode::UNAUTHORIZED && error == "unauthorized" {
            return Err(ApiError::Unauthorized { message });
        }
        if let Some(seconds) = retry_after.filter(|_| status == StatusCode::TOO_MANY_REQUESTS) {
            message = format!("{message} Try again in {seconds} seconds.");
        }
        Err(ApiError::Api {
            status: status.as_u16(),
            code: error,
            message,
        })
    }

    fn unreachable(&self, error: &reqwest::Error) -> ApiError {
        let reason = if error.is_timeout() {
            "timed out".to_owned()
        } else {
            io_cause(error).unwrap_or_else(|| "could not connect".to_owned())
        };
        ApiError::Unreachable {
            url: self.url.to_string(),
            reason,
        }
    }
}

fn with_limit(mut path: String, limit: Option<u32>) -> String {
    if let Some(limit) = limit {
        path.push_str(&format!("?limit={limit}"));
    }
    path
}

/// The server's 404 names no context; say which one was missing.
fn no_context(error: ApiError, context: &ContextAddress) -> ApiError {
    not_found(error, || {
        format!(
            "No context {context} that you can see (list them with `mem0 contexts`, create one with `mem0 context create {context}`)."
        )
    })
}

/// A 404 with a sentence naming what was not there.
fn not_found(error: ApiError, message: impl FnOnce() -> String) -> ApiError {
    match error {
        ApiError::Api {
            status: 404, code, ..
        } => ApiError::Api {
            status: 404,
            code,
            message: message(),
        },
        other => other,
    }
}

/// The innermost I/O error (e.g. "Connection refused") without reqwest's wrapping text.
fn io_cause(error: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(error);
    let mut found = None;
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            found = Some(io.to_string());
        }
        source = cause.source();
    }
    found
}
