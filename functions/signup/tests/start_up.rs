//! A deployed function refuses to start without a usable signing key, and says why.
//! The binary runs as Lambda would start it, before any request arrives.

use std::process::{Command, Output};

fn start(env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_signup"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MEM0_TABLE", "mem0")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the signup binary runs")
}

fn assert_refused(output: &Output, reason: &str) {
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "it started anyway: {logs}");
    assert!(
        logs.contains(&format!("cannot start: {reason}")),
        "expected {reason:?} in: {logs}"
    );
}

#[test]
fn without_a_signing_secret_it_names_the_variable_to_set() {
    assert_refused(&start(&[]), "MEM0_JWT_SECRET_ARN is not set");
}

#[test]
fn a_key_shorter_than_32_bytes_is_refused() {
    assert_refused(
        &start(&[("MEM0_JWT_SECRET", "too-short")]),
        "token settings",
    );
}

#[test]
fn a_secret_that_cannot_be_read_stops_the_cold_start() {
    // tests/run.sh serves a DynamoDB-compatible server that also answers for
    // Secrets Manager; this secret was never created there.
    let endpoint = std::env::var("MEM0_TEST_DYNAMODB_ENDPOINT")
        .expect("MEM0_TEST_DYNAMODB_ENDPOINT is not set: run tests/run.sh");
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:never-created-AbCdEf";
    let output = start(&[
        ("MEM0_JWT_SECRET_ARN", arn),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &endpoint),
    ]);
    assert_refused(&output, &format!("cannot read the signing secret {arn}"));
}
