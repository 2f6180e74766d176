//! Discovery: the protected resource's metadata (RFC 9728) and the authorization
//! server's (RFC 8414), from the deployment's origin.

use axum::extract::State;
use domain::Scope;
use serde::Serialize;
use utoipa::ToSchema;

use crate::SharedApp;
use crate::reply::Reply;

/// RFC 9728 protected resource metadata of `/mcp`.
#[derive(Serialize, ToSchema)]
pub struct ResourceMetadata {
    /// `<origin>/mcp`
    resource: String,
    /// `[<origin>]`
    authorization_servers: Vec<String>,
    scopes_supported: Vec<&'static str>,
    bearer_methods_supported: Vec<&'static str>,
}

/// RFC 8414 authorization server metadata.
#[derive(Serialize, ToSchema)]
pub struct ServerMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    registration_endpoint: String,
    revocation_endpoint: String,
    response_types_supported: Vec<&'static str>,
    grant_types_supported: Vec<&'static str>,
    code_challenge_methods_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    scopes_supported: Vec<&'static str>,
    client_id_metadata_document_supported: bool,
}

fn scopes() -> Vec<&'static str> {
    Scope::ALL.into_iter().map(Scope::as_str).collect()
}

fn resource_metadata(app: &SharedApp) -> Reply<ResourceMetadata> {
    let audience = app.oauth_audience();
    Reply::ok(ResourceMetadata {
        resource: audience.resource,
        authorization_servers: vec![audience.issuer],
        scopes_supported: scopes(),
        bearer_methods_supported: vec!["header"],
    })
}

/// Where `/mcp`'s tokens come from (RFC 9728).
#[utoipa::path(get, path = "/.well-known/oauth-protected-resource/mcp", tag = "oauth",
    responses((status = 200, description = "The protected resource metadata of /mcp", body = ResourceMetadata)))]
pub async fn protected_resource(State(app): State<SharedApp>) -> Reply<ResourceMetadata> {
    resource_metadata(&app)
}

/// The same document at the root of the well-known prefix, for clients that look there.
#[utoipa::path(get, path = "/.well-known/oauth-protected-resource", tag = "oauth",
    responses((status = 200, description = "The protected resource metadata of /mcp", body = ResourceMetadata)))]
pub async fn protected_resource_root(State(app): State<SharedApp>) -> Reply<ResourceMetadata> {
    resource_metadata(&app)
}

/// The authorization server's endpoints and what it supports (RFC 8414).
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, description = "The authorization server metadata", body = ServerMetadata)))]
pub async fn authorization_server(State(app): State<SharedApp>) -> Reply<ServerMetadata> {
    let links = app.links();
    Reply::ok(ServerMetadata {
        issuer: app.oauth_audience().issuer,
        authorization_endpoint: links.to("/oauth/authorize"),
        token_endpoint: links.to("/oauth/token"),
        registration_endpoint: links.to("/oauth/register"),
        revocation_endpoint: links.to("/oauth/revoke"),
        response_types_supported: vec!["code"],
        grant_types_supported: vec!["authorization_code", "refresh_token"],
        code_challenge_methods_supported: vec!["S256"],
        token_endpoint_auth_methods_supported: vec!["none"],
        revocation_endpoint_auth_methods_supported: vec!["none"],
        scopes_supported: scopes(),
        client_id_metadata_document_supported: true,
    })
}
