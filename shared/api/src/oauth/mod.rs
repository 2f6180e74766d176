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
mod error;
mod grants;
pub mod guard;
mod metadata;
mod params;
mod register;
mod token;

use claims::grant::GrantAudience;

pub use error::OAuthError;
pub use guard::require_grant;
pub(crate) use {authorize::*, grants::*, metadata::*, register::*, token::*};

use crate::App;

/// Where `/mcp`'s protected resource metadata is (RFC 9728 §3.1: the resource's path
/// after the well-known prefix).
pub const PROTECTED_RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
/// The path of the protected resource itself.
pub const RESOURCE_PATH: &str = "/mcp";

impl App {
    /// The issuer and the MCP resource of this deployment, from its public origin.
    pub(crate) fn oauth_audience(&self) -> GrantAudience {
        GrantAudience {
            issuer: self.links.to(""),
            resource: self.links.to(RESOURCE_PATH),
        }
    }
}
