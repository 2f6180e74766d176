//! local-dev's `/mcp` driven by rmcp's own client over Streamable HTTP, with an access
//! token from the OAuth flow as the bearer: the tools an agent sees, a memory's round
//! trip, and what a grant's scopes, contexts and revocation allow.

#[allow(dead_code)]
mod support;

use reqwest::{Method, StatusCode};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use support::Server;
use support::mcp::{Client, call, text};
use support::oauth::connect;

/// An MCP client on `server`'s `/mcp` with `access_token` in its Authorization header,
/// initialized.
async fn mcp_client(server: &Server, access_token: &str) -> Client {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", server.url))
        .auth_header(access_token);
    let transport = StreamableHttpClientTransport::from_config(config);
    ().serve(transport).await.expect("MCP initialize succeeds")
}

/// A user with the contexts `names`, made over REST: (email, REST token).
async fn user_with_contexts(server: &Server, names: &[&str]) -> (String, String) {
    let (email, token) = server.new_user().await;
    for name in names {
        server
            .post("/contexts", Some(&token), json!({"name": name}))
            .await
            .expect(StatusCode::CREATED);
    }
    (email, token)
}

#[track_caller]
fn ok_json(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {}", text(result));
    let parsed: Value = serde_json::from_str(text(result)).expect("JSON text");
    if let Some(structured) = &result.structured_content {
        assert_eq!(structured, &parsed, "structured content matches the text");
    }
    parsed
}

#[track_caller]
fn tool_error(result: &CallToolResult, says: &str) {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected a tool error: {result:?}"
    );
    assert!(text(result).contains(says), "{says:?} missing: {result:?}");
}

/// The texts of a context's memories, read over REST by its owner.
async fn memory_texts(server: &Server, token: &str, context: &str) -> Vec<String> {
    let listed = server
        .get(&format!("/contexts/{context}/memories"), token)
        .await;
    listed.expect(StatusCode::OK)["memories"]
        .as_array()
        .expect("memories")
        .iter()
        .map(|memory| memory["text"].as_str().expect("text").to_owned())
        .collect()
}

#[tokio::test]
async fn initialize_lists_the_shared_tools_and_a_memory_round_trips() {
    let server = Server::start();
    let (_, token) = user_with_contexts(&server, &["notes"]).await;
    let connection = connect(
        &server,
        &token,
        "rmcp agent",
        json!(["memories:read", "memories:write"]),
        json!(["notes"]),
    )
    .await;
    let client = mcp_client(&server, &connection.access_token).await;

    let info = client.peer_info().expect("initialize result");
    assert_eq!(
        info.server_info.as_ref().map(|server| server.name.as_str()),
        Some("mem0")
    );
    assert!(info.capabilities.tools.is_some());
    let mut listed: Vec<String> = client
        .list_all_tools()
        .await
        .expect("tools/list")
        .iter()
        .map(|tool| tool.name.to_string())
        .collect();
    listed.sort();
    let mut defined: Vec<String> = mcp_tools::tools()
        .iter()
        .map(|tool| tool.name.to_string())
        .collect();
    defined.sort();
    assert_eq!(listed, defined);

    let remembered = ok_json(
        &call(
            &client,
            "remember",
            json!({"context": "notes", "text": "the deploy key rotates on Mondays",
                   "tags": ["ops"]}),
        )
        .await,
    );
    let id = remembered["id"].as_str().expect("the memory's id");
    assert_eq!(remembered["tags"], json!(["ops"]));
    let recalled = ok_json(
        &call(
            &client,
            "recall",
            json!({"context": "notes", "query": "deploy"}),
        )
        .await,
    );
    let memories = recalled["memories"].as_array().expect("memories");
    assert_eq!(memories.len(), 1, "{recalled}");
    assert_eq!(memories[0]["id"], id);
    assert_eq!(memories[0]["text"], "the deploy key rotates on Mondays");
    assert_eq!(
        memory_texts(&server, &token, "notes").await,
        ["the deploy key rotates on Mondays"]
    );
    client.cancel().await.expect("the client closes");
}

#[tokio::test]
async fn a_read_only_grant_cannot_remember_and_nothing_is_written() {
    let server = Server::start();
    let (_, token) = user_with_contexts(&server, &["notes"]).await;
    let connection = connect(
        &server,
        &token,
        "reader",
        json!(["memories:read"]),
        json!(["notes"]),
    )
    .await;
    let client = mcp_client(&server, &connection.access_token).await;

    let refused = call(
        &client,
        "remember",
        json!({"context": "notes", "text": "should not be kept"}),
    )
    .await;
    tool_error(&refused, "memories:write");
    assert!(memory_texts(&server, &token, "notes").await.is_empty());
    // Reading is what it was granted.
    let recalled = ok_json(&call(&client, "recall", json!({"context": "notes"})).await);
    assert_eq!(recalled["memories"], json!([]));
    client.cancel().await.expect("the client closes");
}

#[tokio::test]
async fn a_grant_for_one_context_finds_no_other() {
    let server = Server::start();
    let (_, token) = user_with_contexts(&server, &["alpha", "beta"]).await;
    server
        .post(
            "/contexts/beta/memories",
            Some(&token),
            json!({"text": "beta's secret"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let connection = connect(
        &server,
        &token,
        "alpha only",
        json!(["memories:read", "memories:write"]),
        json!(["alpha"]),
    )
    .await;
    let client = mcp_client(&server, &connection.access_token).await;

    let refused = call(&client, "recall", json!({"context": "beta"})).await;
    tool_error(&refused, "No context beta");
    assert!(!text(&refused).contains("beta's secret"), "{refused:?}");
    let refused = call(
        &client,
        "remember",
        json!({"context": "beta", "text": "slipped in"}),
    )
    .await;
    tool_error(&refused, "No context beta");
    assert_eq!(
        memory_texts(&server, &token, "beta").await,
        ["beta's secret"]
    );
    // The granted context works as usual.
    let recalled = ok_json(&call(&client, "recall", json!({"context": "alpha"})).await);
    assert_eq!(recalled["memories"], json!([]));
    client.cancel().await.expect("the client closes");
}

#[tokio::test]
async fn after_the_grant_is_revoked_the_next_call_is_401() {
    let server = Server::start();
    let (_, token) = user_with_contexts(&server, &["notes"]).await;
    let connection = connect(
        &server,
        &token,
        "soon gone",
        json!(["memories:read"]),
        json!(["notes"]),
    )
    .await;
    let client = mcp_client(&server, &connection.access_token).await;
    ok_json(&call(&client, "recall", json!({"context": "notes"})).await);

    let grants = server.get("/auth/grants", &token).await;
    let grants = grants.expect(StatusCode::OK)["grants"]
        .as_array()
        .expect("grants")
        .clone();
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0]["client_id"], connection.client_id.as_str());
    let grant_id = grants[0]["grant_id"].as_str().expect("grant_id");
    server
        .delete(&format!("/auth/grants/{grant_id}"), &token)
        .await
        .expect(StatusCode::OK);

    let refused = client
        .call_tool(
            CallToolRequestParams::new("recall").with_arguments(
                json!({"context": "notes"})
                    .as_object()
                    .expect("object")
                    .clone(),
            ),
        )
        .await;
    let error = refused.expect_err("a revoked grant's token is refused");
    // The transport's 401 with a challenge: the token, not the request, is refused.
    assert!(
        error.to_string().ends_with("Auth required"),
        "not a 401: {error:?}"
    );
    assert!(
        format!("{error:?}").contains(r#"error=\"invalid_token\""#),
        "the challenge says why: {error:?}"
    );
    // The same token, as any HTTP client sends it: 401 with the challenge to start over.
    let request = server
        .request(Method::POST, "/mcp")
        .bearer_auth(&connection.access_token)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}));
    let reply = server.raw(request).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{:?}", reply.body);
    let challenge = reply.headers["www-authenticate"]
        .to_str()
        .expect("ASCII header");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
}
