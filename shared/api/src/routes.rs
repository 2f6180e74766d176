//! Which handler answers which path. Each Lambda serves one route group; local-dev
//! serves `All`. Groups are types, not values, so a Lambda binary links only its own
//! handlers (the signup function alone carries the password-strength dictionaries).

use std::future::Future;

use http::Method;

use crate::error::{ApiError, ApiResult};
use crate::request::{MAX_BODY_BYTES, Request};
use crate::response::Response;
use crate::{App, auth, contexts, summary};

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
    let raw = request.uri().path();
    let owned: Vec<String> = raw
        .strip_suffix('/')
        .unwrap_or(raw)
        .split('/')
        .skip(1)
        .map(str::to_owned)
        .collect();
    let path: Vec<&str> = owned.iter().map(String::as_str).collect();
    summary::summarize(route_template(&path), async {
        if request.body().len() > MAX_BODY_BYTES {
            return ApiError::PayloadTooLarge.into_response();
        }
        routes
            .route(app, request, &path)
            .await
            .unwrap_or_else(ApiError::into_response)
    })
    .await
}

/// The contract's name for the route at `path` (split at `/`), for logs and metrics:
/// `/contexts/{name}` rather than the name someone chose.
pub fn route_template(path: &[&str]) -> &'static str {
    match path {
        ["auth", "signup", "individual"] => "/auth/signup/individual",
        ["auth", "signup", "organization"] => "/auth/signup/organization",
        ["auth", "login"] => "/auth/login",
        ["auth", "me"] => "/auth/me",
        ["auth", "logout"] => "/auth/logout",
        ["contexts"] => "/contexts",
        ["contexts", _] => "/contexts/{name}",
        ["contexts", _, "memories"] => "/contexts/{name}/memories",
        ["contexts", _, "memories", _] => "/contexts/{name}/memories/{id}",
        _ => "unknown",
    }
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

#[cfg(test)]
mod tests {
    use super::route_template;

    #[test]
    fn logs_name_routes_by_template_not_by_the_names_in_the_path() {
        let cases = [
            ("/auth/signup/individual", "/auth/signup/individual"),
            ("/auth/signup/organization", "/auth/signup/organization"),
            ("/auth/login", "/auth/login"),
            ("/auth/me", "/auth/me"),
            ("/auth/logout", "/auth/logout"),
            ("/contexts", "/contexts"),
            ("/contexts/my-project", "/contexts/{name}"),
            ("/contexts/my-project/memories", "/contexts/{name}/memories"),
            (
                "/contexts/my-project/memories/01J0",
                "/contexts/{name}/memories/{id}",
            ),
            ("/contexts/my-project/other", "unknown"),
            ("/wp-admin", "unknown"),
        ];
        for (path, template) in cases {
            let parts: Vec<&str> = path.split('/').skip(1).collect();
            assert_eq!(route_template(&parts), template, "{path}");
        }
    }
}
