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

use std::sync::Arc;

use claims::{Subject, TokenKeys};
use http::Method;
use store::{Store, User, Viewer};
use time::OffsetDateTime;

pub use config::{Config, Limits};
pub use error::{ApiError, ApiResult};
pub use request::{ClientAddr, MAX_BODY_BYTES, Request};
pub use response::Response;

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

    fn authenticate(&self, request: &Request) -> ApiResult<Viewer> {
        auth::viewer_from(self, request)
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

/// Which routes a process answers: each Lambda its own group, local-dev all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routes {
    /// `/auth/signup/*`
    Signup,
    /// `/auth/login`, `/auth/me`
    Login,
    /// `/contexts/**`
    Contexts,
    All,
}

impl Routes {
    fn serves(self, group: Routes) -> bool {
        self == Routes::All || self == group
    }
}

/// Answers one request. Every outcome, errors included, is a response: the error enum
/// decides status and body, so no path can leak internal text.
pub async fn handle(app: &App, routes: Routes, request: Request) -> Response {
    if request.body().len() > MAX_BODY_BYTES {
        return ApiError::PayloadTooLarge.into_response();
    }
    dispatch(app, routes, request)
        .await
        .unwrap_or_else(ApiError::into_response)
}

const GET: &[Method] = &[Method::GET];
const POST: &[Method] = &[Method::POST];
const GET_POST: &[Method] = &[Method::GET, Method::POST];
const GET_DELETE: &[Method] = &[Method::GET, Method::DELETE];
const DELETE: &[Method] = &[Method::DELETE];

fn allowed(request: &Request, methods: &'static [Method]) -> ApiResult<()> {
    if methods.contains(request.method()) {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed(methods))
    }
}

async fn dispatch(app: &App, routes: Routes, request: Request) -> ApiResult<Response> {
    let path = request.uri().path();
    let segments: Vec<String> = path
        .strip_suffix('/')
        .unwrap_or(path)
        .split('/')
        .skip(1)
        .map(str::to_owned)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method().clone();
    match segments.as_slice() {
        ["auth", "signup", "individual"] if routes.serves(Routes::Signup) => {
            allowed(&request, POST)?;
            auth::signup_individual(app, request).await
        }
        ["auth", "signup", "organization"] if routes.serves(Routes::Signup) => {
            allowed(&request, POST)?;
            auth::signup_organization(app, request).await
        }
        ["auth", "login"] if routes.serves(Routes::Login) => {
            allowed(&request, POST)?;
            auth::login(app, request).await
        }
        ["auth", "me"] if routes.serves(Routes::Login) => {
            allowed(&request, GET)?;
            auth::me(app, request).await
        }
        ["contexts"] if routes.serves(Routes::Contexts) => {
            allowed(&request, GET_POST)?;
            if method == Method::GET {
                contexts::list(app, request).await
            } else {
                contexts::create(app, request).await
            }
        }
        ["contexts", name] if routes.serves(Routes::Contexts) => {
            allowed(&request, GET_DELETE)?;
            if method == Method::GET {
                contexts::get(app, request, name).await
            } else {
                contexts::delete(app, request, name).await
            }
        }
        ["contexts", name, "memories"] if routes.serves(Routes::Contexts) => {
            allowed(&request, GET_POST)?;
            if method == Method::GET {
                contexts::list_memories(app, request, name).await
            } else {
                contexts::add_memory(app, request, name).await
            }
        }
        ["contexts", name, "memories", id] if routes.serves(Routes::Contexts) => {
            allowed(&request, DELETE)?;
            contexts::delete_memory(app, request, name, id).await
        }
        _ => Err(ApiError::NotFound),
    }
}
