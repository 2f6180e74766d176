//! `POST /oauth/register`: dynamic client registration (RFC 7591), public clients only.

use axum::extract::State;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use store::OAuthClient;
use utoipa::ToSchema;

use super::OAuthError;
use super::error::OAuthErrorBody;
use super::params::{self, MAX_REDIRECT_URIS};
use crate::SharedApp;
use crate::error::{self, ApiResult};
use crate::extract::ClientAddr;
use crate::reply::Reply;
use crate::throttle::AddressAttempt;

const GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];

/// RFC 7591 client metadata; fields not listed are ignored.
#[derive(Deserialize, ToSchema)]
pub struct Registration {
    /// 1 to 10 exact URIs: `https`, `http` on a loopback host, or an app's own scheme
    /// (`cursor://...`); no fragment; each at most 2,000 bytes.
    redirect_uris: Vec<String>,
    /// At most 100 characters; "Unnamed app" if absent.
    client_name: Option<String>,
    /// `none` (public clients) if given.
    token_endpoint_auth_method: Option<String>,
    /// A subset of `authorization_code`, `refresh_token`.
    grant_types: Option<Vec<String>>,
    /// `code` if given.
    response_types: Option<Vec<String>>,
}

/// The registered client (RFC 7591 §3.2.1).
#[derive(Serialize, ToSchema)]
pub struct Registered {
    /// A ULID.
    client_id: String,
    client_id_issued_at: i64,
    client_name: String,
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    response_types: Vec<String>,
    token_endpoint_auth_method: &'static str,
}

struct ClientMetadata {
    client_name: String,
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    response_types: Vec<String>,
}

fn parse(body: &[u8]) -> Result<ClientMetadata, OAuthError> {
    let registration: Registration = serde_json::from_slice(body).map_err(|_| {
        OAuthError::InvalidClientMetadata(
            "The body must be a JSON object with redirect_uris (an array of strings).".into(),
        )
    })?;
    if registration.redirect_uris.is_empty() || registration.redirect_uris.len() > MAX_REDIRECT_URIS
    {
        return Err(OAuthError::InvalidRedirectUri(format!(
            "Register 1 to {MAX_REDIRECT_URIS} redirect_uris."
        )));
    }
    for uri in &registration.redirect_uris {
        params::check_redirect_uri(uri).map_err(OAuthError::InvalidRedirectUri)?;
    }
    if registration
        .token_endpoint_auth_method
        .as_deref()
        .is_some_and(|method| method != "none")
    {
        return Err(OAuthError::InvalidClientMetadata(
            "Only public clients register here: token_endpoint_auth_method is none.".into(),
        ));
    }
    let grant_types = registration
        .grant_types
        .unwrap_or_else(|| GRANT_TYPES.map(str::to_owned).to_vec());
    if grant_types.is_empty()
        || !grant_types
            .iter()
            .all(|grant| GRANT_TYPES.contains(&grant.as_str()))
    {
        return Err(OAuthError::InvalidClientMetadata(
            "grant_types is a subset of authorization_code, refresh_token.".into(),
        ));
    }
    let response_types = registration
        .response_types
        .unwrap_or_else(|| vec!["code".to_owned()]);
    if response_types.is_empty() || response_types.iter().any(|kind| kind != "code") {
        return Err(OAuthError::InvalidClientMetadata(
            "response_types is [\"code\"].".into(),
        ));
    }
    let client_name =
        params::client_name(registration.client_name.as_deref()).ok_or_else(|| {
            OAuthError::InvalidClientMetadata(format!(
                "client_name is at most {} characters.",
                params::MAX_CLIENT_NAME_CHARS
            ))
        })?;
    Ok(ClientMetadata {
        client_name,
        redirect_uris: registration.redirect_uris,
        grant_types,
        response_types,
    })
}

/// Registers a public client; registrations are counted per client address.
#[utoipa::path(post, path = "/oauth/register", tag = "oauth",
    request_body = Registration,
    responses(
        (status = 201, description = "The client is registered", body = Registered),
        (status = 400, description = "`invalid_redirect_uri` or `invalid_client_metadata`", body = OAuthErrorBody),
        (status = 429, response = error::RateLimited),
    ))]
pub async fn register(
    State(app): State<SharedApp>,
    client: ClientAddr,
    body: Bytes,
) -> ApiResult<Reply<Registered>> {
    let metadata = parse(&body)?;
    let now = app.now();
    AddressAttempt::oauth_registration(&client.0, &app.limits, now)
        .reserve(&*app.store)
        .await?;
    let registered = OAuthClient {
        client_id: ulid::Ulid::new().to_string(),
        client_name: metadata.client_name,
        redirect_uris: metadata.redirect_uris,
        created_at: now.unix_timestamp(),
    };
    app.store.register_client(&registered).await?;
    Ok(Reply::created(Registered {
        client_id: registered.client_id,
        client_id_issued_at: registered.created_at,
        client_name: registered.client_name,
        redirect_uris: registered.redirect_uris,
        grant_types: metadata.grant_types,
        response_types: metadata.response_types,
        token_endpoint_auth_method: "none",
    }))
}
