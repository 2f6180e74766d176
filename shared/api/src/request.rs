//! The edge: raw HTTP in, typed values out.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

pub type Request = http::Request<Bytes>;

/// Bodies above this are refused with 413 before any parsing.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The caller's network address as the front door saw it (API Gateway's source IP,
/// or the peer address in local-dev). Adapters put it in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

pub fn client_addr(request: &Request) -> &str {
    request
        .extensions()
        .get::<ClientAddr>()
        .map(|addr| addr.0.as_str())
        .unwrap_or("unknown")
}

/// Parses the JSON body into `T`, with messages that say what to fix.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> ApiResult<T> {
    let body = request.body();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("The request needs a JSON body."));
    }
    serde_json::from_slice(body).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Data => {
                // serde names the field and the expected type; the position is noise.
                let detail = error.to_string();
                let detail = detail.split(" at line ").next().unwrap_or_default();
                ApiError::invalid(format!(
                    "A field is missing or has the wrong type: {detail}."
                ))
            }
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::invalid("The request body is not valid JSON.")
            }
        }
    })
}

/// The token from `Authorization: Bearer <token>`, if the header has that shape.
pub fn bearer_token(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The decoded value of query parameter `key`; a key given twice keeps the last value.
pub fn query_param(request: &Request, key: &str) -> Option<String> {
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == key)
        .last()
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, body: &str) -> Request {
        http::Request::builder()
            .uri(uri)
            .header("authorization", "bearer  abc.def.ghi ")
            .body(Bytes::from(body.to_owned()))
            .unwrap()
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let request = request("/x?query=rust%20code+now&limit=5&empty", "");
        assert_eq!(
            query_param(&request, "query").as_deref(),
            Some("rust code now")
        );
        assert_eq!(query_param(&request, "limit").as_deref(), Some("5"));
        assert_eq!(query_param(&request, "empty").as_deref(), Some(""));
        assert_eq!(query_param(&request, "cursor"), None);
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token(&request("/", "")), Some("abc.def.ghi"));
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Login {
        email: String,
    }

    #[test]
    fn body_errors_say_what_is_wrong() {
        let missing = json_body::<Login>(&request("/", "{}")).unwrap_err();
        assert!(
            missing.to_string().contains("missing field `email`"),
            "{missing}"
        );
        let wrong_type = json_body::<Login>(&request("/", r#"{"email":3}"#)).unwrap_err();
        assert!(
            wrong_type.to_string().contains("invalid type"),
            "{wrong_type}"
        );
        let not_json = json_body::<Login>(&request("/", "{nope")).unwrap_err();
        assert_eq!(not_json.to_string(), "The request body is not valid JSON.");
        let empty = json_body::<Login>(&request("/", "")).unwrap_err();
        assert_eq!(empty.to_string(), "The request needs a JSON body.");
    }
}
