//! The guard in front of `/mcp`: a request passes with an access token issued for this
//! resource under a live grant of a user who still exists, and carries that
//! [`GrantCaller`] in its extensions; anything else is 401 with the challenge that
//! points the client at the protected resource metadata (RFC 9728 §5.1).
//!
//! Store reads per request: one (`Store::grant_caller`), plus `touch_grant`'s
//! conditional write at most once a minute per grant.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::{Scope, Scopes};
use http::{HeaderValue, header};
use store::{GrantId, UserId};

use super::PROTECTED_RESOURCE_METADATA_PATH;
use crate::error::{ApiError, ApiResult};
use crate::extract::bearer_token;
use crate::{App, GrantCaller, SharedApp, summary};

/// Why a request was refused at the guard.
enum Refused {
    /// No bearer token at all.
    NoToken,
    /// A token was sent, and it is no good here.
    InvalidToken,
    /// The store failed (503, not a challenge).
    Store(ApiError),
}

/// Middleware: `axum::middleware::from_fn_with_state(app, require_grant)` in front of
/// the MCP service.
pub async fn require_grant(State(app): State<SharedApp>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let outcome = match bearer_token(&parts) {
        None => Err(Refused::NoToken),
        Some(token) => app.grant_caller(token).await,
    };
    match outcome {
        Ok(caller) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(Refused::Store(error)) => error.into_response(),
        Err(Refused::NoToken) => app.challenge(false),
        Err(Refused::InvalidToken) => app.challenge(true),
    }
}

impl App {
    async fn grant_caller(&self, token: &str) -> Result<GrantCaller, Refused> {
        let audience = self.oauth_audience();
        let claims = self
            .tokens
            .verify_grant_token(token, &audience)
            .map_err(|error| {
                tracing::info!(%error, "MCP token refused");
                Refused::InvalidToken
            })?;
        let (Some(user_id), Some(grant_id)) = (claims.user_id(), GrantId::parse(&claims.gid))
        else {
            return Err(Refused::InvalidToken);
        };
        let user_id = UserId(user_id);
        let found: ApiResult<_> = self
            .store
            .grant_caller(user_id, &grant_id)
            .await
            .map_err(ApiError::from);
        let Some((user, grant)) = found.map_err(Refused::Store)? else {
            tracing::info!(
                user_id = user_id.0,
                "MCP token of a missing grant or user refused"
            );
            return Err(Refused::InvalidToken);
        };
        summary::identify(user.id);
        if !grant.is_live() {
            tracing::info!(user_id = user_id.0, "MCP token of a revoked grant refused");
            return Err(Refused::InvalidToken);
        }
        // A token asking fewer scopes than its grant holds gets only those.
        let token_scopes = Scopes::parse(&claims.scope).map_err(|_| Refused::InvalidToken)?;
        let mut grant = grant;
        grant.scopes = grant.scopes.intersect(token_scopes);
        if grant.scopes.is_empty() {
            return Err(Refused::InvalidToken);
        }
        self.store
            .touch_grant(user_id, &grant.id, self.now().unix_timestamp())
            .await
            .map_err(|error| Refused::Store(error.into()))?;
        Ok(GrantCaller { user, grant })
    }

    /// 401 with `WWW-Authenticate: Bearer resource_metadata=..., scope=...`, and
    /// `error="invalid_token"` when a token was sent (RFC 6750 §3.1).
    fn challenge(&self, token_sent: bool) -> Response {
        let scope = Scope::ALL.map(Scope::as_str).join(" ");
        let mut value = format!(
            "Bearer resource_metadata=\"{}\", scope=\"{scope}\"",
            self.links.to(PROTECTED_RESOURCE_METADATA_PATH)
        );
        if token_sent {
            value.push_str(", error=\"invalid_token\"");
        }
        let mut response = ApiError::Unauthorized.into_response();
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
