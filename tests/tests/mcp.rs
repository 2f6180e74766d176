//! `mem0 mcp` driven over stdio by a real MCP client (rmcp), against a running local-dev.

// Shared with e2e.rs, which uses the parts these tests leave out.
#[allow(dead_code)]
mod support;
// Shared with cli.rs, which also needs spies with other answers.
#[allow(dead_code)]
mod spy;

use std::path::PathBuf;
use std::sync::OnceLock;

use reqwest::StatusCode;
use rmcp::ServiceExt;
use rmcp::model::CallToolResult;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use spy::Spy;
use support::mcp::{Client, call, text};
use support::{Server, expired_token};

fn mem0() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| support::cargo_build("mem0"))
}

/// Starts `mem0 mcp` as an MCP client would, with `env` as its configured environment.
async fn connect(url: &str, env: &[(&str, &str)]) -> (Client, tempfile::TempDir) {
    let config = tempfile::tempdir().expect("temp dir");
    let mut command = tokio::process::Command::new(mem0());
    command
        .arg("mcp")
        .env("MEM0_API_URL", url)
        .env("MEM0_CONFIG_DIR", config.path())
        .env_remove("MEM0_USER_TOKEN")
        .env_remove("MEM0_JWT_TOKEN")
        .envs(env.iter().copied());
    let transport = TokioChildProcess::new(command).expect("mem0 mcp starts");
    let client = ().serve(transport).await.expect("MCP initialize succeeds");
    (client, config)
}

#[track_caller]
fn ok_json(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {}", text(result));
    serde_json::from_str(text(result)).expect("JSON text")
}

#[track_caller]
fn tool_error(result: &CallToolResult, says: &[&str]) {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected a tool error: {result:?}"
    );
    for words in says {
        assert!(
            text(result).contains(words),
            "{words:?} missing: {}",
            text(result)
        );
    }
}

#[tokio::test]
async fn initialize_list_remember_recall_over_stdio() {
    let server = Server::start();
    let (_, token) = server.new_user().await;
    // The seed guide's configuration: the token in MEM0_JWT_TOKEN.
    let (client, _config) = connect(&server.url, &[("MEM0_JWT_TOKEN", &token)]).await;

    let info = client.peer_info().expect("initialize result");
    assert_eq!(
        info.server_info.as_ref().map(|server| server.name.as_str()),
        Some("mem0")
    );
    assert!(info.capabilities.tools.is_some());

    let tools = client.list_all_tools().await.expect("tools/list");
    let mut required: Vec<(String, Vec<String>)> = tools
        .iter()
        .map(|tool| {
            let mut fields: Vec<String> = tool
                .input_schema
                .get("required")
                .and_then(Value::as_array)
                .map(|names| {
                    names
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            fields.sort();
            (tool.name.to_string(), fields)
        })
        .collect();
    required.sort();
    let expected: Vec<(String, Vec<String>)> = [
        ("create_context", vec!["name"]),
        ("forget", vec!["context", "id"]),
        ("list_contexts", vec![]),
        ("recall", vec!["context"]),
        ("remember", vec!["context", "text"]),
    ]
    .into_iter()
    .map(|(name, fields)| {
        (
            name.to_owned(),
            fields.into_iter().map(str::to_owned).collect(),
        )
    })
    .collect();
    assert_eq!(required, expected);
    let remember = tools
        .iter()
        .find(|t| t.name == "remember")
        .expect("remember");
    let properties = remember.input_schema["properties"]
        .as_object()
        .expect("properties");
    assert!(properties.contains_key("tags"), "{properties:?}");

    let created = ok_json(
        &call(
            &client,
            "create_context",
            json!({"name": "my-project", "description": "Notes for my project"}),
        )
        .await,
    );
    assert_eq!(created["name"], "my-project");
    assert_eq!(created["description"], "Notes for my project");
    let contexts = ok_json(&call(&client, "list_contexts", json!({})).await);
    assert_eq!(contexts[0]["name"], "my-project");

    let memory = ok_json(
        &call(
            &client,
            "remember",
            json!({"context": "my-project", "text": "Deploy with sam deploy", "tags": ["ops"]}),
        )
        .await,
    );
    assert_eq!(memory["text"], "Deploy with sam deploy");
    assert_eq!(memory["tags"], json!(["ops"]));
    let id = memory["id"].as_str().expect("id").to_owned();
    ok_json(
        &call(
            &client,
            "remember",
            json!({"context": "my-project", "text": "Lunch at noon"}),
        )
        .await,
    );

    let recalled = ok_json(
        &call(
            &client,
            "recall",
            json!({"context": "my-project", "query": "deploy", "limit": 5}),
        )
        .await,
    );
    let memories = recalled["memories"].as_array().expect("memories");
    assert_eq!(memories.len(), 1, "{recalled}");
    assert_eq!(memories[0]["id"], id.as_str());
    assert_eq!(memories[0]["text"], "Deploy with sam deploy");

    // What the tools did is there for every other client of the API.
    let listed = server.get("/contexts/my-project/memories", &token).await;
    assert_eq!(
        listed.expect(StatusCode::OK)["memories"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    let forgot = call(
        &client,
        "forget",
        json!({"context": "my-project", "id": id}),
    )
    .await;
    assert_ne!(forgot.is_error, Some(true), "{forgot:?}");
    let after = ok_json(
        &call(
            &client,
            "recall",
            json!({"context": "my-project", "query": "deploy"}),
        )
        .await,
    );
    assert_eq!(after["memories"], json!([]));

    tool_error(
        &call(
            &client,
            "remember",
            json!({"context": "no such", "text": "x"}),
        )
        .await,
        &["A context name"],
    );
    tool_error(
        &call(&client, "recall", json!({"context": "missing"})).await,
        &["No context missing"],
    );
    client.cancel().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_missing_or_expired_token_is_a_tool_error_that_says_how_to_fix_it() {
    let server = Server::start();

    let (client, _config) = connect(&server.url, &[]).await;
    let result = call(&client, "list_contexts", json!({})).await;
    tool_error(&result, &["No mem0 token", "MEM0_JWT_TOKEN", "mem0 login"]);
    // The server is still there for the next call.
    assert_eq!(
        client.list_all_tools().await.expect("still serving").len(),
        5
    );
    client.cancel().await.expect("clean shutdown");

    let expired = expired_token("late@example.com");
    let (client, _config) = connect(&server.url, &[("MEM0_JWT_TOKEN", &expired)]).await;
    let result = call(&client, "recall", json!({"context": "my-project"})).await;
    tool_error(
        &result,
        &["MEM0_JWT_TOKEN expired at", "MCP client's config"],
    );
    let result = call(
        &client,
        "remember",
        json!({"context": "my-project", "text": "x"}),
    )
    .await;
    tool_error(&result, &["expired"]);
    client.cancel().await.expect("clean shutdown");
}

#[tokio::test]
async fn mem0_user_token_is_the_fallback_and_a_dead_server_is_named() {
    let server = Server::start();
    let (_, token) = server.new_user().await;
    let (client, _config) = connect(&server.url, &[("MEM0_USER_TOKEN", &token)]).await;
    let contexts = ok_json(&call(&client, "list_contexts", json!({})).await);
    assert_eq!(contexts, json!([]));

    let url = server.url.clone();
    drop(server);
    let result = call(&client, "list_contexts", json!({})).await;
    tool_error(&result, &["cannot reach the mem0 API at", &url]);
    client.cancel().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_saved_login_is_not_sent_to_the_server_an_mcp_config_names() {
    let server = Server::start();
    let (email, token) = server.new_user().await;
    let saved = json!({"token": token, "email": email, "api_url": server.url});
    // A repository's .vscode/mcp.json that sets only MEM0_API_URL.
    let spy = Spy::start();
    let (client, config) = connect(&spy.url, &[]).await;
    std::fs::write(config.path().join("credentials.json"), saved.to_string()).expect("saved");
    for (tool, arguments) in [
        ("list_contexts", json!({})),
        ("recall", json!({"context": "notes"})),
        (
            "remember",
            json!({"context": "notes", "text": "secret plans"}),
        ),
    ] {
        tool_error(
            &call(&client, tool, arguments).await,
            &[
                "saved login",
                &email,
                &server.url,
                &spy.url,
                "only goes to the server that issued it",
                "MEM0_API_URL",
            ],
        );
    }
    assert_eq!(
        client.list_all_tools().await.expect("still serving").len(),
        5
    );
    client.cancel().await.expect("clean shutdown");
    assert_eq!(
        spy.requests(),
        Vec::<String>::new(),
        "nothing reached the spy"
    );

    // The same saved login with its own server works.
    let (client, config) = connect(&server.url, &[]).await;
    std::fs::write(config.path().join("credentials.json"), saved.to_string()).expect("saved");
    assert_eq!(
        ok_json(&call(&client, "list_contexts", json!({})).await),
        json!([])
    );
    client.cancel().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_configured_token_is_not_sent_over_plain_http_to_another_machine() {
    let (client, _config) = connect(
        "http://mem0.example.invalid",
        &[("MEM0_JWT_TOKEN", "a.b.c")],
    )
    .await;
    tool_error(
        &call(&client, "list_contexts", json!({})).await,
        &["refusing", "plain http://", "https://"],
    );
    assert_eq!(
        client.list_all_tools().await.expect("still serving").len(),
        5
    );
    client.cancel().await.expect("clean shutdown");
}
