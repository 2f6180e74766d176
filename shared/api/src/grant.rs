//! The caller of `/mcp`: an agent holding an access token issued under a grant.

use store::{ContextName, Grant, Scope, User, UserId};

/// A request whose access token verified for the MCP resource (`aud` = `<origin>/mcp`),
/// whose grant is live, from a user who still exists; anything else is 401 before the
/// MCP service sees it. The authentication layer in front of `/mcp` puts it in the
/// request's extensions; the tools read it from there (rmcp hands them the request's
/// `http::request::Parts`). `user` and `grant` are as the store has them now, so a
/// revocation, a removal or a demotion holds from the next request on.
#[derive(Debug, Clone)]
pub struct GrantCaller {
    pub user: User,
    pub grant: Grant,
}

impl GrantCaller {
    /// Whether the grant holds `scope`.
    pub fn may(&self, scope: Scope) -> bool {
        self.grant.scopes.contains(scope)
    }

    /// Whether the grant reaches the context `name` of `owner`; a context it does not
    /// reach is invisible to the agent (listed nowhere, 404-like everywhere).
    pub fn reaches(&self, owner: UserId, name: &ContextName) -> bool {
        self.grant.contexts.includes(owner, name)
    }
}
