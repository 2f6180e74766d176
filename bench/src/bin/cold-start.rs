//! Cold start and size of Lambda binaries beside a hello-world `lambda_http` baseline:
//! `cold-start [--runs N] [--baseline PATH] NAME=PATH ...` prints one table on stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bench::measure::{Failure, Sample, cold_start};
use bench::probe::Probe;
use bench::size::bootstrap_zip;
use bench::stats::summarize;
use bench::table::{Row, render};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "Cold start (exec to first /invocation/next, exec to first response) and \
                   zipped size of Lambda binaries, against an in-process fake Runtime API"
)]
struct Args {
    /// Cold starts of each binary; the table shows their median and minimum.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    runs: u32,
    /// The hello-world lambda_http binary the others are compared with [default: `hello`
    /// next to this binary, from `cargo build --release -p bench --bin hello`].
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Seconds one cold start may take before the benchmark gives up.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    /// The binaries, as NAME=PATH. NAME picks the request sent: signup, login, contexts
    /// and pages get one they refuse or serve without their store; any other name GET /.
    /// NAME@LABEL (signup@before=..., signup@after=...) compares two builds in one run.
    #[arg(required = true, value_name = "NAME=PATH", value_parser = binary_arg)]
    binaries: Vec<Binary>,
}

#[derive(Debug, Clone)]
struct Binary {
    name: String,
    path: PathBuf,
}

fn binary_arg(raw: &str) -> Result<Binary, String> {
    match raw.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => Ok(Binary {
            name: name.to_owned(),
            path: PathBuf::from(path),
        }),
        _ => Err(format!("expected NAME=PATH, got {raw:?}")),
    }
}

/// A binary with what is known of it before it runs.
struct Subject {
    binary: Binary,
    probe: Probe,
    size: u64,
    zipped: u64,
    samples: Vec<Sample>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(table) => {
            print!("{table}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("cold-start: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<String, String> {
    let baseline = match args.baseline {
        Some(path) => path,
        None => std::env::current_exe()
            .map_err(|error| format!("cannot find this binary's folder: {error}"))?
            .with_file_name("hello"),
    };
    if !baseline.is_file() {
        return Err(format!(
            "no baseline at {}: build it with `cargo build --release -p bench --bin hello` \
             or pass --baseline PATH",
            baseline.display()
        ));
    }
    let binaries = std::iter::once(Binary {
        name: "hello".to_owned(),
        path: baseline,
    })
    .chain(args.binaries);
    let mut subjects = Vec::new();
    for binary in binaries {
        let bytes = std::fs::read(&binary.path)
            .map_err(|error| format!("cannot read {}: {error}", binary.path.display()))?;
        let zipped = bootstrap_zip(&bytes)
            .map_err(|error| format!("cannot zip {}: {error}", binary.path.display()))?;
        subjects.push(Subject {
            probe: Probe::for_function(&binary.name),
            size: bytes.len() as u64,
            zipped: zipped.len() as u64,
            binary,
            samples: Vec::new(),
        });
    }
    let timeout = Duration::from_secs(args.timeout);
    // One untimed start each: a binary that cannot answer stops the benchmark before the
    // long part, and every timed run finds its binary in the page cache alike.
    for subject in &subjects {
        once(subject, timeout).await?;
    }
    // Round-robin, so a busy moment on this shared machine falls on every binary alike.
    for run in 1..=args.runs {
        eprint!("\rrun {run}/{}", args.runs);
        for subject in &mut subjects {
            let sample = once(subject, timeout).await?;
            subject.samples.push(sample);
        }
    }
    eprintln!();
    let mut rows = subjects.iter().map(row);
    let baseline = rows.next().ok_or("no baseline")??;
    let rows = rows.collect::<Result<Vec<_>, _>>()?;
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    Ok(format!(
        "cold start: {} runs of each binary, round-robin after one untimed run; fake Runtime \
         API on loopback; {cores} cores\n\
         init = exec to the first GET /runtime/invocation/next; response = exec to the \
         first invocation's response; ms\n{}",
        args.runs,
        render(&baseline, &rows)
    ))
}

async fn once(subject: &Subject, timeout: Duration) -> Result<Sample, String> {
    cold_start(
        &subject.binary.name,
        &subject.binary.path,
        &subject.probe,
        timeout,
    )
    .await
    .map_err(|failure: Failure| {
        format!(
            "{} ({}): {failure}",
            subject.binary.name,
            subject.binary.path.display()
        )
    })
}

fn row(subject: &Subject) -> Result<Row, String> {
    let phase = |pick: fn(&Sample) -> Duration| {
        let samples: Vec<Duration> = subject.samples.iter().map(pick).collect();
        summarize(&samples).ok_or_else(|| format!("{}: no runs", subject.binary.name))
    };
    Ok(Row {
        name: subject.binary.name.clone(),
        size: subject.size,
        zipped: subject.zipped,
        init: phase(|sample| sample.init)?,
        first_response: phase(|sample| sample.first_response)?,
        status: subject.samples.first().map_or(0, |sample| sample.status),
    })
}
