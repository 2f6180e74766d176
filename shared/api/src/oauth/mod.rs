//! The OAuth 2.1 authorization server in front of `/mcp` (MCP authorization, contract
//! `remote-mcp.md`): metadata (RFC 9728, RFC 8414), dynamic client registration
//! (RFC 7591, public clients only), the code flow with PKCE `S256` (a consent page, then
//! a code bound to its client, redirect URI, challenge and resource), the token endpoint
//! (codes and rotating refresh tokens; a replayed refresh token ends the grant), token
//! revocation (RFC 7009), the user's list of connected apps, and [`require_grant`], the
//! guard in front of `/mcp`.
//!
//! The issuer is the origin (`Links`), the protected resource `<origin>/mcp`. A grant is
//! made when its code is exchanged (a consent that is never exchanged leaves nothing
//! behind but a code that expires in 60 s); its tokens are in `claims::grant`.

mod authorize;
pub mod client_metadata;
mod error;
mod grants;
pub mod guard;
mod metadata;
mod params;
mod register;
mod token;

use claims::grant::GrantAudience;

pub use client_metadata::{ClientMetadataFetcher, FetchError, HttpFetcher, NoClientMetadata};
pub use error::OAuthError;
pub use guard::require_grant;
pub(crate) use {authorize::*, grants::*, metadata::*, register::*, token::*};

use store::{OAuthClient, StoreError};

use crate::App;
use crate::error::ApiResult;

/// Where `/mcp`'s protected resource metadata is (RFC 9728 §3.1: the resource's path
/// after the well-known prefix).
pub const PROTECTED_RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
/// The path of the protected resource itself.
pub const RESOURCE_PATH: &str = "/mcp";

/// Where a metadata document's client comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientLookup {
    /// As the store keeps it (the token endpoint: the consent kept it).
    Stored,
    /// Fetched now, kept nowhere (the consent page, which anyone may ask for: no write).
    Fetched,
    /// Fetched now and kept if new (the user's consent).
    FetchedAndKept,
}

impl App {
    /// The issuer and the MCP resource of this deployment, from its public origin.
    pub(crate) fn oauth_audience(&self) -> GrantAudience {
        GrantAudience {
            issuer: self.links.to(""),
            resource: self.links.to(RESOURCE_PATH),
        }
    }

    /// The client `client_id` names: a registered one, or one a metadata document at
    /// that URL describes, as `lookup` says. `None` if there is no such client or its
    /// document is no good.
    pub(crate) async fn oauth_client(
        &self,
        client_id: &str,
        lookup: ClientLookup,
    ) -> ApiResult<Option<OAuthClient>> {
        if lookup == ClientLookup::Stored || !client_metadata::is_document_url(client_id) {
            return Ok(self.store.client(client_id).await?);
        }
        let Ok(url) = url::Url::parse(client_id) else {
            return Ok(None);
        };
        let now = self.now().unix_timestamp();
        let client = match self.client_metadata.fetch(&url).await {
            Ok(body) => client_metadata::parse_document(client_id, &body, now),
            Err(error) => Err(error),
        };
        match client {
            Ok(client) => {
                if lookup == ClientLookup::FetchedAndKept {
                    // Kept as first seen, for the exchange and the connected apps list.
                    match self.store.register_client(&client).await {
                        Ok(()) | Err(StoreError::Conflict) => {}
                        Err(error) => return Err(error.into()),
                    }
                }
                Ok(Some(client))
            }
            Err(error) => {
                tracing::info!(%error, "client metadata document refused");
                Ok(None)
            }
        }
    }
}
