//! Requests through a function's real router, in process.

use std::sync::Arc;

use api::App;
use api::routes::Routes;
use bytes::Bytes;
use tower::ServiceExt;

pub type Response = http::Response<Bytes>;

/// `request` answered by `routes` over `app`, with the body collected.
pub async fn handle(
    app: &Arc<App>,
    routes: fn() -> Routes,
    request: http::Request<Bytes>,
) -> Response {
    let router = api::router(Arc::clone(app), routes());
    let response = router
        .oneshot(request.map(axum::body::Body::from))
        .await
        .unwrap_or_else(|never| match never {});
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("the body is in memory");
    http::Response::from_parts(parts, body)
}
