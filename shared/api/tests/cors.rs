//! Agents running in a browser (MCP Inspector, web clients) may call the OAuth
//! endpoints and `/mcp` from any origin; the REST API and the consent page stay
//! same-origin.

mod support;

use std::sync::Arc;

use api::{App, Limits};
use axum::Router;
use bytes::Bytes;
use store::embedded::EmbeddedStore;
use tower::ServiceExt;

const SECRET: &str = "cors-test-secret-cors-test-secret-cors-0123";
const ELSEWHERE: &str = "https://inspector.example";

fn app() -> Arc<App> {
    let store = Arc::new(EmbeddedStore::in_memory().expect("store"));
    let keys = claims::TokenKeys::new(&SECRET.to_owned().into(), Default::default()).expect("keys");
    Arc::new(App::new(store, keys, Limits::default()))
}

fn preflight(uri: &str, method: &str) -> http::Request<Bytes> {
    http::Request::builder()
        .method("OPTIONS")
        .uri(uri)
        .header("origin", ELSEWHERE)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .body(Bytes::new())
        .expect("request")
}

fn from_elsewhere(method: &str, uri: &str) -> http::Request<Bytes> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("origin", ELSEWHERE)
        .header("content-type", "application/json")
        .body(Bytes::from_static(b"{}"))
        .expect("request")
}

async fn mcp(router: Router, request: http::Request<Bytes>) -> http::Response<axum::body::Body> {
    router
        .oneshot(request.map(axum::body::Body::from))
        .await
        .unwrap_or_else(|never| match never {})
}

fn allowed_origin(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get("access-control-allow-origin")
        .and_then(|value| value.to_str().ok())
}

#[tokio::test]
async fn the_oauth_endpoints_answer_preflights_and_requests_from_any_origin() {
    let app = app();
    for (uri, method) in [
        ("/.well-known/oauth-authorization-server", "GET"),
        ("/.well-known/oauth-protected-resource/mcp", "GET"),
        ("/oauth/register", "POST"),
        ("/oauth/token", "POST"),
        ("/oauth/revoke", "POST"),
    ] {
        let answer = support::handle(&app, api::routes::all, preflight(uri, method)).await;
        assert!(answer.status().is_success(), "{uri}: {}", answer.status());
        assert_eq!(allowed_origin(answer.headers()), Some("*"), "{uri}");
        let methods = answer.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap_or_default();
        assert!(methods.contains(method), "{uri}: {methods}");
    }
    let metadata = support::handle(
        &app,
        api::routes::all,
        from_elsewhere("GET", "/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(metadata.status(), 200);
    assert_eq!(allowed_origin(metadata.headers()), Some("*"));
}

#[tokio::test]
async fn the_rest_api_and_the_consent_page_stay_same_origin() {
    let app = app();
    for (uri, method) in [
        ("/contexts", "GET"),
        ("/auth/login", "POST"),
        ("/auth/grants", "GET"),
        ("/oauth/authorize", "POST"),
    ] {
        let answer = support::handle(&app, api::routes::all, preflight(uri, method)).await;
        assert_eq!(allowed_origin(answer.headers()), None, "{uri}");
        let answer = support::handle(&app, api::routes::all, from_elsewhere(method, uri)).await;
        assert_eq!(allowed_origin(answer.headers()), None, "{uri}");
    }
}

#[tokio::test]
async fn mcp_takes_preflights_and_its_challenge_is_readable_from_any_origin() {
    let router = api::mcp::guarded_router(app(), api::mcp::allowed_hosts(None));
    let answer = mcp(router.clone(), preflight(api::mcp::PATH, "POST")).await;
    assert!(answer.status().is_success(), "{}", answer.status());
    assert_eq!(allowed_origin(answer.headers()), Some("*"));

    let refused = mcp(router, from_elsewhere("POST", api::mcp::PATH)).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(allowed_origin(refused.headers()), Some("*"));
    let exposed = refused.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap_or_default();
    assert!(exposed.contains("www-authenticate"), "{exposed}");
}
