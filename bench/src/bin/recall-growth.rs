//! Recall as a context grows: the contexts function's router in process, on the embedded
//! store and (with `--dynamodb-endpoint`) on a DynamoDB-compatible server, timed at each
//! size beside the same request at the smallest size, with the DynamoDB requests and
//! request units each operation spent. A page must cost the same whatever the context's
//! size: the run fails when one costs more requests or units than at the smallest size.
//!
//! `cargo run --release -p bench --bin recall-growth -- --sizes 1000,10000,100000`

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::{App, Limits, Links};
use axum::Router;
use bench::in_process::call;
use bench::load::percentile;
use bench::memories::{SEARCHED, memory_text};
use clap::Parser;
use domain::{ContextName, MemoryText, NewMemory, Tags, UserId};
use futures::{StreamExt, TryStreamExt};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use store::Store;
use store::usage::{Usage, measure};

#[derive(Parser)]
#[command(about = "recall, search and writes as a context grows, on both stores")]
struct Args {
    /// Context sizes on the embedded store, smallest first.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    sizes: Vec<usize>,
    /// A DynamoDB-compatible server (moto) to run the same on, with `--dynamodb-sizes`.
    #[arg(long)]
    dynamodb_endpoint: Option<String>,
    /// Context sizes on DynamoDB (filling moto is slow: a few ms a memory).
    #[arg(long, value_delimiter = ',', default_value = "100,500")]
    dynamodb_sizes: Vec<usize>,
    /// Timed requests per operation and size on DynamoDB: the figures that matter there
    /// (requests, units) are the same for every request, and moto's memory grows with
    /// every query of a large partition (23 GB after some 200 searches of 1,000 memories, 4.5 GB after a few
    /// dozen requests of 200).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    dynamodb_samples: u32,
    /// Timed requests per operation and size.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    samples: u32,
}

const SECRET: &str = "recall-growth-secret-recall-growth-secret";
const PASSWORD: &str = "quiet harbour lantern under seven birch trees";
const CONTEXT: &str = "growing";
/// Memories written at once while filling the context.
const FILL_CONCURRENCY: usize = 16;

/// One operation's figures at one size.
struct Measured {
    p50: Duration,
    p99: Duration,
    usage: Usage,
}

/// The requests timed at each size; the token is the caller's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Recall,
    NextPage,
    Search,
    Write,
}

impl Operation {
    const ALL: [Operation; 4] = [Self::Recall, Self::NextPage, Self::Search, Self::Write];

    fn name(self) -> &'static str {
        match self {
            Self::Recall => "recall (newest 20)",
            Self::NextPage => "recall, next page",
            Self::Search => "search",
            Self::Write => "POST memory",
        }
    }
}

struct Bench {
    /// The contexts function's router, built once as a Lambda instance does.
    contexts: Router,
    store: Arc<dyn Store>,
    token: String,
    owner: UserId,
    cursor: String,
    written: usize,
}

impl Bench {
    async fn new(store: Arc<dyn Store>, dir: &std::path::Path) -> Result<Self, String> {
        let outbox = api::mail::Outbox::open(&dir.join("outbox")).map_err(|e| e.to_string())?;
        let keys = claims::TokenKeys::new(&SECRET.to_owned().into(), Default::default())
            .map_err(|e| e.to_string())?;
        let limits = Limits {
            signups_per_client_per_hour: u32::MAX,
            ..Limits::default()
        };
        let app = Arc::new(
            App::new(Arc::clone(&store), keys, limits)
                .with_mail(Arc::new(outbox), Links::new("http://127.0.0.1:8000")),
        );
        let signup = json!({"email": "growth@example.com", "password": PASSWORD, "name": "Growth"});
        let (status, body) = call(
            api::router(Arc::clone(&app), api::routes::signup()),
            Method::POST,
            "/auth/signup/individual",
            None,
            Some(signup),
        )
        .await;
        let (Some(token), Some(owner)) = (
            body["user"]["jwt_token"].as_str(),
            body["user"]["user_id"].as_u64(),
        ) else {
            return Err(format!("signup answered {status}"));
        };
        let bench = Bench {
            contexts: api::router(app, api::routes::contexts()),
            store,
            token: token.to_owned(),
            owner: UserId(owner),
            cursor: String::new(),
            written: 0,
        };
        let (status, _) = bench
            .request(Method::POST, "/contexts", Some(json!({"name": CONTEXT})))
            .await;
        if status != StatusCode::CREATED {
            return Err(format!("creating the context answered {status}"));
        }
        Ok(bench)
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        call(self.contexts.clone(), method, path, Some(&self.token), body).await
    }

    /// Writes memories straight into the store until the context holds `size`.
    async fn fill_to(&mut self, size: usize) -> Result<(), String> {
        let name = ContextName::parse(CONTEXT).map_err(|e| e.to_string())?;
        let context = self
            .store
            .context_of(self.owner, &name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the context is gone")?;
        let store = &self.store;
        let context = &context;
        futures::stream::iter(self.written..size)
            .map(|index| async move {
                let memory = NewMemory {
                    text: MemoryText::parse(&memory_text(index)).map_err(|e| e.to_string())?,
                    tags: Tags::parse(["bench"]).map_err(|e| e.to_string())?,
                };
                store
                    .put_memory(context, memory)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
            .buffer_unordered(FILL_CONCURRENCY)
            .try_collect::<()>()
            .await?;
        self.written = self.written.max(size);
        // The second page starts after the first one's last memory.
        let (status, first) = self
            .request(Method::GET, &format!("/contexts/{CONTEXT}/memories"), None)
            .await;
        self.cursor = match first["next_cursor"].as_str() {
            Some(cursor) if status == StatusCode::OK => cursor.to_owned(),
            _ => return Err(format!("the first page answered {status} without a cursor")),
        };
        Ok(())
    }

    async fn time(&mut self, operation: Operation, samples: u32) -> Result<Measured, String> {
        let memories = format!("/contexts/{CONTEXT}/memories");
        let (path, method, expected) = match operation {
            Operation::Recall => (memories, Method::GET, StatusCode::OK),
            Operation::NextPage => (
                format!("{memories}?cursor={}", self.cursor),
                Method::GET,
                StatusCode::OK,
            ),
            Operation::Search => (
                format!("{memories}?query={SEARCHED}"),
                Method::GET,
                StatusCode::OK,
            ),
            Operation::Write => (memories, Method::POST, StatusCode::CREATED),
        };
        let mut latencies = Vec::with_capacity(samples as usize);
        let mut usage = Usage::default();
        for _ in 0..samples {
            let body = (operation == Operation::Write).then(|| {
                self.written += 1;
                json!({"text": memory_text(self.written), "tags": ["bench"]})
            });
            let started = Instant::now();
            let ((status, _), spent) = measure(self.request(method.clone(), &path, body)).await;
            latencies.push(started.elapsed());
            if status != expected {
                return Err(format!("{} answered {status}", operation.name()));
            }
            // Every request of an operation costs the same; keep the costliest.
            if spent.read_units + spent.write_units > usage.read_units + usage.write_units
                || spent.requests > usage.requests
            {
                usage = spent;
            }
        }
        latencies.sort_unstable();
        Ok(Measured {
            p50: percentile(&latencies, 0.5),
            p99: percentile(&latencies, 0.99),
            usage,
        })
    }
}

/// Fills one store's context size by size and times every operation at each; the rows
/// of the table, or why the run stopped.
async fn run_store(
    label: &str,
    store: Arc<dyn Store>,
    sizes: &[usize],
    samples: u32,
    rows: &mut Vec<String>,
) -> Result<bool, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut bench = Bench::new(store, dir.path()).await?;
    let mut smallest: Vec<Measured> = Vec::new();
    let mut bounded = true;
    for &size in sizes {
        let filling = Instant::now();
        bench.fill_to(size).await?;
        eprintln!(
            "{label}: {size} memories written in {:.1} s",
            filling.elapsed().as_secs_f64()
        );
        for (index, operation) in Operation::ALL.into_iter().enumerate() {
            let measured = bench.time(operation, samples).await?;
            let base = smallest.get(index).unwrap_or(&measured);
            let grew = measured.usage.requests > base.usage.requests
                || measured.usage.read_units > base.usage.read_units
                || measured.usage.write_units > base.usage.write_units;
            // Search reads a bounded set of candidates, so its cost stops growing once the
            // context holds more than that set; recall and writes must not grow at all.
            if grew && operation != Operation::Search {
                bounded = false;
            }
            rows.push(format!(
                "{label:<9} {size:>8} {:<20} {:>8.3} {:>8.3} {:>6.2} {:>6.2} {:>5} {:>7.1} {:>7.1}{}",
                operation.name(),
                millis(measured.p50),
                millis(measured.p99),
                ratio(measured.p50, base.p50),
                ratio(measured.p99, base.p99),
                measured.usage.requests,
                measured.usage.read_units,
                measured.usage.write_units,
                if grew { "  grew" } else { "" },
            ));
            if smallest.len() == index {
                smallest.push(measured);
            }
        }
    }
    Ok(bounded)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn ratio(value: Duration, base: Duration) -> f64 {
    if base.is_zero() {
        0.0
    } else {
        value.as_secs_f64() / base.as_secs_f64()
    }
}

async fn measure_all(args: &Args) -> Result<bool, String> {
    let mut rows = Vec::new();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let embedded = store::embedded::EmbeddedStore::open(&dir.path().join("mem0.sqlite3"))
        .map_err(|e| e.to_string())?;
    let mut bounded = run_store(
        "embedded",
        Arc::new(embedded),
        &args.sizes,
        args.samples,
        &mut rows,
    )
    .await?;
    if let Some(endpoint) = &args.dynamodb_endpoint {
        let dynamo = store::dynamo::DynamoStore::connect(store::dynamo::DynamoConfig {
            table: format!("recall-growth-{}", std::process::id()),
            endpoint: Some(endpoint.clone()),
        })
        .await;
        dynamo.ensure_table().await.map_err(|e| e.to_string())?;
        bounded &= run_store(
            "dynamodb",
            Arc::new(dynamo),
            &args.dynamodb_sizes,
            args.dynamodb_samples,
            &mut rows,
        )
        .await?;
    }
    println!(
        "{:<9} {:>8} {:<20} {:>8} {:>8} {:>6} {:>6} {:>5} {:>7} {:>7}",
        "store", "memories", "request", "p50 ms", "p99 ms", "×p50", "×p99", "reqs", "RRU", "WRU"
    );
    for row in rows {
        println!("{row}");
    }
    println!(
        "(×: against the same request at the smallest size; reqs, RRU, WRU: DynamoDB requests \
         and read/write request units of the costliest sample, as the store reports them)"
    );
    Ok(bounded)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match measure_all(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("a recall or a write cost more at a larger size than at the smallest");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("recall-growth: {error}");
            ExitCode::FAILURE
        }
    }
}
