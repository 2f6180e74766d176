//! Which handler answers which path. Each Lambda serves one route group; local-dev
//! serves `All`. Groups are types, not values, so a Lambda binary links only its own
//! handlers (the signup function alone carries the password-strength dictionaries).

use std::future::Future;

use http::Method;

use crate::error::{ApiError, ApiResult};
use crate::request::{MAX_BODY_BYTES, Request};
use crate::response::Response;
use crate::{App, auth, contexts};

/// A set of routes a process answers; anything else is 404.
pub trait RouteGroup: Copy + Send + Sync + 'static {
    /// Answers `request`, whose path split at `/` is `path`.
    fn route<'a>(
        self,
        app: &'a App,
        request: Request,
        path: &'a [&'a str],
    ) -> impl Future<Output = ApiResult<Response>> + Send + 'a;
}

/// `POST /auth/signup/individual`, `POST /auth/signup/organization`
#[derive(Debug, Clone, Copy)]
pub struct Signup;
/// `POST /auth/login`, `GET /auth/me`, `POST /auth/logout`
#[derive(Debug, Clone, Copy)]
pub struct Login;
/// `/contexts/**`
#[derive(Debug, Clone, Copy)]
pub struct Contexts;
/// Every route, as local-dev serves them.
#[derive(Debug, Clone, Copy)]
pub struct All;

/// Answers one request. Every outcome, errors included, is a response: the error enum
/// decides status and body, so no path can leak internal text.
pub async fn handle(app: &App, routes: impl RouteGroup, request: Request) -> Response {
    if request.body().len() > MAX_BODY_BYTES {
        return ApiError::PayloadTooLarge.into_response();
    }
    let raw = request.uri().path();
    let owned: Vec<String> = raw
        .strip_suffix('/')
        .unwrap_or(raw)
        .split('/')
        .skip(1)
        .map(str::to_owned)
        .collect();
    let path: Vec<&str> = owned.iter().map(String::as_str).collect();
    routes
        .route(app, request, &path)
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

impl RouteGroup for Signup {
    async fn route(self, app: &App, request: Request, path: &[&str]) -> ApiResult<Response> {
        match path {
            ["auth", "signup", "individual"] => {
                allowed(&request, POST)?;
                auth::signup_individual(app, request).await
            }
            ["auth", "signup", "organization"] => {
                allowed(&request, POST)?;
                auth::signup_organization(app, request).await
            }
            _ => Err(ApiError::NotFound),
        }
    }
}

impl RouteGroup for Login {
    async fn route(self, app: &App, request: Request, path: &[&str]) -> ApiResult<Response> {
        match path {
            ["auth", "login"] => {
                allowed(&request, POST)?;
                auth::login(app, request).await
            }
            ["auth", "me"] => {
                allowed(&request, GET)?;
                auth::me(app, request).await
            }
            ["auth", "logout"] => {
                allowed(&request, POST)?;
                auth::logout(app, request).await
            }
            _ => Err(ApiError::NotFound),
        }
    }
}

impl RouteGroup for Contexts {
    async fn route(self, app: &App, request: Request, path: &[&str]) -> ApiResult<Response> {
        let is_get = request.method() == Method::GET;
        match path {
            ["contexts"] => {
                allowed(&request, GET_POST)?;
                if is_get {
                    contexts::list(app, request).await
                } else {
                    contexts::create(app, request).await
                }
            }
            ["contexts", name] => {
                allowed(&request, GET_DELETE)?;
                if is_get {
                    contexts::get(app, request, name).await
                } else {
                    contexts::delete(app, request, name).await
                }
            }
            ["contexts", name, "memories"] => {
                allowed(&request, GET_POST)?;
                if is_get {
                    contexts::list_memories(app, request, name).await
                } else {
                    contexts::add_memory(app, request, name).await
                }
            }
            ["contexts", name, "memories", id] => {
                allowed(&request, DELETE)?;
                contexts::delete_memory(app, request, name, id).await
            }
            _ => Err(ApiError::NotFound),
        }
    }
}

impl RouteGroup for All {
    async fn route(self, app: &App, request: Request, path: &[&str]) -> ApiResult<Response> {
        match path {
            ["auth", "signup", ..] => Signup.route(app, request, path).await,
            ["auth", ..] => Login.route(app, request, path).await,
            ["contexts", ..] => Contexts.route(app, request, path).await,
            _ => Err(ApiError::NotFound),
        }
    }
}
