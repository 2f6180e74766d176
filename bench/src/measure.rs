//! One cold start: a fresh process of the binary against a fresh fake Runtime API.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::body::Bytes;

use crate::fake_runtime::{FakeRuntime, Report};
use crate::probe::Probe;

/// A signing key long enough for `MEM0_JWT_SECRET`, so the API functions start without
/// fetching one from Secrets Manager.
pub const TEST_SIGNING_KEY: &str = "bench-only-signing-key-0123456789abcdefghijklmno";

/// How much of a failed run's output is shown.
const OUTPUT_TAIL: usize = 4096;

/// How often a run checks whether the process has died.
const POLL: Duration = Duration::from_millis(20);

/// The two phases of one cold start, from just before exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Until the first `GET /runtime/invocation/next`.
    pub init: Duration,
    /// Until the first invocation's response was posted.
    pub first_response: Duration,
    /// The HTTP status in that response.
    pub status: u16,
}

/// Why a run gave no sample, with the tail of what the process printed.
#[derive(Debug)]
pub struct Failure {
    pub reason: String,
    pub output: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.reason)?;
        if !self.output.is_empty() {
            write!(
                f,
                "\n--- its output (last {OUTPUT_TAIL} bytes) ---\n{}",
                self.output
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

/// What a custom runtime on Lambda finds in its environment (nothing of this machine's
/// leaks in), plus the functions' own configuration: a signing key given directly, and
/// no `DYNAMODB_ENDPOINT`, as deployed.
pub fn lambda_environment(
    function: &str,
    runtime_api: &str,
    task_root: &Path,
) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef".to_owned(),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "ASIABENCHFAKEKEY0000".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "bench/fake/secret/access/key".to_owned(),
        ),
        ("AWS_SESSION_TOKEN", "bench-fake-session-token".to_owned()),
        // Safety nets, not in Lambda's environment: should a handler reach for the store
        // or for instance metadata after all, the request fails on loopback instead of
        // leaving the machine (the run then fails on its status).
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("LAMBDA_TASK_ROOT", task_root.display().to_string()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("MEM0_TABLE", "mem0".to_owned()),
        ("MEM0_JWT_SECRET", TEST_SIGNING_KEY.to_owned()),
    ]
}

/// Starts `binary` as the function `function`, sends it `probe` when it first asks for
/// work, and kills it once it has answered (or after `timeout`).
pub async fn cold_start(
    function: &str,
    binary: &Path,
    probe: &Probe,
    timeout: Duration,
) -> Result<Sample, Failure> {
    let event = Bytes::from(probe.event().to_string());
    let mut runtime = FakeRuntime::start(event)
        .await
        .map_err(|error| failure(format!("cannot start the fake Runtime API: {error}")))?;
    let task_root = binary.parent().unwrap_or(Path::new("/"));
    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(lambda_environment(
            function,
            &runtime.address().to_string(),
            task_root,
        ))
        .current_dir(task_root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let exec = Instant::now();
    let child = command
        .spawn()
        .map_err(|error| failure(format!("cannot start {}: {error}", binary.display())))?;
    let mut process = Running::new(child);
    let outcome = watch(&mut runtime, &mut process, exec, probe, timeout).await;
    let output = process.stop();
    outcome.map_err(|reason| Failure { reason, output })
}

async fn watch(
    runtime: &mut FakeRuntime,
    process: &mut Running,
    exec: Instant,
    probe: &Probe,
    timeout: Duration,
) -> Result<Sample, String> {
    let mut init = None;
    loop {
        tokio::select! {
            report = runtime.report() => match report {
                Some(Report::Next(at)) => init = Some(at.duration_since(exec)),
                Some(Report::Response(at, body)) => {
                    let init = init.ok_or("posted a response before asking for work")?;
                    let status = status_of(&body)?;
                    if let Some(expected) = probe.expected_status.filter(|&s| s != status) {
                        return Err(format!(
                            "answered {} {} with {status}, not {expected}: the request took \
                             another path than the one the benchmark times",
                            probe.method, probe.path
                        ));
                    }
                    return Ok(Sample { init, first_response: at.duration_since(exec), status });
                }
                Some(Report::Error { path, body }) => {
                    return Err(format!(
                        "posted to {path}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(1024)])
                    ));
                }
                None => return Err("the fake Runtime API stopped".to_owned()),
            },
            () = tokio::time::sleep(POLL) => {
                if let Some(status) = process.exited() {
                    return Err(format!("exited ({status}) before answering"));
                }
                if exec.elapsed() > timeout {
                    return Err(format!("no answer within {} s", timeout.as_secs_f64()));
                }
            }
        }
    }
}

/// The HTTP status in a function's response to an API Gateway event.
fn status_of(body: &[u8]) -> Result<u16, String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|response| response.get("statusCode")?.as_u64())
        .and_then(|status| u16::try_from(status).ok())
        .ok_or_else(|| {
            format!(
                "posted a response without a statusCode: {}",
                String::from_utf8_lossy(&body[..body.len().min(1024)])
            )
        })
}

fn failure(reason: String) -> Failure {
    Failure {
        reason,
        output: String::new(),
    }
}

/// The process under test, killed when dropped, with its output collected on the side
/// (an unread pipe would stall a chatty process).
struct Running {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    fn new(mut child: Child) -> Self {
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        let pipes: [Option<Box<dyn Read + Send>>; 2] = [
            child.stdout.take().map(|pipe| Box::new(pipe) as _),
            child.stderr.take().map(|pipe| Box::new(pipe) as _),
        ];
        for mut pipe in pipes.into_iter().flatten() {
            let output = Arc::clone(&output);
            readers.push(std::thread::spawn(move || {
                let mut chunk = [0; 4096];
                while let Ok(read @ 1..) = pipe.read(&mut chunk) {
                    let Ok(mut output) = output.lock() else {
                        return;
                    };
                    output.extend_from_slice(&chunk[..read]);
                    let excess = output.len().saturating_sub(OUTPUT_TAIL);
                    output.drain(..excess);
                }
            }));
        }
        Self {
            child,
            output,
            readers,
        }
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Kills the process and returns the tail of what it printed.
    fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.output
            .lock()
            .map(|output| String::from_utf8_lossy(&output).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
