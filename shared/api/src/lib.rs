//! The handlers every Lambda and local-dev run. Each function's routes are one axum
//! `Router` (`routes.rs`): a handler reads like the request's story, parse -> authorize
//! -> do -> respond, with the parsing done by the extractors in `extract.rs`.

mod account;
mod activity;
mod auth;
pub mod config;
mod contexts;
mod cors;
pub mod error;
mod extract;
pub mod grant;
pub mod mail;
pub mod mcp;
pub mod oauth;
pub mod openapi;
mod orgs;
mod password;
mod reply;
pub mod routes;
mod sessions;
mod summary;
mod throttle;

use std::sync::Arc;

use claims::{Subject, TokenKeys};
use store::{Session, Store, User};
use time::OffsetDateTime;

pub use config::{Config, Limits, SessionSettings, SigningSecret};
pub use error::{ApiError, ApiResult};
pub use extract::{ClientAddr, MAX_BODY_BYTES};
pub use grant::GrantCaller;
pub use mail::{Links, Mailer};
pub use routes::router;
pub use summary::RequestSummary;

/// Everything a handler needs, built once per process (per Lambda cold start) and
/// shared by every request as the router's state.
pub struct App {
    store: Arc<dyn Store>,
    tokens: TokenKeys,
    limits: Limits,
    mailer: Arc<dyn Mailer>,
    links: Links,
    sessions: SessionSettings,
    client_metadata: Arc<dyn oauth::ClientMetadataFetcher>,
}

/// The router's state.
pub type SharedApp = Arc<App>;

impl App {
    pub fn new(store: Arc<dyn Store>, tokens: TokenKeys, limits: Limits) -> Self {
        Self {
            store,
            tokens,
            limits,
            mailer: Arc::new(mail::NotConfigured),
            links: Links::default(),
            sessions: SessionSettings::default(),
            client_metadata: Arc::new(oauth::NoClientMetadata),
        }
    }

    /// Fetches Client ID Metadata Documents with `fetcher` (the authorization server's
    /// [`oauth::HttpFetcher`]); without one the app fetches none, so that functions
    /// which never serve `/oauth/*` link no HTTP client.
    pub fn with_client_metadata(self, fetcher: Arc<dyn oauth::ClientMetadataFetcher>) -> Self {
        Self {
            client_metadata: fetcher,
            ..self
        }
    }

    /// Sends mail with `mailer`, its links pointing at `links`' origin.
    pub fn with_mail(self, mailer: Arc<dyn Mailer>, links: Links) -> Self {
        Self {
            mailer,
            links,
            ..self
        }
    }

    /// The origin that links in mail and the OAuth metadata point at, for an app that
    /// sends no mail.
    pub fn with_links(self, links: Links) -> Self {
        Self { links, ..self }
    }

    /// Where this app's mail goes.
    pub fn mailer(&self) -> &dyn Mailer {
        &*self.mailer
    }

    /// The origin links in mail point at.
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// The same app with these session lifetimes instead of the defaults.
    pub fn with_sessions(self, sessions: SessionSettings) -> Self {
        Self { sessions, ..self }
    }

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// An access token for `user` in `session`.
    fn issue_token(&self, user: &User, session: &Session) -> ApiResult<String> {
        let subject = Subject {
            user_id: user.id.0,
            email: user.email.to_string(),
            account_type: user.account_type.as_str().to_owned(),
            role: user.role.as_str().to_owned(),
            organization_id: user.organization_id.map(|id| id.0),
            sid: Some(session.id.to_string()),
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
