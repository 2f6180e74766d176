//! `mem0 mcp` with organizations: list_contexts gives a shared context's address and
//! owner, and recall and remember take it.

#[allow(dead_code)]
mod support;

use std::path::PathBuf;
use std::sync::OnceLock;

use reqwest::StatusCode;
use rmcp::ServiceExt;
use rmcp::model::CallToolResult;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use support::mcp::{Client, call, text};
use support::{PASSWORD, Server, unique_email};

fn mem0() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| support::cargo_build("mem0"))
}

async fn connect(url: &str, token: &str) -> (Client, tempfile::TempDir) {
    let config = tempfile::tempdir().expect("temp dir");
    let mut command = tokio::process::Command::new(mem0());
    command
        .arg("mcp")
        .env("MEM0_API_URL", url)
        .env("MEM0_CONFIG_DIR", config.path())
        .env_remove("MEM0_USER_TOKEN")
        .env("MEM0_JWT_TOKEN", token);
    let transport = TokioChildProcess::new(command).expect("mem0 mcp starts");
    let client = ().serve(transport).await.expect("MCP initialize succeeds");
    (client, config)
}

#[track_caller]
fn ok_json(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {}", text(result));
    serde_json::from_str(text(result)).expect("JSON text")
}

#[tokio::test]
async fn list_contexts_gives_shared_addresses_that_recall_and_remember_take() {
    let server = Server::start();
    let signup = server
        .post(
            "/auth/signup/organization",
            None,
            json!({"user": {"email": unique_email(), "password": PASSWORD, "name": "Mia Admin"},
                   "organization": {"name": "Mcp Org"}}),
        )
        .await;
    let body = signup.expect(StatusCode::CREATED);
    let admin = body["user"]["jwt_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let admin_id = body["user"]["user_id"].as_u64().expect("id");
    let org = body["organization"]["organization_id"]
        .as_u64()
        .expect("org");
    server
        .post(
            "/contexts",
            Some(&admin),
            json!({"name": "notes", "visibility": "organization"}),
        )
        .await
        .expect(StatusCode::CREATED);
    server
        .post(
            "/contexts/notes/memories",
            Some(&admin),
            json!({"text": "shared fact"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let email = unique_email();
    server
        .post(
            &format!("/orgs/{org}/invitations"),
            Some(&admin),
            json!({"email": email, "role": "member"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let outbox = server.data_dir.path().join("outbox");
    let mail = std::fs::read_dir(&outbox)
        .expect("outbox")
        .map(|entry| std::fs::read_to_string(entry.expect("entry").path()).expect("mail"))
        .find(|mail| mail.contains(&format!("To: {email}")))
        .expect("mailed");
    let start = mail.find("token=").expect("link") + "token=".len();
    let token: String = mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let accepted = server
        .post(
            "/invitations/accept",
            None,
            json!({"token": token, "name": "Max Member", "password": PASSWORD}),
        )
        .await;
    let member = accepted.expect(StatusCode::CREATED)["user"]["jwt_token"]
        .as_str()
        .expect("token")
        .to_owned();
    // The member has a private context of the same name.
    server
        .post("/contexts", Some(&member), json!({"name": "notes"}))
        .await
        .expect(StatusCode::CREATED);

    let (client, _config) = connect(&server.url, &member).await;
    let contexts = ok_json(&call(&client, "list_contexts", json!({})).await);
    let addresses: Vec<&str> = contexts
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["address"].as_str().expect("address"))
        .collect();
    let shared = format!("{admin_id}:notes");
    assert_eq!(addresses, ["notes", shared.as_str()]);
    assert_eq!(contexts[1]["owner"]["name"], "Mia Admin");

    let page = ok_json(&call(&client, "recall", json!({"context": shared})).await);
    assert_eq!(page["memories"][0]["text"], "shared fact");
    ok_json(
        &call(
            &client,
            "remember",
            json!({"context": shared, "text": "from the agent"}),
        )
        .await,
    );
    let own = ok_json(&call(&client, "recall", json!({"context": "notes"})).await);
    assert_eq!(own["memories"], json!([]));
    let listed = server.get("/contexts/notes/memories", &admin).await;
    let texts: Vec<&str> = listed.expect(StatusCode::OK)["memories"]
        .as_array()
        .expect("memories")
        .iter()
        .map(|m| m["text"].as_str().expect("text"))
        .collect();
    assert_eq!(texts, ["from the agent", "shared fact"]);
    client.cancel().await.expect("MCP client closes");
}
