//! The success replies: typed bodies, JSON with the headers every API answer carries.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::{RefOr, Schema};

/// A success reply: `status` with `body` as JSON.
pub struct Reply<T> {
    status: StatusCode,
    body: T,
}

impl<T: Serialize> Reply<T> {
    pub fn ok(body: T) -> Self {
        Self {
            status: StatusCode::OK,
            body,
        }
    }

    pub fn created(body: T) -> Self {
        Self {
            status: StatusCode::CREATED,
            body,
        }
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        json(self.status, &self.body)
    }
}

/// `body` as JSON; never cached, never sniffed.
pub fn json(status: StatusCode, body: &impl Serialize) -> Response {
    // Serialising our own reply types cannot fail; fall back to an empty object anyway.
    let body = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
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

/// `"success": true`, which every success body starts with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Succeeded;

impl Serialize for Succeeded {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(true)
    }
}

impl utoipa::PartialSchema for Succeeded {
    fn schema() -> RefOr<Schema> {
        Object::builder()
            .schema_type(Type::Boolean)
            .enum_values(Some([true]))
            .into()
    }
}

impl ToSchema for Succeeded {}

/// A success with nothing more to say than `{"success": true}`.
#[derive(Serialize, ToSchema)]
pub struct Done {
    pub success: Succeeded,
}

/// A success with a sentence for people.
#[derive(Serialize, ToSchema)]
pub struct Said {
    pub success: Succeeded,
    pub message: &'static str,
}
