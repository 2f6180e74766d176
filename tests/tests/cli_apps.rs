//! `mem0 apps`, `mem0 apps revoke ID` and `mem0 activity` as a process against a running
//! local-dev, with a connected app made through the HTTP OAuth flow (registration,
//! consent decision, code exchange).

#[allow(dead_code)]
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::Server;
use support::oauth::{Connection, connect, token_request};

fn mem0() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| support::cargo_build("mem0"))
}

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "mem0 failed: {self:?}");
        &self.stdout
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|_| panic!("not JSON: {self:?}"))
    }

    #[track_caller]
    fn fails(&self, code: i32, says: &str) {
        assert_eq!(self.code, code, "exit code: {self:?}");
        assert!(self.stdout.is_empty(), "errors keep stdout clean: {self:?}");
        assert!(
            self.stderr.contains(says),
            "stderr lacks {says:?}: {self:?}"
        );
    }
}

/// `mem0 args...` as the holder of `token`.
fn run(server: &Server, token: &str, args: &[&str]) -> Out {
    let config = tempfile::tempdir().expect("temp dir");
    let output = Command::new(mem0())
        .args(args)
        .env("MEM0_API_URL", &server.url)
        .env("MEM0_CONFIG_DIR", config.path())
        .env("MEM0_USER_TOKEN", token)
        .output()
        .expect("mem0 runs");
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn apps_lists_what_each_app_may_do_and_revoke_ends_its_tokens_at_once() {
    let server = Server::start();
    let (_, token) = server.new_user().await;
    run(&server, &token, &["context", "create", "proj"]).ok();
    assert_eq!(
        run(&server, &token, &["apps"]).ok().trim(),
        "No connected apps."
    );
    let Connection {
        client_id,
        refresh_token: refresh,
        ..
    } = connect(
        &server,
        &token,
        "Reader Agent",
        json!(["memories:read"]),
        json!(["proj"]),
    )
    .await;

    let listed = run(&server, &token, &["apps", "--json"]).json();
    let grants = listed["grants"].as_array().expect("grants");
    assert_eq!(grants.len(), 1, "{listed}");
    let id = grants[0]["grant_id"].as_str().expect("grant_id").to_owned();
    let table = run(&server, &token, &["apps"]).ok().to_owned();
    for shown in [id.as_str(), "Reader Agent", "memories:read", "proj"] {
        assert!(table.contains(shown), "{shown:?} missing from:\n{table}");
    }
    assert!(!table.contains("memories:write"), "{table}");

    // Another user can neither see nor revoke it.
    let (_, other) = server.new_user().await;
    assert_eq!(
        run(&server, &other, &["apps"]).ok().trim(),
        "No connected apps."
    );
    run(&server, &other, &["apps", "revoke", &id]).fails(1, "No such app");

    let revoked = run(&server, &token, &["apps", "revoke", &id]);
    assert!(
        revoked.ok().contains(&format!("Revoked app {id}")),
        "{revoked:?}"
    );
    let refused = token_request(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        refused.body
    );
    assert_eq!(refused.body["error"], "invalid_grant");
    assert_eq!(
        run(&server, &token, &["apps"]).ok().trim(),
        "No connected apps."
    );
    run(&server, &token, &["apps", "revoke", &id]).fails(1, "No such app");
    run(&server, &token, &["apps", "revoke", "../sessions"]).fails(1, "No such app");
}

#[tokio::test]
async fn activity_pages_a_contexts_or_an_apps_trail_for_their_owner_only() {
    let server = Server::start();
    let (_, token) = server.new_user().await;
    run(&server, &token, &["context", "create", "proj"]).ok();
    connect(
        &server,
        &token,
        "Writer Agent",
        json!(["memories:read", "memories:write"]),
        json!("all"),
    )
    .await;
    let listed = run(&server, &token, &["apps", "--json"]).json();
    let id = listed["grants"][0]["grant_id"]
        .as_str()
        .expect("grant_id")
        .to_owned();

    let page = run(
        &server,
        &token,
        &["activity", "--context", "proj", "--json"],
    )
    .json();
    assert_eq!(page["success"], true);
    assert!(page["activity"].is_array(), "{page}");
    let page = run(
        &server,
        &token,
        &["activity", "--app", &id, "--limit", "5", "--json"],
    )
    .json();
    assert!(page["activity"].is_array(), "{page}");
    assert_eq!(
        run(&server, &token, &["activity", "--context", "proj"])
            .ok()
            .trim(),
        "No activity."
    );

    let (_, other) = server.new_user().await;
    run(&server, &other, &["activity", "--context", "proj"]).fails(1, "No context proj");
    run(&server, &other, &["activity", "--app", &id]).fails(1, "No such app");
    // Whose trail, and how much of it, are the command line's to get right.
    run(&server, &token, &["activity"]).fails(2, "--context");
    run(
        &server,
        &token,
        &["activity", "--context", "proj", "--app", &id],
    )
    .fails(2, "cannot be used");
    run(
        &server,
        &token,
        &["activity", "--context", "proj", "--limit", "0"],
    )
    .fails(2, "limit");
}
