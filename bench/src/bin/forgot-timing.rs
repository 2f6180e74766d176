//! `POST /auth/password/forgot` for an email with an account against one without: the
//! answer must not tell them apart (ASVS 6.3.x / 6.4.x). Runs the signup function's
//! router in process on an embedded store file with the outbox mailer, as local-dev
//! does, alternating known and unknown emails; prints both medians and their ratio,
//! and fails when the medians are more than 10% apart.
//!
//! `cargo run --release -p bench --bin forgot-timing -- --samples 15`

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::{App, Limits, Links};
use bench::in_process::call;
use clap::Parser;
use http::{Method, StatusCode};
use serde_json::json;
use store::embedded::EmbeddedStore;

#[derive(Parser)]
struct Args {
    /// Requests per kind of email.
    #[arg(long, default_value_t = 15)]
    samples: usize,
}

const SECRET: &str = "forgot-timing-secret-forgot-timing-secret";

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = EmbeddedStore::open(&dir.path().join("mem0.sqlite3")).expect("the store");
    let outbox = api::mail::Outbox::open(&dir.path().join("outbox")).expect("the outbox");
    let keys =
        claims::TokenKeys::new(&SECRET.to_owned().into(), Default::default()).expect("token keys");
    let limits = Limits {
        signups_per_client_per_hour: u32::MAX,
        password_resets_per_address: u32::MAX,
        password_resets_per_account: u32::MAX,
        ..Limits::default()
    };
    let app = Arc::new(
        App::new(Arc::new(store), keys, limits)
            .with_mail(Arc::new(outbox), Links::new("http://127.0.0.1:8000")),
    );
    let known = "known-account@example.com";
    let router = api::router(app, api::routes::signup());
    let signup = json!({"email": known, "password": "a long passphrase here", "name": "Known"});
    let (signed_up, _) = call(
        router.clone(),
        Method::POST,
        "/auth/signup/individual",
        None,
        Some(signup),
    )
    .await;
    assert_eq!(signed_up, StatusCode::CREATED);

    let mut timings: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for i in 0..args.samples {
        for (kind, email) in [known.to_owned(), format!("nobody-{i}@example.com")]
            .into_iter()
            .enumerate()
        {
            let started = Instant::now();
            let (answered, _) = call(
                router.clone(),
                Method::POST,
                "/auth/password/forgot",
                None,
                Some(json!({"email": email})),
            )
            .await;
            timings[kind].push(started.elapsed());
            assert_eq!(answered, StatusCode::OK, "forgot for {email}");
        }
    }
    let mails = std::fs::read_dir(dir.path().join("outbox"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    // The signup's verification mail, then one reset mail per known request.
    assert_eq!(mails, args.samples + 1, "only the known email gets mail");

    let [known_times, unknown_times] = timings;
    let median = |samples: &[Duration]| {
        bench::stats::summarize(samples)
            .expect("at least one sample")
            .median
    };
    let (known_median, unknown_median) = (median(&known_times), median(&unknown_times));
    let ratio = known_median.as_secs_f64() / unknown_median.as_secs_f64();
    println!("forgot-password, {} requests each", args.samples);
    println!("{:<16} {:>12}", "email", "median");
    println!(
        "{:<16} {:>9.1} ms",
        "known",
        known_median.as_secs_f64() * 1e3
    );
    println!(
        "{:<16} {:>9.1} ms",
        "unknown",
        unknown_median.as_secs_f64() * 1e3
    );
    println!("known / unknown  {ratio:>9.3}");
    if (0.9..=1.1).contains(&ratio) {
        ExitCode::SUCCESS
    } else {
        eprintln!("the medians are more than 10% apart");
        ExitCode::FAILURE
    }
}
