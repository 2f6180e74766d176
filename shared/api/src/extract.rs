//! The edge: raw HTTP in, typed values out. Each extractor refuses with the contract's
//! JSON error, so a handler only ever sees input that parsed.

use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use bytes::Bytes;
use http::request::Parts;
use serde::de::DeserializeOwned;
use store::{Membership, SessionId, User, UserId, Viewer};

use crate::error::{ApiError, ApiResult};
use crate::{SharedApp, summary};

/// Bodies above this are refused with 413 before any parsing (`routes::router` sets
/// it as the body limit).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The caller's network address as the front door saw it (API Gateway's source IP,
/// or the peer address in local-dev). Adapters put it in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

impl<S: Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .cloned()
            .unwrap_or_else(|| ClientAddr("unknown".into())))
    }
}

/// The JSON body parsed into `T`, with messages that say what to fix.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> ApiResult<Self> {
        let body =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                        ApiError::PayloadTooLarge
                    }
                    _ => ApiError::invalid("The request body could not be read."),
                })?;
        parse_json(&body).map(JsonBody)
    }
}

pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
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

/// The path's parameters; one that cannot even be decoded names nothing there is, so
/// it is 404 like any name that does not exist.
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(params)| PathParams(params))
            .map_err(|_| ApiError::NotFound)
    }
}

/// The decoded value of query parameter `key`; a key given twice keeps the last value.
pub fn query_param(parts: &Parts, key: &str) -> Option<String> {
    let query = parts.uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == key)
        .last()
        .map(|(_, value)| value.into_owned())
}

/// A request whose bearer token verified and whose session is live, from a user who
/// still exists; anything else is 401. `user` is the stored account as this request
/// found it: organization and role come from there, never from the token, so a logout,
/// a removal or a demotion holds from the very next request.
///
/// Store reads per request: one (`Store::caller`, the session and the user row in one
/// BatchGetItem on DynamoDB, one query on SQLite).
///
/// A token without a `sid` (issued before sessions existed, so at most one token
/// lifetime old) is refused: its holder logs in once more, and no second check (the
/// old revocation list) has to stay around for it.
pub struct Authenticated {
    pub user: User,
    session_id: SessionId,
}

impl Authenticated {
    /// Who the caller is, as the store's access rules see them: the stored account's
    /// organization, not the token's.
    pub fn viewer(&self) -> Viewer {
        self.user.viewer()
    }

    /// The caller's organization and role in it, as stored now.
    pub fn membership(&self) -> Option<Membership> {
        self.user.membership()
    }

    /// The caller's account, read with the session.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The session the token was born of.
    pub fn session_id(&self) -> &SessionId {
        &self.session_id
    }
}

impl FromRequestParts<SharedApp> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &SharedApp) -> ApiResult<Self> {
        let token = bearer_token(parts).ok_or(ApiError::Unauthorized)?;
        authenticate(app, token).await
    }
}

/// The caller, if the request carries a bearer token (which must then be good), for
/// routes that also serve the logged out.
pub struct MaybeAuthenticated(pub Option<Authenticated>);

impl FromRequestParts<SharedApp> for MaybeAuthenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &SharedApp) -> ApiResult<Self> {
        if parts.headers.get(http::header::AUTHORIZATION).is_none() {
            return Ok(Self(None));
        }
        let token = bearer_token(parts).ok_or(ApiError::Unauthorized)?;
        authenticate(app, token)
            .await
            .map(|caller| Self(Some(caller)))
    }
}

async fn authenticate(app: &SharedApp, token: &str) -> ApiResult<Authenticated> {
    let claims = app.tokens.verify(token).map_err(|error| {
        tracing::info!(%error, "token refused");
        ApiError::Unauthorized
    })?;
    let Some(session_id) = claims.sid.as_deref().and_then(SessionId::parse) else {
        tracing::info!(user_id = claims.user_id, "token without a session refused");
        return Err(ApiError::Unauthorized);
    };
    let caller = app
        .store
        .caller(UserId(claims.user_id), &session_id)
        .await?;
    let Some(user) = caller.user else {
        // A token outliving its account (deleted since) is no longer any good.
        tracing::info!(
            user_id = claims.user_id,
            "token of a missing account refused"
        );
        return Err(ApiError::Unauthorized);
    };
    summary::identify(user.id);
    let now = app.now().unix_timestamp();
    if !caller.session.is_some_and(|session| session.is_live(now)) {
        tracing::info!(
            user_id = claims.user_id,
            "token of an ended session refused"
        );
        return Err(ApiError::SessionEnded);
    }
    Ok(Authenticated { user, session_id })
}

/// The token from `Authorization: Bearer <token>`, if the header has that shape.
pub(crate) fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str) -> Parts {
        http::Request::builder()
            .uri(uri)
            .header("authorization", "bearer  abc.def.ghi ")
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let parts = parts("/x?query=rust%20code+now&limit=5&empty");
        assert_eq!(
            query_param(&parts, "query").as_deref(),
            Some("rust code now")
        );
        assert_eq!(query_param(&parts, "limit").as_deref(), Some("5"));
        assert_eq!(query_param(&parts, "empty").as_deref(), Some(""));
        assert_eq!(query_param(&parts, "cursor"), None);
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token(&parts("/")), Some("abc.def.ghi"));
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Login {
        email: String,
    }

    #[test]
    fn body_errors_say_what_is_wrong() {
        let missing = parse_json::<Login>(b"{}").unwrap_err();
        assert!(
            missing.to_string().contains("missing field `email`"),
            "{missing}"
        );
        let wrong_type = parse_json::<Login>(br#"{"email":3}"#).unwrap_err();
        assert!(
            wrong_type.to_string().contains("invalid type"),
            "{wrong_type}"
        );
        let not_json = parse_json::<Login>(b"{nope").unwrap_err();
        assert_eq!(not_json.to_string(), "The request body is not valid JSON.");
        let empty = parse_json::<Login>(b"").unwrap_err();
        assert_eq!(empty.to_string(), "The request needs a JSON body.");
    }
}
