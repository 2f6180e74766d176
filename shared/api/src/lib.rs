//! The handlers every Lambda and local-dev run, as plain async functions over
//! `http::Request<Bytes>`: parse -> authorize -> do -> respond.

mod auth;
pub mod config;
mod contexts;
pub mod error;
#[cfg(feature = "lambda")]
pub mod lambda;
mod password;
pub mod request;
pub mod response;
mod routes;
#[cfg(feature = "lambda")]
mod secrets;
mod summary;
mod throttle;

use std::sync::Arc;

use claims::{Subject, TokenKeys};
use store::{Store, User, Viewer};
use time::OffsetDateTime;

pub use config::{Config, Limits, SigningSecret};
pub use error::{ApiError, ApiResult};
pub use request::{ClientAddr, MAX_BODY_BYTES, Request};
pub use response::Response;
pub use routes::{All, Contexts, Login, RouteGroup, Signup, handle, route_template};
pub use summary::RequestSummary;

/// Everything a handler needs, built once per process (per Lambda cold start).
pub struct App {
    store: Arc<dyn Store>,
    tokens: TokenKeys,
    limits: Limits,
}

impl App {
    pub fn new(store: Arc<dyn Store>, tokens: TokenKeys, limits: Limits) -> Self {
        Self {
            store,
            tokens,
            limits,
        }
    }

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// Who the request's bearer token speaks for, or 401.
    async fn authenticate(&self, request: &Request) -> ApiResult<Viewer> {
        auth::verified_claims(self, request)
            .await
            .map(|claims| auth::viewer_of(&claims))
    }

    fn issue_token(&self, user: &User) -> ApiResult<String> {
        let subject = Subject {
            user_id: user.id.0,
            email: user.email.to_string(),
            account_type: user.account_type.as_str().to_owned(),
            role: user.role.as_str().to_owned(),
            organization_id: user.organization_id.map(|id| id.0),
        };
        self.tokens
            .issue(subject)
            .map(|(token, _)| token)
            .map_err(|error| {
                tracing::error!(%error, "token signing failed");
                ApiError::Internal
            })
    }
}
