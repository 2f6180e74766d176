//! `POST /oauth/token` (RFC 6749 §4.1.3 and §6, form-encoded) and `POST /oauth/revoke`
//! (RFC 7009).
//!
//! A code is used up (deleted, atomically, once) before anything else about it is
//! checked, so a code presented with a wrong verifier, client, redirect URI or resource
//! is gone too, and of concurrent exchanges of one code exactly one succeeds. The grant
//! is made at the exchange. A refresh moves the grant's generation on with one
//! conditional write; an older generation is a replayed token and ends the grant.

use std::collections::HashMap;

use axum::extract::State;
use bytes::Bytes;
use claims::grant::GrantSubject;
use serde::{Deserialize, Serialize};
use store::{Grant, GrantId, GrantRotation, Scopes, UserId};
use utoipa::ToSchema;

use super::OAuthError;
use super::error::OAuthErrorBody;
use super::{ClientLookup, params};
use crate::error::{self, ApiError, ApiResult};
use crate::extract::ClientAddr;
use crate::reply::{Done, Reply, Succeeded};
use crate::throttle::AddressAttempt;
use crate::{App, SharedApp};

/// A form body's fields; a field given twice is refused (RFC 6749 §3.2).
struct Form(HashMap<String, String>);

impl Form {
    fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut fields = HashMap::new();
        for (key, value) in form_urlencoded::parse(body) {
            if fields
                .insert(key.clone().into_owned(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::InvalidRequest(format!(
                    "The parameter {key} is given twice."
                )));
            }
        }
        Ok(Self(fields))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    fn required(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)
            .ok_or_else(|| OAuthError::InvalidRequest(format!("The parameter {key} is required.")))
    }
}

/// `POST /oauth/token`'s form, as documented; [`Form`] reads it.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct TokenRequest {
    /// `authorization_code` or `refresh_token`
    grant_type: String,
    /// authorization_code: the code from the redirect.
    code: Option<String>,
    /// authorization_code: the PKCE verifier.
    code_verifier: Option<String>,
    /// authorization_code: the redirect_uri of the authorization request.
    redirect_uri: Option<String>,
    client_id: String,
    /// `<origin>/mcp` if given.
    resource: Option<String>,
    /// refresh_token: the refresh token.
    refresh_token: Option<String>,
    /// refresh_token: fewer scopes than granted, if wanted.
    scope: Option<String>,
}

/// The tokens (RFC 6749 §5.1).
#[derive(Serialize, ToSchema)]
pub struct Tokens {
    /// A JWT for `<origin>/mcp`.
    access_token: String,
    /// `Bearer`
    token_type: &'static str,
    /// Seconds the access token lives.
    expires_in: u64,
    /// Opaque; each is good for one refresh.
    refresh_token: String,
    /// The granted scopes, space-separated.
    scope: String,
}

impl App {
    /// Access and refresh tokens for `grant` at its generation; `scopes` may be fewer
    /// than the grant's.
    fn grant_tokens(&self, grant: &Grant, scopes: Scopes) -> ApiResult<Tokens> {
        let scope = scopes.to_scope_string();
        let (access_token, _) = self
            .tokens
            .issue_grant_token(
                GrantSubject {
                    user_id: grant.user_id.0,
                    grant_id: grant.id.to_string(),
                    scope: scope.clone(),
                    client_id: grant.client_id.clone(),
                },
                &self.oauth_audience(),
            )
            .map_err(|error| {
                tracing::error!(%error, "token signing failed");
                ApiError::Internal
            })?;
        let refresh_token = self
            .tokens
            .grant_refresh_token(grant.user_id.0, grant.id.as_str(), grant.generation)
            .ok_or_else(|| {
                tracing::error!("no key may sign now");
                ApiError::Internal
            })?;
        Ok(Tokens {
            access_token,
            token_type: "Bearer",
            expires_in: self.tokens.grant_lifetime().as_secs(),
            refresh_token,
            scope,
        })
    }

    /// RFC 8707: a `resource` other than `expected` is refused.
    fn check_resource(&self, form: &Form, expected: &str) -> Result<(), OAuthError> {
        match form.get("resource") {
            Some(resource) if resource != expected => Err(OAuthError::InvalidTarget(
                "The resource is not the one this grant is for.".into(),
            )),
            _ => Ok(()),
        }
    }

    async fn exchange_code(&self, form: &Form) -> ApiResult<Tokens> {
        let code = form.required("code")?;
        let verifier = form.required("code_verifier")?;
        let redirect_uri = form.required("redirect_uri")?;
        let client_id = form.required("client_id")?;
        let client = self
            .oauth_client(client_id, ClientLookup::Stored)
            .await?
            .ok_or(OAuthError::InvalidClient)?;
        let now = self.now().unix_timestamp();
        let Some(stored) = self
            .store
            .use_authorization_code(&params::code_digest(code), now)
            .await?
        else {
            return Err(OAuthError::invalid_grant().into());
        };
        if stored.client_id != client.client_id || stored.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant().into());
        }
        self.check_resource(form, &stored.resource)?;
        if !params::pkce_matches(verifier, &stored.code_challenge) {
            return Err(
                OAuthError::InvalidGrant("The code_verifier does not match.".into()).into(),
            );
        }
        let grant = Grant {
            id: GrantId::generate(),
            user_id: stored.user_id,
            client_id: client.client_id,
            client_name: client.client_name,
            scopes: stored.scopes,
            contexts: stored.contexts,
            created_at: now,
            last_used_at: now,
            generation: 0,
            revoked_at: None,
        };
        self.store.create_grant(&grant).await?;
        self.grant_tokens(&grant, grant.scopes)
    }

    async fn refresh_grant(&self, form: &Form) -> ApiResult<Tokens> {
        let token = form.required("refresh_token")?;
        let client_id = form.required("client_id")?;
        if self
            .oauth_client(client_id, ClientLookup::Stored)
            .await?
            .is_none()
        {
            return Err(OAuthError::InvalidClient.into());
        }
        let Some((user_id, grant_id, generation)) =
            self.tokens.verify_grant_refresh(token).and_then(|refresh| {
                GrantId::parse(&refresh.grant_id)
                    .map(|id| (UserId(refresh.user_id), id, refresh.generation))
            })
        else {
            return Err(OAuthError::invalid_grant().into());
        };
        let Some((_, grant)) = self.store.grant_caller(user_id, &grant_id).await? else {
            return Err(OAuthError::invalid_grant().into());
        };
        if grant.client_id != client_id || !grant.is_live() {
            return Err(OAuthError::invalid_grant().into());
        }
        self.check_resource(form, &self.oauth_audience().resource)?;
        let scopes = match form.get("scope") {
            None => grant.scopes,
            Some(raw) => Scopes::parse(raw)
                .ok()
                .filter(|asked| asked.intersect(grant.scopes) == *asked)
                .ok_or_else(|| {
                    OAuthError::InvalidScope("Ask at most the scopes of the grant.".into())
                })?,
        };
        let now = self.now().unix_timestamp();
        match self
            .store
            .rotate_grant(user_id, &grant_id, generation, now)
            .await?
        {
            GrantRotation::Rotated(grant) => self.grant_tokens(&grant, scopes),
            GrantRotation::Reused => {
                tracing::warn!(user_id = user_id.0, grant_id = %grant_id, "refresh token replayed: grant revoked");
                Err(OAuthError::invalid_grant().into())
            }
            GrantRotation::Gone => Err(OAuthError::invalid_grant().into()),
        }
    }

    /// The grant a refresh or access token of ours names, if any.
    fn grant_of_token(&self, token: &str) -> Option<(UserId, GrantId)> {
        if let Some(refresh) = self.tokens.verify_grant_refresh(token) {
            return GrantId::parse(&refresh.grant_id).map(|id| (UserId(refresh.user_id), id));
        }
        let claims = self
            .tokens
            .verify_grant_token(token, &self.oauth_audience())
            .ok()?;
        Some((UserId(claims.user_id()?), GrantId::parse(&claims.gid)?))
    }
}

/// Exchanges a code, or refreshes; counted per client address.
#[utoipa::path(post, path = "/oauth/token", tag = "oauth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The tokens", body = Tokens),
        (status = 400, description = "RFC 6749 error: `invalid_request`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`, `invalid_target`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: unknown client_id", body = OAuthErrorBody),
        (status = 429, response = error::RateLimited),
    ))]
pub async fn token(
    State(app): State<SharedApp>,
    client: ClientAddr,
    body: Bytes,
) -> ApiResult<Reply<Tokens>> {
    let form = Form::parse(&body)?;
    AddressAttempt::oauth_token(&client.0, &app.limits, app.now())
        .reserve(&*app.store)
        .await?;
    let tokens = match form.get("grant_type") {
        Some("authorization_code") => app.exchange_code(&form).await?,
        Some("refresh_token") => app.refresh_grant(&form).await?,
        Some(_) => return Err(OAuthError::UnsupportedGrantType.into()),
        None => {
            return Err(OAuthError::InvalidRequest("The grant_type is required.".into()).into());
        }
    };
    Ok(Reply::ok(tokens))
}

/// `POST /oauth/revoke`'s form, as documented; [`Form`] reads it.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct RevokeRequest {
    /// A refresh token or an access token; either ends its grant.
    token: String,
    /// Ignored: both kinds are recognised.
    token_type_hint: Option<String>,
    /// If given, the grant's client must be this one.
    client_id: Option<String>,
}

/// Ends the grant of a refresh or access token (RFC 7009); 200 whatever the token was.
#[utoipa::path(post, path = "/oauth/revoke", tag = "oauth",
    request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke", body = Done),
        (status = 400, description = "`invalid_request`: no token", body = OAuthErrorBody),
    ))]
pub async fn revoke(State(app): State<SharedApp>, body: Bytes) -> ApiResult<Reply<Done>> {
    let form = Form::parse(&body)?;
    let token = form.required("token")?;
    if let Some((user_id, grant_id)) = app.grant_of_token(token) {
        let owned = match form.get("client_id") {
            None => true,
            Some(client_id) => app
                .store
                .grant_caller(user_id, &grant_id)
                .await?
                .is_some_and(|(_, grant)| grant.client_id == client_id),
        };
        if owned {
            app.store
                .revoke_grant(user_id, &grant_id, app.now().unix_timestamp())
                .await?;
        }
    }
    Ok(Reply::ok(Done { success: Succeeded }))
}
