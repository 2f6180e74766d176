use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

pub type Response = http::Response<Bytes>;

pub fn json(status: StatusCode, body: &impl Serialize) -> Response {
    // Serialising our own response types cannot fail; fall back to an empty object anyway.
    let body = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = http::Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Responses carry tokens and private notes: never cache them anywhere.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // A browser must never read an API answer as anything but JSON.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
