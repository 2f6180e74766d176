//! Starts a real local-dev process on a free port and talks to it over HTTP.
//!
//! `MEM0_E2E_STORE=dynamodb` (with `DYNAMODB_ENDPOINT`) runs the same tests against
//! local-dev's DynamoDB store, each server on a table of its own.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub mod mcp;
pub mod oauth;

/// Known to the tests so they can forge tokens the server would accept.
pub const SECRET: &str = "e2e-secret-e2e-secret-e2e-secret-0123456789";
pub const PASSWORD: &str = "a long passphrase here";

/// Token keys for `secret`, as a server started with it holds them.
pub fn keys_with(secret: &str) -> claims::TokenKeys {
    claims::TokenKeys::new(&secret.to_owned().into(), claims::TokenSettings::default())
        .expect("valid test secret")
}

/// A token for `email` (user 1), signed with the servers' secret, that expired two days ago.
pub fn expired_token(email: &str) -> String {
    let subject = claims::Subject {
        user_id: 1,
        email: email.to_owned(),
        account_type: "individual".into(),
        role: "user".into(),
        organization_id: None,
        sid: None,
    };
    let two_days_ago = claims::unix_now() - 2 * 24 * 60 * 60;
    keys_with(SECRET)
        .issue_at(subject, two_days_ago)
        .expect("signed")
        .0
}

pub struct Server {
    pub url: String,
    child: Child,
    http: reqwest::Client,
    pub data_dir: tempfile::TempDir,
}

/// The local-dev binary, built once per test run if it isn't already.
fn binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| cargo_build("local-dev"))
}

/// The DynamoDB table local-dev uses for `data_dir`: one per data dir, so a restarted
/// server finds its data again.
pub fn table_for(data_dir: &tempfile::TempDir) -> String {
    format!(
        "e2e-{}",
        data_dir
            .path()
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
    )
    .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-")
}

/// The address a just-started local-dev (stdout piped) prints as its first line.
pub fn listening_url(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("local-dev prints its address");
    line.trim()
        .strip_prefix("mem0 local-dev listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from local-dev: {line:?}"))
        .to_owned()
}

/// The repository root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// The workspace's binary `bin`, built with the features `cargo test --workspace`
/// resolves (`--bins --tests`): inside a test run that is a no-op, where `-p <package>`
/// would build the dependencies a second time with other features (time and disk).
pub fn cargo_build(bin: &str) -> PathBuf {
    let workspace = workspace();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--workspace", "--bins", "--tests"])
        .current_dir(&workspace)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {bin} failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    target.join("debug").join(bin)
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(extra_args: &[&str]) -> Self {
        Self::start_in(tempfile::tempdir().expect("temp dir"), extra_args)
    }

    /// Starts on an existing data directory, as a restart would.
    pub fn start_in(data_dir: tempfile::TempDir, extra_args: &[&str]) -> Self {
        Self::start_signing_with(data_dir, extra_args, Some(SECRET))
    }

    /// Starts on `data_dir` with the signing keys kept there (no `MEM0_JWT_SECRET`).
    pub fn start_with_own_keys(data_dir: tempfile::TempDir) -> Self {
        Self::start_signing_with(data_dir, &[], None)
    }

    fn start_signing_with(
        data_dir: tempfile::TempDir,
        extra_args: &[&str],
        secret: Option<&str>,
    ) -> Self {
        let mut command = Command::new(binary());
        command
            .args(["--port", "0", "--data-dir"])
            .arg(data_dir.path())
            .args(extra_args)
            .env_remove("MEM0_JWT_SECRET")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if !extra_args.contains(&"--signups-per-hour") {
            // Most tests sign up many users from one address; the throttle has its own test.
            command.args(["--signups-per-hour", "100000"]);
        }
        if let Some(secret) = secret {
            command.env("MEM0_JWT_SECRET", secret);
        }
        if std::env::var("MEM0_E2E_STORE").as_deref() == Ok("dynamodb") {
            command.args(["--store", "dynamodb", "--table", &table_for(&data_dir)]);
        }
        let mut child = command.spawn().expect("local-dev starts");
        let url = listening_url(&mut child);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        Self {
            url,
            child,
            http,
            data_dir,
        }
    }

    /// Stops the process and hands back its data directory.
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let placeholder = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data_dir, placeholder)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.expect("request reaches local-dev")).await
    }

    pub async fn raw(&self, request: reqwest::RequestBuilder) -> Reply {
        Reply::from(request.send().await.expect("request reaches local-dev")).await
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url))
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Logs in with the password every test account uses.
    pub async fn login(&self, email: &str) -> Reply {
        self.post(
            "/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await
    }

    /// Logs in as a client at `from`, one of the loopback addresses (127.0.0.0/8), so
    /// that a test can play several machines.
    pub async fn login_from(&self, from: [u8; 4], email: &str, password: &str) -> Reply {
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(from))
            .build()
            .expect("http client");
        let request = client
            .post(format!("{}/auth/login", self.url))
            .json(&json!({"email": email, "password": password}));
        self.raw(request).await
    }

    /// The local-dev process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Signs up a fresh individual and returns (email, token).
    pub async fn new_user(&self) -> (String, String) {
        let email = unique_email();
        let reply = self
            .post(
                "/auth/signup/individual",
                None,
                json!({"email": email, "password": PASSWORD, "name": "Test User"}),
            )
            .await;
        reply.expect(StatusCode::CREATED);
        let token = reply.body["user"]["jwt_token"]
            .as_str()
            .expect("signup returns a token")
            .to_owned();
        (email, token)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn unique_email() -> String {
    format!(
        "user-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self {
            status,
            headers,
            body,
        }
    }

    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        &self.body
    }

    /// Asserts the contract's error shape: exactly `success`, `error`, `message`.
    #[track_caller]
    pub fn expect_error(&self, status: StatusCode, code: &str) {
        self.expect(status);
        let object = self.body.as_object().expect("error body is a JSON object");
        assert_eq!(
            object.len(),
            3,
            "error body has exactly three keys: {}",
            self.body
        );
        assert_eq!(self.body["success"], false);
        assert_eq!(self.body["error"], code, "body: {}", self.body);
        let message = self.body["message"].as_str().expect("message is a string");
        assert!(!message.is_empty());
        assert_eq!(
            self.headers["content-type"], "application/json",
            "errors are JSON"
        );
    }
}
