//! Clients that never die of old age: the MCP server and the CLI as processes against a
//! local-dev issuing short-lived access tokens, renewing them silently (at 80% of their
//! lifetime, or once after a 401), one refresh for many concurrent calls, and saying
//! "log in again" once the session has ended.

// Shared with e2e.rs, which uses the parts these tests leave out.
#[allow(dead_code)]
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolResult;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use support::mcp::{Client, call, text};
use support::{PASSWORD, SECRET, unique_email};

fn mem0() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| support::cargo_build("mem0"))
}

fn local_dev() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| support::cargo_build("local-dev"))
}

/// local-dev with access tokens of `ttl` seconds, its request log kept for counting.
struct Server {
    url: String,
    child: Child,
    log: PathBuf,
    http: reqwest::Client,
    _data: tempfile::TempDir,
    _logs: tempfile::TempDir,
}

impl Server {
    fn start(ttl: u64) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let logs = tempfile::tempdir().expect("temp dir");
        let log = logs.path().join("local-dev.log");
        let mut command = Command::new(local_dev());
        command
            .args(["--port", "0", "--data-dir"])
            .arg(data.path())
            .args(["--token-ttl-seconds", &ttl.to_string()])
            .args(["--signups-per-hour", "100000"])
            .env("MEM0_JWT_SECRET", SECRET)
            // One line per request: method, path, status.
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"));
        if std::env::var("MEM0_E2E_STORE").as_deref() == Ok("dynamodb") {
            command.args(["--store", "dynamodb", "--table", &support::table_for(&data)]);
        }
        let mut child = command.spawn().expect("local-dev starts");
        let url = support::listening_url(&mut child);
        Self {
            url,
            child,
            log,
            http: reqwest::Client::new(),
            _data: data,
            _logs: logs,
        }
    }

    /// How many refreshes the server answered, by status: (200s, others).
    fn refreshes(&self) -> (usize, usize) {
        let log = std::fs::read_to_string(&self.log).expect("log");
        let lines: Vec<&str> = log
            .lines()
            .filter(|line| line.contains("POST /auth/refresh "))
            .collect();
        let ok = lines
            .iter()
            .filter(|line| line.contains("POST /auth/refresh 200 "))
            .count();
        (ok, lines.len() - ok)
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.url)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("local-dev answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }

    async fn signup(&self) -> (String, Value) {
        let email = unique_email();
        let (status, body) = self
            .post(
                "/auth/signup/individual",
                None,
                json!({"email": email, "password": PASSWORD, "name": "Long Runner"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (email, body)
    }

    async fn login(&self, email: &str) -> Value {
        let (status, body) = self
            .post(
                "/auth/login",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn access(body: &Value) -> &str {
    body["user"]["jwt_token"].as_str().expect("access token")
}

fn refresh(body: &Value) -> &str {
    body["refresh_token"].as_str().expect("refresh token")
}

/* ---------- the CLI ---------- */

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
    fn fails(&self, code: i32, says: &[&str]) {
        assert_eq!(self.code, code, "exit code: {self:?}");
        for words in says {
            assert!(
                self.stderr.contains(words),
                "stderr lacks {words:?}: {self:?}"
            );
        }
    }
}

/// One user's machine: its own config dir (saved login), the server's URL.
struct Shell {
    url: String,
    config: tempfile::TempDir,
}

impl Shell {
    fn new(server: &Server) -> Self {
        Self {
            url: server.url.clone(),
            config: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(mem0());
        command
            .args(args)
            .env("MEM0_API_URL", &self.url)
            .env("MEM0_CONFIG_DIR", self.config.path())
            .env_remove("MEM0_USER_TOKEN")
            .env_remove("MEM0_JWT_TOKEN")
            .env_remove("MEM0_REFRESH_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_stdin(args, "")
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> Out {
        let mut child = self.command(args).spawn().expect("mem0 starts");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin written");
        finish(child)
    }

    fn login(&self, email: &str) {
        self.run_stdin(&["login", "--email", email, "--password-stdin"], PASSWORD)
            .ok();
    }

    fn credentials(&self) -> PathBuf {
        self.config.path().join("credentials.json")
    }

    fn saved(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.credentials()).expect("saved login"))
            .expect("JSON")
    }
}

fn finish(child: Child) -> Out {
    let output = child.wait_with_output().expect("mem0 finishes");
    Out {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("utf-8"),
        stderr: String::from_utf8(output.stderr).expect("utf-8"),
    }
}

#[cfg(unix)]
#[track_caller]
fn assert_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).expect("file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{} mode", path.display());
}

#[cfg(not(unix))]
fn assert_private(_: &Path) {}

/* ---------- the MCP server ---------- */

async fn connect(url: &str, config: &Path, env: &[(&str, &str)]) -> Client {
    let mut command = tokio::process::Command::new(mem0());
    command
        .arg("mcp")
        .env("MEM0_API_URL", url)
        .env("MEM0_CONFIG_DIR", config)
        .env_remove("MEM0_USER_TOKEN")
        .env_remove("MEM0_JWT_TOKEN")
        .env_remove("MEM0_REFRESH_TOKEN")
        .envs(env.iter().copied());
    let transport = TokioChildProcess::new(command).expect("mem0 mcp starts");
    ().serve(transport).await.expect("MCP initialize succeeds")
}

#[track_caller]
fn ok_json(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {}", text(result));
    serde_json::from_str(text(result)).expect("JSON text")
}

/// Tool calls, five at a time, every 200 ms for `span`; every one must succeed.
/// Returns how many were made.
async fn keep_calling(client: &Client, span: Duration) -> usize {
    let started = Instant::now();
    let mut calls = 0;
    let mut round = 0;
    while started.elapsed() < span {
        round += 1;
        let text = format!("note {round}");
        let results = futures::future::join_all([
            call(client, "list_contexts", json!({})),
            call(client, "recall", json!({"context": "work", "limit": 5})),
            call(client, "remember", json!({"context": "work", "text": text})),
            call(
                client,
                "recall",
                json!({"context": "work", "query": "note"}),
            ),
            call(client, "list_contexts", json!({})),
        ])
        .await;
        for result in &results {
            ok_json(result);
        }
        calls += results.len();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    calls
}

/// With 3 s tokens renewed at 80% (2.4 s, or sooner as `iat` is in whole seconds), a
/// run of `span` needs at least this many refreshes, and no more than that.
fn refresh_bounds(span: Duration) -> (usize, usize) {
    let secs = span.as_secs_f64();
    (
        (secs / 3.0).floor() as usize,
        (secs / 1.4).ceil() as usize + 2,
    )
}

#[tokio::test]
async fn mcp_tool_calls_all_succeed_through_several_token_lifetimes_on_the_saved_login() {
    let server = Server::start(3);
    let shell = Shell::new(&server);
    let (email, _) = server.signup().await;
    shell.login(&email);
    let first = shell.saved();
    assert!(
        first["refresh_token"].is_string(),
        "login saves the refresh token: {first}"
    );

    let client = connect(&server.url, shell.config.path(), &[]).await;
    ok_json(&call(&client, "create_context", json!({"name": "work"})).await);
    let span = Duration::from_secs(10);
    let calls = keep_calling(&client, span).await;

    let (ok, refused) = server.refreshes();
    let (least, most) = refresh_bounds(span);
    assert_eq!(refused, 0, "no refresh was refused");
    assert!(
        (least..=most).contains(&ok),
        "{ok} refreshes for {calls} tool calls over {span:?}: expected {least}..={most}"
    );
    // Saved back: the file holds the newest tokens and is still private.
    let last = shell.saved();
    assert_ne!(last["token"], first["token"]);
    assert_ne!(last["refresh_token"], first["refresh_token"]);
    assert_eq!(last["email"], email.as_str());
    assert_private(&shell.credentials());
    // The CLI on the same machine carries on with what the MCP server saved.
    shell.run(&["contexts"]).ok();
    client.cancel().await.expect("clean shutdown");
}

#[tokio::test]
async fn mcp_tool_calls_on_env_tokens_succeed_through_several_lifetimes_and_restarts() {
    let server = Server::start(3);
    let (_, body) = server.signup().await;
    let config = tempfile::tempdir().expect("temp dir");
    let env = [
        ("MEM0_JWT_TOKEN", access(&body)),
        ("MEM0_REFRESH_TOKEN", refresh(&body)),
    ];
    let client = connect(&server.url, config.path(), &env).await;
    ok_json(&call(&client, "create_context", json!({"name": "work"})).await);
    let span = Duration::from_secs(8);
    keep_calling(&client, span).await;
    let (ok, refused) = server.refreshes();
    let (least, most) = refresh_bounds(span);
    assert_eq!(refused, 0);
    assert!(
        (least..=most).contains(&ok),
        "{ok} refreshes, expected {least}..={most}"
    );
    client.cancel().await.expect("clean shutdown");
    assert!(
        !config.path().join("credentials.json").exists(),
        "env tokens are not written to the saved login"
    );
    let chain: Vec<PathBuf> = std::fs::read_dir(config.path())
        .expect("config dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    assert_eq!(chain.len(), 1, "one chain file: {chain:?}");
    assert_private(&chain[0]);
    let recorded = std::fs::read_to_string(&chain[0]).expect("chain");
    assert!(
        !recorded.contains(refresh(&body)),
        "the spent refresh token is not kept"
    );

    // Restarted with the same (now spent) configuration, as MCP clients do: it carries
    // on from the chain instead of presenting the spent refresh token.
    let client = connect(&server.url, config.path(), &env).await;
    ok_json(&call(&client, "list_contexts", json!({})).await);
    keep_calling(&client, Duration::from_secs(4)).await;
    assert_eq!(server.refreshes().1, 0, "no refresh was refused");
    client.cancel().await.expect("clean shutdown");
}

#[tokio::test]
async fn after_the_session_is_ended_the_next_tool_call_says_to_log_in_again() {
    let server = Server::start(3600);
    let shell = Shell::new(&server);
    let (email, _) = server.signup().await;
    shell.login(&email);
    let client = connect(&server.url, shell.config.path(), &[]).await;
    assert_eq!(
        ok_json(&call(&client, "list_contexts", json!({})).await),
        json!([])
    );

    // From another device: log out everywhere.
    let elsewhere = server.login(&email).await;
    let (status, body) = server
        .post(
            "/auth/logout?scope=all",
            Some(access(&elsewhere)),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let result = call(&client, "list_contexts", json!({})).await;
    assert_eq!(result.is_error, Some(true), "{result:?}");
    for words in ["session has ended", "mem0 login", &email] {
        assert!(
            text(&result).contains(words),
            "{words:?} missing: {}",
            text(&result)
        );
    }
    // One refresh was tried (and refused); the server keeps serving tools.
    assert_eq!(server.refreshes(), (0, 1));
    assert_eq!(
        client.list_all_tools().await.expect("still serving").len(),
        5
    );
    client.cancel().await.expect("clean shutdown");
}

#[tokio::test]
async fn mem0_sessions_marks_this_one_and_logout_all_ends_every_session() {
    let server = Server::start(3600);
    let (email, _) = server.signup().await;
    let laptop = Shell::new(&server);
    let desktop = Shell::new(&server);
    laptop.login(&email);
    desktop.login(&email);

    let table = laptop.run(&["sessions"]);
    let text = table.ok();
    assert!(
        text.contains("CREATED") && text.contains("LAST USED"),
        "{text}"
    );
    assert!(text.contains("mem0-cli/"), "where: the user agent: {text}");
    assert!(text.contains("127.0.0.1"), "where: the address: {text}");
    let listed: Value =
        serde_json::from_str(laptop.run(&["sessions", "--json"]).ok()).expect("JSON");
    let sessions = listed["sessions"].as_array().expect("sessions");
    // The signup's own session and the two logins.
    assert_eq!(sessions.len(), 3, "{listed}");
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly this one is marked: {listed}");
    let marked = text
        .lines()
        .filter(|line| line.starts_with('*') && !line.starts_with("* this"))
        .collect::<Vec<_>>();
    assert_eq!(marked.len(), 1, "{text}");
    let this_id = current[0]["session_id"].as_str().expect("id");
    assert!(marked[0].contains(this_id), "{text}");

    // Ending the desktop's session from the laptop.
    let desktop_sessions: Value =
        serde_json::from_str(desktop.run(&["sessions", "--json"]).ok()).expect("JSON");
    let desktop_id = desktop_sessions["sessions"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["current"] == true))
        .and_then(|s| s["session_id"].as_str())
        .expect("desktop's session")
        .to_owned();
    laptop.run(&["sessions", "revoke", &desktop_id]).ok();
    desktop
        .run(&["contexts"])
        .fails(3, &["session has ended", "mem0 login"]);
    laptop.run(&["contexts"]).ok();

    desktop.login(&email);
    let out = laptop.run(&["logout", "--all"]);
    assert!(out.ok().contains("everywhere"), "{out:?}");
    assert!(
        !laptop.credentials().exists(),
        "logout deletes the saved login"
    );
    desktop
        .run(&["contexts"])
        .fails(3, &["session has ended", "mem0 login"]);
    laptop.run(&["contexts"]).fails(3, &["Not logged in"]);
}

#[tokio::test]
async fn an_old_credentials_file_without_a_refresh_token_still_works() {
    let server = Server::start(3600);
    let shell = Shell::new(&server);
    let (email, body) = server.signup().await;
    // What a mem0 from before sessions saved.
    let old = json!({"token": access(&body), "email": email, "api_url": server.url});
    std::fs::write(shell.credentials(), old.to_string()).expect("written");
    assert!(shell.run(&["contexts"]).ok().contains("No contexts yet"));
    assert!(shell.run(&["whoami"]).ok().contains(&email));
    assert_eq!(server.refreshes(), (0, 0), "nothing to refresh with");
    assert_eq!(shell.saved(), old, "left as it was");
}

#[tokio::test]
async fn the_cli_renews_a_due_saved_token_and_the_file_stays_private() {
    let server = Server::start(2);
    let shell = Shell::new(&server);
    let (email, _) = server.signup().await;
    shell.login(&email);
    let before = shell.saved();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(shell.run(&["contexts"]).ok().contains("No contexts yet"));
    let after = shell.saved();
    assert_ne!(after["token"], before["token"], "renewed");
    assert_ne!(after["refresh_token"], before["refresh_token"], "rotated");
    assert_private(&shell.credentials());
    assert_eq!(server.refreshes(), (1, 0));
}

#[tokio::test]
async fn cli_processes_renewing_at_once_share_one_refresh_and_the_session_survives() {
    // 3 s: the renewed token is not due again (2.4 s) before the last process starts.
    let server = Server::start(3);
    let shell = Shell::new(&server);
    let (email, _) = server.signup().await;
    shell.login(&email);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let children: Vec<Child> = (0..6)
        .map(|_| shell.command(&["contexts"]).spawn().expect("mem0 starts"))
        .collect();
    for child in children {
        let out = finish(child);
        assert!(out.ok().contains("No contexts yet"), "{out:?}");
    }
    // Each waited for the lock, read the file again and found it renewed.
    assert_eq!(server.refreshes(), (1, 0));
    shell.run(&["contexts"]).ok();
}

#[tokio::test]
async fn an_expired_env_token_without_a_refresh_token_says_when_it_expired() {
    let server = Server::start(3600);
    let shell = Shell::new(&server);
    let expired = support::expired_token("late@example.com");
    let mut command = shell.command(&["contexts"]);
    command.env("MEM0_USER_TOKEN", &expired);
    finish(command.spawn().expect("mem0 starts")).fails(
        3,
        &["access token from MEM0_USER_TOKEN expired at", "mem0 login"],
    );
    assert_eq!(server.refreshes(), (0, 0));
}
