//! Cross-origin access for what an agent running in a browser (MCP Inspector, a web
//! client) calls: the OAuth metadata, registration, token and revocation endpoints, and
//! `/mcp`. None of them reads a cookie — every credential travels in the body or the
//! `Authorization` header, which a page must set itself — so any origin may call them,
//! as RFC 8414 and the MCP authorization spec expect of public clients. The consent page
//! and the REST API stay same-origin.

use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderName, Method};
use tower::{Layer, ServiceExt};
use tower_http::cors::{Any, CorsLayer};

/// The paths agents call from any origin.
const AGENT_PATHS: [&str; 7] = [
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/mcp",
    "/.well-known/oauth-authorization-server",
    "/oauth/register",
    "/oauth/token",
    "/oauth/revoke",
    crate::oauth::RESOURCE_PATH,
];

/// Middleware: the CORS answers (preflights included) on [`AGENT_PATHS`], nothing on
/// any other path.
pub(crate) async fn allow_agents(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !AGENT_PATHS.contains(&path.strip_suffix('/').unwrap_or(path)) {
        return next.run(request).await;
    }
    match agents().layer(next).oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn agents() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            AUTHORIZATION,
            CONTENT_TYPE,
            HeaderName::from_static("mcp-protocol-version"),
            HeaderName::from_static("mcp-session-id"),
        ])
        // The 401's challenge names the metadata a browser client must find next.
        .expose_headers([WWW_AUTHENTICATE])
        .max_age(Duration::from_secs(24 * 60 * 60))
}
