//! Which handler answers which route: each function's routes, declared once.
//!
//! A route's path and method are written in its handler's `#[utoipa::path]`, which both
//! the router and the OpenAPI document read, so the two cannot disagree. Each Lambda
//! builds only its own group (the signup function alone links the password-strength
//! dictionaries); local-dev merges them all.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::Method;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::MAX_BODY_BYTES;
use crate::{SharedApp, account, activity, auth, contexts, oauth, orgs, sessions, summary};

/// A function's routes with their documentation, before they get their state.
pub type Routes = OpenApiRouter<SharedApp>;

/// The `signup` function: `POST /auth/signup/individual`, `POST /auth/signup/organization`,
/// the routes that mail links or set passwords (it links the password-strength
/// dictionaries already): `GET /auth/verify-email`, `POST /auth/verify-email/resend`,
/// `POST /auth/password/forgot`, `POST /auth/password/reset`, `POST /auth/password`;
/// and `POST /invitations/{preview,accept}` (accepting may create the account).
pub fn signup() -> Routes {
    OpenApiRouter::new()
        .routes(routes!(auth::signup_individual))
        .routes(routes!(auth::signup_organization))
        .routes(routes!(orgs::preview))
        .routes(routes!(orgs::accept))
        .routes(routes!(account::verify_email))
        .routes(routes!(account::resend_verification))
        .routes(routes!(account::forgot_password))
        .routes(routes!(account::reset_password))
        .routes(routes!(account::change_password))
}

/// The `login` function: `POST /auth/login`, `GET /auth/me`, and the sessions:
/// `POST /auth/refresh`, `POST /auth/logout`, `GET /auth/sessions`,
/// `DELETE /auth/sessions/{session_id}`.
pub fn login() -> Routes {
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::me))
        .routes(routes!(sessions::refresh))
        .routes(routes!(sessions::logout))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::end))
}

/// The `contexts` function: `/contexts/**`.
pub fn contexts() -> Routes {
    OpenApiRouter::new()
        .routes(routes!(contexts::list, contexts::create))
        .routes(routes!(contexts::get, contexts::delete))
        .routes(routes!(contexts::list_memories, contexts::add_memory))
        .routes(routes!(contexts::delete_memory))
        .routes(routes!(activity::context_activity))
}

/// The `orgs` function: `/orgs/{organization_id}/**`.
pub fn orgs() -> Routes {
    OpenApiRouter::new()
        .routes(routes!(orgs::show))
        .routes(routes!(orgs::members))
        .routes(routes!(orgs::invite, orgs::invitations))
        .routes(routes!(orgs::revoke))
        .routes(routes!(orgs::set_role, orgs::remove))
}

/// The `oauth` function: the OAuth 2.1 authorization server of `/mcp`: the metadata
/// (`/.well-known/oauth-protected-resource{,/mcp}`, `/.well-known/oauth-authorization-server`),
/// `POST /oauth/register`, `GET`/`POST /oauth/authorize`, `POST /oauth/token`,
/// `POST /oauth/revoke`, and the user's connected apps: `GET /auth/grants`,
/// `DELETE /auth/grants/{grant_id}`, `GET /auth/grants/{grant_id}/activity`.
pub fn oauth() -> Routes {
    OpenApiRouter::new()
        .routes(routes!(oauth::protected_resource))
        .routes(routes!(oauth::protected_resource_root))
        .routes(routes!(oauth::authorization_server))
        .routes(routes!(oauth::register))
        .routes(routes!(oauth::consent_page, oauth::decide))
        .routes(routes!(oauth::token))
        .routes(routes!(oauth::revoke))
        .routes(routes!(oauth::list_grants))
        .routes(routes!(oauth::revoke_grant))
        .routes(routes!(activity::grant_activity))
}

/// Every route, as local-dev serves them and the OpenAPI document describes them.
pub fn all() -> Routes {
    signup()
        .merge(login())
        .merge(contexts())
        .merge(orgs())
        .merge(oauth())
}

/// `routes` ready to serve with `app`: a wrong method is the contract's JSON 405 with
/// `Allow`, an unknown path its JSON 404, a body over 1 MiB its 413, and every answer
/// carries its [`crate::RequestSummary`] for the front door's log line.
pub fn router(app: SharedApp, routes: Routes) -> Router {
    let (router, document) = routes.split_for_parts();
    let allowed = Arc::new(allowed_methods(&document));
    router
        .method_not_allowed_fallback(move |path: MatchedPath| {
            let methods = allowed.get(path.as_str()).cloned().unwrap_or_default();
            std::future::ready(ApiError::MethodNotAllowed(methods))
        })
        .fallback(|| std::future::ready(ApiError::NotFound))
        .layer(middleware::from_fn(summary::summarize))
        .layer(middleware::from_fn(refuse_large_bodies))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(crate::cors::allow_agents))
        .with_state(app)
}

/// Each documented path's methods, in the order a client reads them in `Allow`.
fn allowed_methods(document: &OpenApi) -> HashMap<String, Vec<Method>> {
    const ORDER: [Method; 5] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    document
        .paths
        .paths
        .iter()
        .map(|(path, item)| {
            let declared = [
                item.get.is_some(),
                item.post.is_some(),
                item.put.is_some(),
                item.patch.is_some(),
                item.delete.is_some(),
            ];
            let methods = ORDER
                .into_iter()
                .zip(declared)
                .filter_map(|(method, declared)| declared.then_some(method))
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// The whole body is read (Lambda has it in memory anyway) and refused above 1 MiB
/// before any handler, authentication included, spends work on it.
pub(crate) async fn refuse_large_bodies(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => next.run(Request::from_parts(parts, bytes.into())).await,
        Err(_) => ApiError::PayloadTooLarge.into_response(),
    }
}
