//! What the tests do with rmcp's client, whichever transport it runs over (`mem0 mcp`
//! on stdio, local-dev's `/mcp` over Streamable HTTP).

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use serde_json::Value;

pub type Client = RunningService<RoleClient, ()>;

/// `tools/call` of `tool` with the JSON object `arguments`.
pub async fn call(client: &Client, tool: &'static str, arguments: Value) -> CallToolResult {
    let arguments = arguments.as_object().expect("object").clone();
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
        .expect("tools/call answers")
}

/// The first text content of a tool's result.
pub fn text(result: &CallToolResult) -> &str {
    result
        .content
        .first()
        .and_then(|content| content.as_text())
        .map(|text| text.text.as_str())
        .expect("a text result")
}
