//! The `mem0` CLI as a process against a running local-dev: the seed guide's commands
//! verbatim, every subcommand, exit codes and the messages that say what to do.

// Shared with e2e.rs, which uses the parts these tests leave out.
mod spy;
#[allow(dead_code)]
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;
use spy::Spy;
use support::{PASSWORD, Server, expired_token, unique_email};

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
    fn fails(&self, code: i32, says: &[&str]) {
        assert_eq!(self.code, code, "exit code: {self:?}");
        assert!(self.stdout.is_empty(), "errors keep stdout clean: {self:?}");
        for words in says {
            assert!(
                self.stderr.contains(words),
                "stderr lacks {words:?}: {self:?}"
            );
        }
    }
}

/// One user's shell: its own config dir, the server's URL, no token in the environment.
struct Shell {
    url: String,
    config: tempfile::TempDir,
}

impl Shell {
    fn new(server: &Server) -> Self {
        Self::at(&server.url)
    }

    fn at(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            config: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env("MEM0_API_URL", &self.url)
            .env("MEM0_CONFIG_DIR", self.config.path())
            .env_remove("MEM0_USER_TOKEN")
            .env_remove("MEM0_JWT_TOKEN");
        command
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, None, &[])
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> Out {
        self.run_with(args, Some(stdin), &[])
    }

    fn run_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Out {
        let mut command = self.command(mem0());
        command.args(args).envs(env.iter().copied());
        output(command, stdin)
    }

    fn credentials(&self) -> PathBuf {
        self.config.path().join("credentials.json")
    }

    /// Signs up a fresh individual through the CLI and returns (email, token).
    fn signup(&self) -> (String, String) {
        let email = unique_email();
        let body = self
            .run_stdin(
                &[
                    "signup",
                    "--email",
                    &email,
                    "--name",
                    "Cli User",
                    "--password-stdin",
                    "--json",
                ],
                PASSWORD,
            )
            .json();
        let token = body["user"]["jwt_token"]
            .as_str()
            .expect("token")
            .to_owned();
        (email, token)
    }
}

fn output(mut command: Command, stdin: Option<&str>) -> Out {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("mem0 starts");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        pipe.write_all(text.as_bytes()).expect("stdin written");
    }
    let output = child.wait_with_output().expect("mem0 finishes");
    Out {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}

#[tokio::test]
async fn seed_guide_commands_work_verbatim_from_the_repo_root() {
    let server = Server::start();
    let shell = Shell::new(&server);
    let email = unique_email();
    shell
        .run_stdin(
            &[
                "signup",
                "--email",
                &email,
                "--name",
                "Your Name",
                "--password-stdin",
            ],
            PASSWORD,
        )
        .ok();
    // The curl recipe's token extraction, with the CLI's --json instead of curl.
    let login = shell
        .run_stdin(
            &["login", "--email", &email, "--password-stdin", "--json"],
            PASSWORD,
        )
        .json();
    assert_eq!(login["message"], "Login successful");
    let token = login["user"]["jwt_token"].as_str().expect("token");
    let with_token = [("MEM0_USER_TOKEN", token)];
    shell
        .run_with(&["context", "create", "my-project"], None, &with_token)
        .ok();
    shell
        .run_with(
            &[
                "remember",
                "--context",
                "my-project",
                "Deploy with sam deploy",
            ],
            None,
            &with_token,
        )
        .ok();

    // A fresh shell with no saved login: only the exported token can make this work.
    let fresh = Shell::new(&server);
    let mut command = fresh.command(Path::new("sh"));
    command.current_dir(support::workspace()).args([
        "-c",
        &format!("export MEM0_USER_TOKEN={token}; ./client/mem0 recall --context my-project"),
    ]);
    let out = output(command, None);
    assert!(
        out.ok().contains("Deploy with sam deploy"),
        "recall shows the memory: {out:?}"
    );

    // The wrapper works from any directory, and keeps stdout clean for --json.
    let mut command = fresh.command(&support::workspace().join("client/mem0"));
    command
        .current_dir(fresh.config.path())
        .env("MEM0_USER_TOKEN", token)
        .args(["recall", "--context", "my-project", "--json"]);
    let body = output(command, None).json();
    assert_eq!(body["memories"][0]["text"], "Deploy with sam deploy");
}

#[tokio::test]
async fn every_subcommand_round_trips_through_the_api() {
    let server = Server::start();
    let shell = Shell::new(&server);
    let (email, first_token) = shell.signup();

    // The saved login is private to its owner from the start.
    let credentials = shell.credentials();
    let saved: Value =
        serde_json::from_slice(&std::fs::read(&credentials).expect("saved")).expect("JSON");
    assert_eq!(saved["token"], first_token.as_str());
    assert_eq!(saved["email"], email.as_str());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&credentials)
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "credentials file mode");
    }

    let whoami = shell.run(&["whoami"]);
    let text = whoami.ok();
    assert!(text.contains(&email), "{text}");
    assert!(text.contains("account: individual"), "{text}");
    assert!(text.contains("token: expires 20"), "{text}");
    let whoami = shell.run(&["whoami", "--json"]).json();
    assert_eq!(whoami["user"]["email"], email.as_str());
    assert!(whoami["token"]["expires_at"].as_str().is_some());

    // logout revokes the token on the server and forgets it here.
    assert!(shell.run(&["logout"]).ok().contains("Logged out"));
    assert!(!credentials.exists(), "logout deletes the saved login");
    shell
        .run(&["contexts"])
        .fails(3, &["Not logged in", "mem0 login"]);
    shell
        .run_with(&["contexts"], None, &[("MEM0_USER_TOKEN", &first_token)])
        .fails(3, &["revoked", "mem0 login"]);

    let login = shell.run_stdin(&["login", "--email", &email, "--password-stdin"], PASSWORD);
    assert!(login.ok().contains("Logged in as"), "{login:?}");

    assert!(shell.run(&["contexts"]).ok().contains("No contexts yet"));
    let created = shell.run(&[
        "context",
        "create",
        "notes.v1",
        "--description",
        "What we learned",
        "--visibility",
        "private",
    ]);
    assert!(created.ok().contains("Created context notes.v1 (private)"));
    shell
        .run(&["context", "create", "notes.v1"])
        .fails(1, &["already exists"]);
    let list = shell.run(&["contexts", "--json"]).json();
    assert_eq!(list["contexts"][0]["name"], "notes.v1");
    assert_eq!(list["contexts"][0]["description"], "What we learned");
    assert!(shell.run(&["contexts"]).ok().contains("What we learned"));

    let remembered = shell.run(&[
        "remember",
        "--context",
        "notes.v1",
        "--tag",
        "ops",
        "Rotate",
        "the",
        "keys monthly",
    ]);
    assert!(
        remembered.ok().contains("Remembered in notes.v1"),
        "{remembered:?}"
    );
    let from_stdin = shell
        .run_stdin(
            &["remember", "--context", "notes.v1", "--json"],
            "Lunch is at noon\nevery day\n",
        )
        .json();
    assert_eq!(from_stdin["memory"]["text"], "Lunch is at noon\nevery day");
    let lunch_id = from_stdin["memory"]["id"].as_str().expect("id").to_owned();

    let recall = shell.run(&["recall", "--context", "notes.v1", "--query", "keys"]);
    let text = recall.ok();
    assert!(text.contains("Rotate the keys monthly"), "{text}");
    assert!(text.contains("[ops]"), "{text}");
    assert!(!text.contains("Lunch"), "the query picks: {text}");
    let page = shell
        .run(&["recall", "--context", "notes.v1", "--limit", "1", "--json"])
        .json();
    assert_eq!(page["memories"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["memories"][0]["id"], lunch_id.as_str(), "newest first");
    assert!(page["next_cursor"].is_string());

    let forgot = shell.run(&["forget", "--context", "notes.v1", &lunch_id]);
    assert!(forgot.ok().contains(&format!("Forgot memory {lunch_id}")));
    shell
        .run(&["forget", "--context", "notes.v1", &lunch_id])
        .fails(1, &["No memory", &lunch_id]);
    let all = shell
        .run(&["recall", "--context", "notes.v1", "--json"])
        .json();
    assert_eq!(all["memories"].as_array().map(Vec::len), Some(1));

    let deleted = shell.run(&["context", "delete", "notes.v1"]);
    assert!(deleted.ok().contains("Deleted context notes.v1"));
    shell
        .run(&["recall", "--context", "notes.v1"])
        .fails(1, &["No context notes.v1", "mem0 contexts"]);
    assert!(shell.run(&["contexts"]).ok().contains("No contexts yet"));

    assert!(shell.run(&["logout", "--json"]).json()["success"] == true);
    assert!(shell.run(&["logout"]).ok().contains("Not logged in"));
}

#[tokio::test]
async fn organization_signup_makes_an_admin_who_can_share_contexts() {
    let server = Server::start();
    let shell = Shell::new(&server);
    let email = unique_email();
    let body = shell
        .run_stdin(
            &[
                "signup",
                "--email",
                &email,
                "--name",
                "Org Admin",
                "--organization",
                "Acme",
                "--domain",
                "acme.example",
                "--size",
                "10-50",
                "--industry",
                "Software",
                "--password-stdin",
                "--json",
            ],
            PASSWORD,
        )
        .json();
    assert_eq!(body["organization"]["name"], "Acme");
    let whoami = shell.run(&["whoami"]);
    assert!(
        whoami
            .ok()
            .contains("account: organization_admin (role admin)"),
        "{whoami:?}"
    );
    assert!(whoami.ok().contains("organization: "), "{whoami:?}");
    let shared = shell.run(&["context", "create", "team", "--visibility", "organization"]);
    assert!(shared.ok().contains("(organization)"), "{shared:?}");
}

#[tokio::test]
async fn usage_errors_exit_2_before_any_request() {
    // Nothing listens here: a usage error must not get as far as a request.
    let shell = Shell::at("http://127.0.0.1:9");
    shell.run(&["recall"]).fails(2, &["--context"]);
    shell
        .run(&["recall", "--context", "no spaces"])
        .fails(2, &["A context name"]);
    shell
        .run(&["context", "create", ".."])
        .fails(2, &["A context name"]);
    shell
        .run(&["recall", "--context", "ok", "--limit", "0"])
        .fails(2, &["--limit"]);
    shell
        .run(&["contexts", "--api-url", "ftp://example"])
        .fails(2, &["not an http:// or https:// URL"]);
    shell.run(&["no-such-command"]).fails(2, &["unrecognized"]);
    shell
        .run_stdin(&["remember", "--context", "ok"], "  \n")
        .fails(2, &["empty"]);
    // No terminal and no --password-stdin: refuse rather than hang or echo.
    shell
        .run(&["login", "--email", "me@example.com"])
        .fails(2, &["not a terminal", "--password-stdin"]);
    shell
        .run(&["signup", "--email", "me@example.com", "--name", "Me"])
        .fails(2, &["--password-stdin"]);
    shell
        .run(&[
            "signup",
            "--email",
            "a@example.com",
            "--name",
            "A",
            "--domain",
            "x",
        ])
        .fails(2, &["--organization"]);
    assert!(shell.run(&["--help"]).ok().contains("Exit codes"));
}

#[tokio::test]
async fn auth_problems_exit_3_and_say_how_to_fix_them() {
    let server = Server::start();
    let shell = Shell::new(&server);
    shell
        .run(&["recall", "--context", "x"])
        .fails(3, &["Not logged in", "mem0 login", "MEM0_USER_TOKEN"]);
    shell.run(&["whoami"]).fails(3, &["Not logged in"]);

    let (email, _) = shell.signup();
    shell
        .run_stdin(
            &["login", "--email", &email, "--password-stdin"],
            "not the right passphrase",
        )
        .fails(3, &["Wrong email or password"]);

    let expired = expired_token(&email);
    shell
        .run_with(&["contexts"], None, &[("MEM0_USER_TOKEN", &expired)])
        .fails(3, &["MEM0_USER_TOKEN expired at", "ago", "mem0 login"]);

    // The same expired token as a saved login: the fix is to log in again.
    let mut saved: Value =
        serde_json::from_slice(&std::fs::read(shell.credentials()).expect("saved")).expect("JSON");
    saved["token"] = Value::String(expired);
    // Without its refresh token: with one, the CLI would renew the token by itself.
    if let Some(saved) = saved.as_object_mut() {
        saved.remove("refresh_token");
    }
    std::fs::write(shell.credentials(), saved.to_string()).expect("written");
    shell.run(&["whoami"]).fails(
        3,
        &[
            "saved login",
            "expired at",
            &format!("mem0 login --email {email}"),
        ],
    );
    // Logging out with an expired token still clears the saved login.
    assert!(
        shell
            .run(&["logout"])
            .ok()
            .contains("already expired or revoked")
    );
    assert!(!shell.credentials().exists());

    // With nothing saved, logout revokes the token in MEM0_USER_TOKEN.
    let other = Shell::new(&server);
    let (_, token) = other.signup();
    std::fs::remove_file(other.credentials()).expect("nothing saved");
    let env = [("MEM0_USER_TOKEN", token.as_str())];
    let out = other.run_with(&["logout"], None, &env);
    assert!(out.ok().contains("Unset MEM0_USER_TOKEN"), "{out:?}");
    other
        .run_with(&["contexts"], None, &env)
        .fails(3, &["revoked"]);
}

#[tokio::test]
async fn login_on_a_terminal_prompts_without_echoing_the_password() {
    let server = Server::start();
    let shell = Shell::new(&server);
    let (email, _) = shell.signup();
    std::fs::remove_file(shell.credentials()).expect("start logged out");
    // `script` gives mem0 a real terminal; its output is what the user would see.
    let line = format!("{} login --email {email}", mem0().display());
    let mut command = shell.command(Path::new("script"));
    command
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("script (util-linux) runs");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut screen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&screen).contains("Password: ") {
        let read = std::io::Read::read(&mut stdout, &mut byte).expect("terminal output");
        assert_eq!(
            read,
            1,
            "no prompt before exit: {}",
            String::from_utf8_lossy(&screen)
        );
        screen.push(byte[0]);
    }
    // Echo is turned off right after the prompt is written.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("typed");
    std::io::Read::read_to_end(&mut stdout, &mut screen).expect("terminal output");
    let status = child.wait().expect("script finishes");
    drop(stdin);
    let screen = String::from_utf8_lossy(&screen);
    assert!(status.success(), "login failed: {screen}");
    assert!(screen.contains("Logged in as"), "{screen}");
    assert!(
        !screen.contains(PASSWORD),
        "the password was echoed: {screen}"
    );
    assert!(shell.credentials().exists());
}

#[tokio::test]
async fn an_unreachable_server_is_named_and_exits_1() {
    let server = Server::start();
    let url = server.url.clone();
    drop(server);
    let shell = Shell::at(&url);
    shell
        .run_with(&["contexts"], None, &[("MEM0_USER_TOKEN", "a.b.c")])
        .fails(1, &["cannot reach the mem0 API at", &url, "MEM0_API_URL"]);
    shell
        .run_stdin(
            &["login", "--email", "me@example.com", "--password-stdin"],
            PASSWORD,
        )
        .fails(1, &[&url]);
}

#[tokio::test]
async fn a_saved_token_is_not_sent_to_a_server_named_only_by_mem0_api_url() {
    let server = Server::start();
    let shell = Shell::new(&server);
    let (email, token) = shell.signup();
    // What a committed .vscode/mcp.json or .envrc can do: change only the URL.
    let spy = Spy::start();
    let elsewhere = [("MEM0_API_URL", spy.url.as_str())];
    let says = [
        "saved login",
        email.as_str(),
        server.url.as_str(),
        spy.url.as_str(),
        "only goes to the server that issued it",
        "mem0 login --api-url",
    ];
    for args in [
        &["contexts"][..],
        &["whoami"],
        &["recall", "--context", "notes"],
        &["remember", "--context", "notes", "secret plans"],
        &["forget", "--context", "notes", "01J0000000000000000000000"],
        &["context", "create", "notes"],
        &["context", "delete", "notes"],
    ] {
        shell.run_with(args, None, &elsewhere).fails(3, &says);
    }
    shell
        .run(&["contexts", "--api-url", &spy.url])
        .fails(3, &says);
    // Another spelling of the issuer is the issuer.
    let same = format!("{}/", server.url.replace("http://", "HTTP://"));
    shell
        .run_with(&["contexts"], None, &[("MEM0_API_URL", &same)])
        .ok();

    // logout revokes the saved token where it was issued, not where MEM0_API_URL points.
    let out = shell.run_with(&["logout"], None, &elsewhere);
    assert!(out.ok().contains("Logged out"), "{out:?}");
    server
        .get("/auth/me", &token)
        .await
        .expect_error(reqwest::StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(
        spy.requests(),
        Vec::<String>::new(),
        "nothing reached the spy"
    );
}

#[tokio::test]
async fn no_token_or_password_goes_over_plain_http_to_another_machine() {
    // Refused before any connection: the name can't even be resolved, so an attempt
    // would be "cannot reach" (exit 1), not this.
    let says = [
        "refusing",
        "plain http://",
        "anyone on the network",
        "https://",
    ];
    let shell = Shell::at("http://mem0.example.invalid");
    let token = [("MEM0_USER_TOKEN", "a.b.c")];
    shell.run_with(&["contexts"], None, &token).fails(2, &says);
    shell.run_with(&["logout"], None, &token).fails(1, &says);
    shell
        .run_stdin(
            &["login", "--email", "me@example.com", "--password-stdin"],
            PASSWORD,
        )
        .fails(2, &says);
    shell
        .run_stdin(
            &[
                "signup",
                "--email",
                "me@example.com",
                "--name",
                "Me",
                "--password-stdin",
            ],
            PASSWORD,
        )
        .fails(2, &says);
    // https to the same name is tried (and fails to connect).
    Shell::at("https://mem0.example.invalid")
        .run_with(&["contexts"], None, &token)
        .fails(
            1,
            &["cannot reach the mem0 API at https://mem0.example.invalid"],
        );

    // A saved login from a build that allowed it is refused too, and logout still
    // forgets it.
    let saved = serde_json::json!({
        "token": "a.b.c", "email": "me@example.com", "api_url": "http://10.0.0.5:8000",
    });
    std::fs::write(shell.credentials(), saved.to_string()).expect("written");
    let mut command = shell.command(mem0());
    command.env_remove("MEM0_API_URL").arg("contexts");
    output(command, None).fails(2, &says);
    let mut command = shell.command(mem0());
    command.env_remove("MEM0_API_URL").arg("logout");
    output(command, None).fails(1, &["Deleted the saved login", "plain http://"]);
    assert!(!shell.credentials().exists());
}

#[tokio::test]
async fn a_proxy_in_the_environment_never_sees_a_token_meant_for_this_machine() {
    let server = Server::start();
    let shell = Shell::new(&server);
    let (_, token) = shell.signup();
    let proxy = Spy::start();
    let env = [
        ("MEM0_USER_TOKEN", token.as_str()),
        ("HTTP_PROXY", proxy.url.as_str()),
        ("http_proxy", proxy.url.as_str()),
        ("ALL_PROXY", proxy.url.as_str()),
    ];
    shell
        .run_with(&["context", "create", "direct"], None, &env)
        .ok();
    let list = shell.run_with(&["contexts", "--json"], None, &env).json();
    assert_eq!(list["contexts"][0]["name"], "direct", "local-dev answered");
    assert_eq!(
        proxy.requests(),
        Vec::<String>::new(),
        "the proxy saw nothing"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_a_password_goes_only_where_it_was_sent() {
    let target = Spy::start();
    let redirector = Spy::answering(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}/auth/login\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n",
        target.url
    ));
    let shell = Shell::at(&redirector.url);
    shell
        .run_stdin(
            &["login", "--email", "me@example.com", "--password-stdin"],
            PASSWORD,
        )
        .fails(1, &["redirect (HTTP 307)", &target.url, "MEM0_API_URL"]);
    let seen = redirector.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].contains(PASSWORD),
        "the login went where it was sent"
    );
    assert_eq!(
        target.requests(),
        Vec::<String>::new(),
        "nothing was resent"
    );
}
