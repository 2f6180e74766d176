//! The `oauth` Lambda: the OAuth 2.1 authorization server of `/mcp`: its metadata
//! (`/.well-known/oauth-*`), client registration, the consent page and decision
//! (`/oauth/authorize`), `/oauth/token`, `/oauth/revoke`, and the user's connected
//! apps (`/auth/grants`).
//!
//! The routes are `api::routes::plain::oauth` (the same routes local-dev mounts, without
//! their OpenAPI documentation);
//! `lambda::run_equipped` reads the configuration, connects to DynamoDB, adds the
//! fetcher of client metadata documents and serves them.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::run_equipped(api::routes::plain::oauth, lambda::fetching_client_metadata).await
}
