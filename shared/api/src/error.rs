//! One error type for every handler; one place that turns it into status + JSON.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use serde::Serialize;
use store::StoreError;
use utoipa::{ToResponse, ToSchema};

use crate::reply::json;

/// What a 503 for a full hashing queue asks the client to wait.
const BUSY_RETRY_AFTER_SECONDS: u64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    WeakPassword(String),
    /// A link's token (an invitation's, say) that is unknown, used, revoked or expired.
    #[error("{0}")]
    InvalidToken(String),
    #[error("authentication required")]
    Unauthorized,
    /// The token is genuine but its session was ended (logout, refresh token reuse) or
    /// has expired.
    #[error("session ended")]
    SessionEnded,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    /// The route exists, with these methods only.
    #[error("method not allowed")]
    MethodNotAllowed(Vec<Method>),
    #[error("{0}")]
    Conflict(String),
    #[error("email already has an account")]
    EmailTaken,
    #[error("body too large")]
    PayloadTooLarge,
    #[error("rate limited")]
    RateLimited { retry_after_seconds: u64 },
    /// Too many password hashes are waiting already; try again shortly.
    #[error("busy")]
    Busy,
    /// The store failed; its cause was logged where it happened.
    #[error("store unavailable")]
    Unavailable,
    /// A bug or a broken deployment (e.g. token signing failed); logged, never shown.
    #[error("internal error")]
    Internal,
    /// An OAuth endpoint's refusal, answered in the RFC's own shape
    /// (`{"error","error_description"}`) rather than the contract's.
    #[error("{0}")]
    OAuth(#[from] crate::oauth::OAuthError),
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::WeakPassword(_) => (StatusCode::BAD_REQUEST, "weak_password"),
            Self::InvalidToken(_) => (StatusCode::BAD_REQUEST, "invalid_token"),
            Self::Unauthorized | Self::SessionEnded => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::EmailTaken => (StatusCode::CONFLICT, "email_taken"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Busy | Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            Self::OAuth(error) => (error.status(), error.code()),
        }
    }

    /// The sentence a person reads; never carries internal causes.
    fn message(&self) -> String {
        match self {
            Self::InvalidRequest(message)
            | Self::WeakPassword(message)
            | Self::InvalidToken(message)
            | Self::Forbidden(message)
            | Self::Conflict(message) => message.clone(),
            Self::Unauthorized => {
                "Missing, invalid or expired access token. Log in again to get a new one.".into()
            }
            Self::SessionEnded => "Your session has ended. Log in again.".into(),
            Self::InvalidCredentials => "Wrong email or password.".into(),
            Self::NotFound => "Nothing here: check the address and the name.".into(),
            Self::MethodNotAllowed(allowed) => format!(
                "This route accepts {}.",
                allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::EmailTaken => {
                "This email already has an account. Log in, or reset the password if you forgot it."
                    .into()
            }
            Self::PayloadTooLarge => "The request body is larger than 1 MiB.".into(),
            Self::RateLimited {
                retry_after_seconds,
            } => format!("Too many attempts. Try again in {retry_after_seconds} seconds."),
            Self::Busy => "The server is busy. Please try again in a few seconds.".into(),
            Self::Unavailable => {
                "The service is temporarily unavailable. Please try again shortly.".into()
            }
            Self::Internal => "Something went wrong on our side. Please try again.".into(),
            Self::OAuth(error) => error.to_string(),
        }
    }
}

/// Every error body: `{"success": false, "error": "<code>", "message": "<sentence>"}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// What went wrong, for programs: `invalid_request`, `unauthorized`, `not_found`, ...
    pub error: &'static str,
    /// What went wrong, for people; never internal detail.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::OAuth(error) = self {
            return error.into_response();
        }
        let (status, code) = self.status_and_code();
        let body = ErrorBody {
            success: false,
            error: code,
            message: self.message(),
        };
        let mut response = json(status, &body);
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized | Self::SessionEnded => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::MethodNotAllowed(allowed) => {
                let allow = allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                if let Ok(value) = HeaderValue::from_str(&allow) {
                    headers.insert(header::ALLOW, value);
                }
            }
            Self::RateLimited {
                retry_after_seconds,
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            Self::Busy => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(BUSY_RETRY_AFTER_SECONDS),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::EmailTaken => Self::EmailTaken,
            StoreError::Conflict => {
                Self::Conflict("A context with this name already exists.".into())
            }
            StoreError::NotFound => Self::NotFound,
            StoreError::InvitationGone => Self::InvalidToken(
                "This invitation was used, revoked or has expired. Ask an admin for a new one."
                    .into(),
            ),
            StoreError::InOrganization => Self::Conflict(
                "You already belong to an organization, and a user belongs to at most one: leave it first."
                    .into(),
            ),
            StoreError::LastAdmin => Self::Conflict(
                "This is the organization's last admin: make someone else an admin first."
                    .into(),
            ),
            StoreError::NotAdmin => {
                Self::Forbidden("Only an admin of the organization can do this.".into())
            }
            StoreError::Changed => Self::Conflict(
                "The member changed while this was being done. Please try again.".into(),
            ),
            StoreError::Unavailable(cause) => {
                tracing::error!(%cause, "store unavailable");
                Self::Unavailable
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The error answers routes document, each an [`ErrorBody`] (`crate::openapi`).
macro_rules! documented_errors {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        $(
            $(#[$doc])*
            #[derive(ToResponse)]
            #[response(content_type = "application/json")]
            #[allow(dead_code)]
            pub struct $name(ErrorBody);
        )*

        /// Each documented error answer with its component name.
        pub fn documented() -> Vec<(&'static str, utoipa::openapi::RefOr<utoipa::openapi::Response>)> {
            vec![$($name::response()),*]
        }
    };
}

documented_errors! {
    /// The body or a parameter is invalid (`invalid_request`, `weak_password` for a new
    /// password, `invalid_token` for a link's token that is wrong, used, revoked or
    /// expired: an invitation, an email verification or a password reset).
    BadRequest,
    /// Missing, invalid, expired or revoked access token (`unauthorized`).
    Unauthorized,
    /// Wrong email or password (`invalid_credentials`), the same whichever it was.
    InvalidCredentials,
    /// Authenticated but not allowed (`forbidden`).
    Forbidden,
    /// No such context or memory for this caller (`not_found`).
    NotFound,
    /// A context with this name exists (`conflict`), or the email has an account (`email_taken`).
    Conflict,
    /// The body is larger than 1 MiB (`payload_too_large`).
    PayloadTooLarge,
    /// Too many attempts (`rate_limited`); `Retry-After` says when to try again.
    RateLimited,
    /// The store is unavailable or the server busy (`unavailable`); try again shortly.
    Unavailable,
}
