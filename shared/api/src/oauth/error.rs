//! The OAuth endpoints' refusals, in the RFCs' shape: `{"error","error_description"}`
//! (RFC 6749 §5.2, RFC 7591 §3.2.2), never cached.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::reply::json;

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    /// The client is unknown (public clients do not authenticate otherwise).
    #[error("Unknown client_id: register the client first.")]
    InvalidClient,
    /// The code or refresh token is unknown, used, expired, revoked, or was issued to
    /// another client, redirect URI or resource, or the PKCE verifier does not match.
    #[error("{0}")]
    InvalidGrant(String),
    #[error("The grant_type must be authorization_code or refresh_token.")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidScope(String),
    /// RFC 8707: the `resource` is not this server's.
    #[error("{0}")]
    InvalidTarget(String),
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("{0}")]
    InvalidClientMetadata(String),
}

impl OAuthError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidTarget(_) => "invalid_target",
            Self::InvalidRedirectUri(_) => "invalid_redirect_uri",
            Self::InvalidClientMetadata(_) => "invalid_client_metadata",
        }
    }

    pub(crate) fn invalid_grant() -> Self {
        Self::InvalidGrant(
            "The code or refresh token is invalid, used, expired or revoked, or was issued for another client, redirect_uri or resource."
                .into(),
        )
    }
}

/// An OAuth endpoint's error body.
#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`,
    /// `invalid_scope`, `invalid_target`, `invalid_redirect_uri`, `invalid_client_metadata`.
    pub error: &'static str,
    pub error_description: String,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        json(
            self.status(),
            &OAuthErrorBody {
                error: self.code(),
                error_description: self.to_string(),
            },
        )
    }
}
