//! The benchmark's measurement against real processes: the hello-world baseline, and
//! binaries that do not behave like a Lambda function.

use std::path::Path;
use std::time::{Duration, Instant};

use bench::measure::cold_start;
use bench::probe::Probe;

const TIMEOUT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn the_hello_world_function_asks_for_work_then_answers_the_event() {
    let hello = Path::new(env!("CARGO_BIN_EXE_hello"));
    let sample = cold_start("hello", hello, &Probe::for_function("hello"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(sample.status, 200);
    assert!(sample.init > Duration::ZERO);
    assert!(sample.init < sample.first_response, "{sample:?}");
}

#[tokio::test]
async fn an_answer_with_another_status_than_expected_fails_the_run() {
    let hello = Path::new(env!("CARGO_BIN_EXE_hello"));
    let failure = cold_start("login", hello, &Probe::for_function("login"), TIMEOUT)
        .await
        .unwrap_err();
    assert!(
        failure.reason.contains("with 200, not 401"),
        "{}",
        failure.reason
    );
}

#[tokio::test]
async fn a_binary_that_exits_at_start_fails_at_once_with_its_output() {
    // The benchmark itself, without arguments, prints its usage and exits 2.
    let not_a_function = Path::new(env!("CARGO_BIN_EXE_cold-start"));
    let started = Instant::now();
    let failure = cold_start(
        "signup",
        not_a_function,
        &Probe::for_function("signup"),
        TIMEOUT,
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < TIMEOUT / 2);
    assert!(
        failure.reason.contains("exited") && failure.reason.contains('2'),
        "{}",
        failure.reason
    );
    assert!(failure.output.contains("Usage"), "{}", failure.output);
}
