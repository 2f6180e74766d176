//! The `mcp` Lambda: answers `POST /mcp`, the memory tools over MCP Streamable HTTP.
//!
//! The router is `api::mcp::router` (the same one local-dev mounts), stateless so any
//! instance answers any request, and accepting only the public origin's host (and
//! loopback); `lambda::run_router` reads the configuration, connects to DynamoDB and
//! serves it.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::run_router(|app, config| api::mcp::router(app, api::mcp::allowed_hosts(config))).await
}
