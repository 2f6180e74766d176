//! The `mcp` Lambda: answers `POST /mcp`, the memory tools over MCP Streamable HTTP.
//!
//! The router is `api::mcp::guarded_router` (the same one local-dev mounts): the OAuth
//! guard (an access token for this resource, its grant live) in front of the stateless
//! MCP service, so any instance answers any request, accepting only the public origin's
//! host (and loopback); `lambda::run_router` reads the configuration, connects to
//! DynamoDB and serves it.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::run_router(|app, config| {
        api::mcp::guarded_router(
            app,
            api::mcp::allowed_hosts(config.public_origin.as_deref()),
        )
    })
    .await
}
