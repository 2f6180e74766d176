//! Signing keys end to end: local-dev keeps its key set in the data directory, migrates
//! an older build's `jwt-secret`, and `local-dev keys rotate` rotates without logging
//! anyone out, until the old key's `retire_after` passes. With
//! `MEM0_TEST_DYNAMODB_ENDPOINT` (moto), the same command rotates a deployed secret in
//! Secrets Manager.

// Shared with e2e.rs, which uses the parts these tests leave out.
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::Value;
use support::Server;

/// `local-dev keys <args>` on `data_dir`, with no `MEM0_JWT_SECRET` in the way.
fn keys_command(data_dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(support::cargo_build("local-dev"))
        .arg("keys")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("MEM0_JWT_SECRET")
        .env("RUST_LOG", "warn")
        .output()
        .expect("local-dev runs");
    assert!(
        output.status.success(),
        "local-dev keys {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn key_file(data_dir: &Path) -> Value {
    let text = std::fs::read_to_string(data_dir.join("signing-keys.json")).expect("key file");
    serde_json::from_str(&text).expect("JSON")
}

fn kid(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).expect("a JWT").kid
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn a_data_directory_with_an_older_builds_jwt_secret_keeps_its_tokens_valid() {
    // What an older build left: the bare secret, hex, in jwt-secret (0600).
    let old_secret = "6f".repeat(48);
    let data_dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        data_dir.path().join("jwt-secret"),
        format!("{old_secret}\n"),
    )
    .expect("write");
    let server = Server::start_with_own_keys(data_dir);
    let (_, token) = server.new_user().await;
    // The token that build issued for this user: no kid, signed with the secret's bytes.
    let claims =
        claims::TokenKeys::new(&old_secret.clone().into(), claims::TokenSettings::default())
            .expect("keys")
            .verify(&token)
            .expect("signed with the migrated secret");
    let issued_before = jsonwebtoken::encode(
        &Header {
            typ: Some("at+jwt".into()),
            ..Header::new(Algorithm::HS256)
        },
        &claims,
        &EncodingKey::from_secret(old_secret.as_bytes()),
    )
    .expect("signs");

    let data_dir = server.stop();
    let dir = data_dir.path();
    assert!(!dir.join("jwt-secret").exists(), "no copy of the key left");
    let file = key_file(dir);
    assert_eq!(file["keys"].as_array().map(Vec::len), Some(1));
    assert_eq!(file["keys"][0]["kid"], "legacy");
    assert_eq!(
        file["keys"][0]["secret"],
        URL_SAFE_NO_PAD.encode(old_secret.as_bytes())
    );
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("signing-keys.json")), 0o600);

    let restarted = Server::start_with_own_keys(data_dir);
    for token in [&issued_before, &token] {
        restarted
            .get("/contexts", token)
            .await
            .expect(StatusCode::OK);
    }
}

#[tokio::test]
async fn rotating_keeps_both_keys_tokens_valid_until_the_old_key_retires() {
    let server = Server::start_with_own_keys(tempfile::tempdir().expect("temp dir"));
    let (email, before) = server.new_user().await;
    let old_kid = kid(&before).expect("tokens name their key");
    let data_dir = server.stop();

    let rotated = keys_command(data_dir.path(), &["rotate"]);
    let printed = String::from_utf8_lossy(&rotated.stdout).into_owned();
    let file = key_file(data_dir.path());
    let keys = file["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], old_kid.as_str());
    let new_kid = keys[1]["kid"].as_str().expect("kid").to_owned();
    assert!(
        printed.contains(&format!("added key {new_kid}")),
        "{printed}"
    );
    assert!(keys[0]["retire_after"].is_string(), "the old key retires");
    for key in keys {
        let secret = key["secret"].as_str().expect("secret");
        assert!(!printed.contains(secret), "a secret was printed");
    }

    let server = Server::start_with_own_keys(data_dir);
    server
        .get("/contexts", &before)
        .await
        .expect(StatusCode::OK);
    let login = server.login(&email).await;
    let after = login.expect(StatusCode::OK)["user"]["jwt_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(kid(&after).as_deref(), Some(new_kid.as_str()));
    server.get("/contexts", &after).await.expect(StatusCode::OK);
    let data_dir = server.stop();

    // One token lifetime later: the old key's retire_after has passed.
    let path = data_dir.path().join("signing-keys.json");
    let mut file = key_file(data_dir.path());
    file["keys"][0]["retire_after"] = claims::keyset::rfc3339(claims::unix_now() - 1).into();
    std::fs::write(&path, file.to_string()).expect("write");
    let server = Server::start_with_own_keys(data_dir);
    server
        .get("/contexts", &before)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    server.get("/contexts", &after).await.expect(StatusCode::OK);
    let data_dir = server.stop();

    let listed = keys_command(data_dir.path(), &["list"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains(&old_kid) && listed.contains("retired"),
        "{listed}"
    );
    let pruned = keys_command(data_dir.path(), &["prune"]);
    assert!(String::from_utf8_lossy(&pruned.stdout).contains(&format!("removed {old_kid}")));
    let file = key_file(data_dir.path());
    assert_eq!(file["keys"].as_array().map(Vec::len), Some(1));
    assert_eq!(file["keys"][0]["kid"], new_kid.as_str());
}

#[tokio::test]
async fn a_key_file_that_is_not_a_key_set_stops_the_start_and_names_the_file() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let path = data_dir.path().join("signing-keys.json");
    let secret = URL_SAFE_NO_PAD.encode([5u8; 32]);
    std::fs::write(
        &path,
        format!(r#"{{"keys":[{{"kid":"a","secret":"{secret}","created_at":"yesterday"}}]}}"#),
    )
    .expect("write");
    let output = Command::new(support::cargo_build("local-dev"))
        .args(["--port", "0", "--data-dir"])
        .arg(data_dir.path())
        .env_remove("MEM0_JWT_SECRET")
        .output()
        .expect("local-dev runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("signing-keys.json"), "{stderr}");
    assert!(stderr.contains("created_at"), "{stderr}");
    assert!(!stderr.contains(&secret), "{stderr}");
    // Left as it was, for its owner to fix.
    assert!(
        std::fs::read_to_string(&path)
            .expect("kept")
            .contains(&secret)
    );
}

/// The deployed procedure's first step: a bare secret, as every deployment before key
/// sets has, becomes a key set whose new key only verifies for the activation delay.
#[tokio::test]
async fn rotating_a_deployed_bare_secret_keeps_it_as_the_legacy_key_and_stages_the_new_one() {
    let Ok(endpoint) = std::env::var("MEM0_TEST_DYNAMODB_ENDPOINT") else {
        eprintln!(
            "skipped: set MEM0_TEST_DYNAMODB_ENDPOINT (tests/run.sh does) to rotate a secret \
             in moto's Secrets Manager"
        );
        return;
    };
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(store::dynamo::https_client())
        .endpoint_url(&endpoint)
        .load()
        .await;
    let client = aws_sdk_secretsmanager::Client::new(&aws);
    let bare = "deployed-bare-secret-0123456789-0123456789";
    let arn = client
        .create_secret()
        .name(format!("mem0-rotate-{}", ulid::Ulid::new()))
        .secret_string(bare)
        .send()
        .await
        .expect("moto creates the secret")
        .arn
        .expect("ARN");
    let output = Command::new(support::cargo_build("local-dev"))
        .args(["keys", "rotate", "--secret-id", &arn])
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &endpoint)
        .output()
        .expect("local-dev runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stored = client
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .expect("read back")
        .secret_string
        .expect("a string");
    let set: Value = serde_json::from_str(&stored).expect("a key set now");
    assert_eq!(set["keys"][0]["kid"], "legacy");
    assert_eq!(set["keys"][0]["secret"], URL_SAFE_NO_PAD.encode(bare));
    assert!(set["keys"][1]["signs_from"].is_string(), "{stored}");

    // A cold start on the new version still signs with the legacy key (the new one is
    // pending) and verifies both, so instances on either version understand each other.
    let keys =
        claims::TokenKeys::new(&stored.into(), claims::TokenSettings::default()).expect("loads");
    let old_instance =
        claims::TokenKeys::new(&bare.to_owned().into(), claims::TokenSettings::default())
            .expect("loads");
    let subject = claims::Subject {
        user_id: 1,
        email: "ops@example.com".into(),
        account_type: "individual".into(),
        role: "user".into(),
        organization_id: None,
        sid: None,
    };
    let (token, _) = keys.issue(subject).expect("signs");
    assert_eq!(kid(&token).as_deref(), Some("legacy"));
    assert!(old_instance.verify(&token).is_ok());
}
