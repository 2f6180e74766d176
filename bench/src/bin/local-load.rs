//! local-dev under load beside baselines run in the same command: login beside the bare
//! argon2id verify it performs, the API's reads beside a hello-world handler on the same
//! HTTP stack, and resident memory idle, after a burst of logins and after the load.
//! `local-load [--seconds N] [--local-dev PATH]` prints one table on stdout.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use bench::load::{Budget, MakeRequest, Run, run};
use bench::memories::{SEARCHED, memory_text};
use bench::server::{Resident, Server};
use clap::{Parser, Subcommand};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    about = "local-dev's latency, throughput and resident memory under load, as ratios to \
             baselines measured in the same run"
)]
struct Args {
    /// Seconds each timed read phase lasts (each route at 1 and at 32 connections).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=600))]
    seconds: u64,
    /// Memories written before the reads.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    writes: u32,
    /// Concurrent logins in the burst.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    logins: u32,
    /// The local-dev binary [default: `local-dev` next to this one, from
    /// `cargo build --release -p local-dev`].
    #[arg(long)]
    local_dev: Option<PathBuf>,
    /// local-dev's RUST_LOG: its one line per request is off by default, so the load
    /// measures the handlers, not the terminal.
    #[arg(long, default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Option<Mode>,
}

#[derive(Subcommand)]
enum Mode {
    /// The baseline server: one handler on local-dev's HTTP stack (axum on a
    /// multi-threaded tokio runtime), on a free loopback port.
    #[command(hide = true)]
    ServeHello,
}

/// argon2id as the contract stores passwords: m=19456 KiB, t=2, p=1.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

const PASSWORD: &str = "quiet harbour lantern under seven birch trees";
const EMAIL: &str = "bench@example.com";
const CONTEXT: &str = "bench";
/// Sequential logins timed beside as many bare verifies.
const SINGLE_LOGINS: usize = 10;
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The quiet after the load before resident memory is read once more.
const QUIET: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match args.command {
        Some(Mode::ServeHello) => serve_hello().await,
        None => measure(&args).await.map(|table| print!("{table}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("local-load: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_hello() -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|error| format!("cannot listen: {error}"))?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    println!("hello listening on http://{address}");
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(|| async {
            (
                [(http::header::CONTENT_TYPE, "application/json")],
                r#"{"success":true}"#,
            )
        }),
    );
    axum::serve(listener, app)
        .await
        .map_err(|error| error.to_string())
}

/// One line of the latency table.
struct Line {
    name: String,
    connections: usize,
    run: Run,
    baseline_name: &'static str,
    baseline: Run,
}

async fn measure(args: &Args) -> Result<String, String> {
    let own = std::env::current_exe().map_err(|error| error.to_string())?;
    let local_dev = match &args.local_dev {
        Some(path) => path.clone(),
        None => own.with_file_name("local-dev"),
    };
    if !local_dev.is_file() {
        return Err(format!(
            "no local-dev at {} (cargo build --release -p local-dev, or --local-dev PATH)",
            local_dev.display()
        ));
    }
    let data = tempfile::tempdir().map_err(|error| format!("no temporary folder: {error}"))?;
    let client = Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|error| error.to_string())?;
    let period = Duration::from_secs(args.seconds);

    let mut hello = Command::new(&own);
    hello.arg("serve-hello");
    let hello = Server::start(hello, START_TIMEOUT)?;
    let mut server = Command::new(&local_dev);
    server
        .args(["--port", "0", "--store", "embedded", "--data-dir"])
        // A folder local-dev creates itself, private from the start.
        .arg(data.path().join("data"))
        // The burst logs in one account from one address many times at once: each login
        // reserves an attempt before its verify.
        .args(["--failed-logins-per-account-and-address", "100000"])
        .args(["--failed-logins-per-address", "100000"])
        .args(["--failed-logins-per-account", "100000"])
        .env("RUST_LOG", &args.log);
    let server = Server::start(server, START_TIMEOUT)?;
    let hello_idle = hello.resident()?;
    let idle = server.resident()?;

    let mut lines = Vec::new();
    let hello_get: MakeRequest = {
        let url = format!("{}/", hello.origin);
        Arc::new(move |client: &Client| client.get(&url))
    };
    let hello_one = timed(&client, &hello_get, 1, period).await?;
    let hello_many = timed(&client, &hello_get, 32, period).await?;
    let hello_after = hello.resident()?;

    let token = sign_up(&client, &server.origin).await?;
    let after_signup = server.resident()?;
    let login: MakeRequest = {
        let url = format!("{}/auth/login", server.origin);
        Arc::new(move |client: &Client| {
            client
                .post(&url)
                .json(&json!({"email": EMAIL, "password": PASSWORD}))
        })
    };
    let stored = bare_hash()?;
    lines.push(Line {
        name: "POST /auth/login".into(),
        connections: 1,
        run: run(
            &client,
            Arc::clone(&login),
            1,
            Budget::Requests(SINGLE_LOGINS),
            StatusCode::OK,
        )
        .await?,
        baseline_name: "argon2id verify",
        baseline: bare_verifies(&stored, SINGLE_LOGINS, 1).await?,
    });
    let burst = usize::try_from(args.logins).map_err(|error| error.to_string())?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    lines.push(Line {
        name: format!("POST /auth/login burst of {burst}"),
        connections: burst,
        run: run(
            &client,
            login,
            burst,
            Budget::Requests(burst),
            StatusCode::OK,
        )
        .await?,
        baseline_name: "verifies, 1 per core",
        baseline: bare_verifies(&stored, burst, cores).await?,
    });
    let after_logins = server.resident()?;

    let bearer = format!("Bearer {token}");
    let created = client
        .post(format!("{}/contexts", server.origin))
        .header("authorization", &bearer)
        .json(&json!({"name": CONTEXT}))
        .send()
        .await
        .map_err(|error| error.to_string())?
        .status();
    if created != StatusCode::CREATED {
        return Err(format!("creating the context answered {created}"));
    }
    let write: MakeRequest = {
        let (url, bearer) = (
            format!("{}/contexts/{CONTEXT}/memories", server.origin),
            bearer.clone(),
        );
        let next = AtomicUsize::new(0);
        Arc::new(move |client: &Client| {
            let text = memory_text(next.fetch_add(1, Ordering::Relaxed));
            client
                .post(&url)
                .header("authorization", &bearer)
                .json(&json!({"text": text, "tags": ["bench"]}))
        })
    };
    let writes = usize::try_from(args.writes).map_err(|error| error.to_string())?;
    lines.push(Line {
        name: format!("POST memories ×{writes}"),
        connections: 1,
        run: run(
            &client,
            write,
            1,
            Budget::Requests(writes),
            StatusCode::CREATED,
        )
        .await?,
        baseline_name: "hello",
        baseline: hello_one.clone(),
    });

    let reads = [
        ("GET /contexts", "/contexts".to_owned()),
        (
            "recall (newest 20)",
            format!("/contexts/{CONTEXT}/memories"),
        ),
        (
            "search",
            format!("/contexts/{CONTEXT}/memories?query={SEARCHED}"),
        ),
    ];
    for (name, path) in reads {
        let get: MakeRequest = {
            let (url, bearer) = (format!("{}{path}", server.origin), bearer.clone());
            Arc::new(move |client: &Client| client.get(&url).header("authorization", &bearer))
        };
        for (connections, baseline) in [(1, &hello_one), (32, &hello_many)] {
            lines.push(Line {
                name: name.into(),
                connections,
                run: timed(&client, &get, connections, period).await?,
                baseline_name: "hello",
                baseline: baseline.clone(),
            });
        }
    }
    let after_load = server.resident()?;
    // What stays once the server has had a moment of quiet (local-dev hands back what
    // the burst freed after a second without requests).
    tokio::time::sleep(QUIET).await;
    let after_quiet = server.resident()?;
    drop(server);
    drop(hello);

    Ok(render(
        &lines,
        &[
            ("idle", idle, Some(hello_idle)),
            ("after the signup", after_signup, None),
            (
                &format!("after {burst} concurrent logins"),
                after_logins,
                None,
            ),
            ("after the load", after_load, Some(hello_after)),
            (
                &format!("after the load, {} s quiet", QUIET.as_secs()),
                after_quiet,
                None,
            ),
        ],
        cores,
    ))
}

/// A warm-up of a tenth of `period`, then `period` of requests on `connections`.
async fn timed(
    client: &Client,
    make: &MakeRequest,
    connections: usize,
    period: Duration,
) -> Result<Run, String> {
    run(
        client,
        Arc::clone(make),
        connections,
        Budget::For(period / 10),
        StatusCode::OK,
    )
    .await?;
    run(
        client,
        Arc::clone(make),
        connections,
        Budget::For(period),
        StatusCode::OK,
    )
    .await
}

async fn sign_up(client: &Client, origin: &str) -> Result<String, String> {
    let response = client
        .post(format!("{origin}/auth/signup/individual"))
        .json(&json!({"email": EMAIL, "password": PASSWORD, "name": "Bench"}))
        .send()
        .await
        .map_err(|error| format!("signup failed: {error}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|error| format!("signup's answer is not JSON: {error}"))?;
    match body["user"]["jwt_token"].as_str() {
        Some(token) if status == StatusCode::CREATED => Ok(token.to_owned()),
        _ => Err(format!("signup answered {status}")),
    }
}

fn hasher() -> Result<Argon2<'static>, String> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).map_err(|error| error.to_string())?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn bare_hash() -> Result<String, String> {
    let salt = SaltString::encode_b64(b"bench-salt-16byt").map_err(|error| error.to_string())?;
    hasher()?
        .hash_password(PASSWORD.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| error.to_string())
}

/// `count` verifies of `stored` on `threads` threads taking them in turn, each one's
/// latency counted from the start, as a queue of logins waiting for the hash's turns.
async fn bare_verifies(stored: &str, count: usize, threads: usize) -> Result<Run, String> {
    let stored = stored.to_owned();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored).map_err(|error| error.to_string())?;
        let hasher = hasher()?;
        let next = AtomicUsize::new(0);
        let started = Instant::now();
        let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut mine = Vec::new();
                        while next.fetch_add(1, Ordering::Relaxed) < count {
                            let sent = if threads == 1 {
                                Instant::now()
                            } else {
                                started
                            };
                            let verified = hasher.verify_password(PASSWORD.as_bytes(), &parsed);
                            mine.push((sent.elapsed(), verified.is_ok()));
                        }
                        mine
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| worker.join().unwrap_or_default())
                .map(|(latency, verified)| verified.then_some(latency))
                .collect::<Option<Vec<_>>>()
                .ok_or("the bare verify refused the password it hashed")
        })?;
        let elapsed = started.elapsed();
        latencies.sort_unstable();
        Ok(Run { latencies, elapsed })
    })
    .await
    .map_err(|error| error.to_string())?
}

fn render(lines: &[Line], memory: &[(&str, Resident, Option<Resident>)], cores: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<34} {:>4} {:>7} {:>8} {:>8} {:>8}   {:<22} {:>6} {:>6} {:>6}",
        "request",
        "conn",
        "answers",
        "p50 ms",
        "p99 ms",
        "req/s",
        "baseline",
        "×p50",
        "×p99",
        "×req/s"
    );
    for line in lines {
        let (run, base) = (&line.run, &line.baseline);
        let _ = writeln!(
            out,
            "{:<34} {:>4} {:>7} {:>8.3} {:>8.3} {:>8.0}   {:<22} {:>6} {:>6} {:>6}",
            line.name,
            line.connections,
            run.latencies.len(),
            millis(run.percentile(0.5)),
            millis(run.percentile(0.99)),
            run.per_second(),
            line.baseline_name,
            ratio(millis(run.percentile(0.5)), millis(base.percentile(0.5))),
            ratio(millis(run.percentile(0.99)), millis(base.percentile(0.99))),
            ratio(run.per_second(), base.per_second()),
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<34} {:>10} {:>8} {:>8}   {:>10} {:>7}",
        "resident memory (MiB)", "local-dev", "anon", "file", "hello", "×hello"
    );
    for (name, resident, hello) in memory {
        let _ = writeln!(
            out,
            "{:<34} {:>10.1} {:>8.1} {:>8.1}   {:>10} {:>7}",
            name,
            mib(resident.total),
            mib(resident.anon),
            mib(resident.file),
            hello.map_or("".to_owned(), |hello| format!("{:.1}", mib(hello.total))),
            hello.map_or("".to_owned(), |hello| ratio(
                resident.total as f64,
                hello.total as f64
            )),
        );
    }
    let _ = writeln!(
        out,
        "(VmRSS = RssAnon, the heap and stacks, + RssFile, mostly the binary's code pages)"
    );
    let _ = writeln!(
        out,
        "\n{cores} cores; the load generator runs on the same ones."
    );
    out
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn ratio(value: f64, baseline: f64) -> String {
    if baseline > 0.0 {
        format!("{:.2}", value / baseline)
    } else {
        "-".to_owned()
    }
}
