//! A cold start's key loading against a Secrets Manager (moto's, from
//! `MEM0_TEST_DYNAMODB_ENDPOINT`, as `tests/run.sh` serves it): the bare secret every
//! deployment had before key sets still loads, as the one key `legacy`, and so does a
//! JSON key set; a malformed one stops the start without showing the secret.

use api::Config;
use aws_config::SdkConfig;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use claims::{Subject, TokenKeys, unix_now};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

fn endpoint() -> String {
    std::env::var("MEM0_TEST_DYNAMODB_ENDPOINT")
        .expect("MEM0_TEST_DYNAMODB_ENDPOINT is not set: run tests/run.sh")
}

async fn aws() -> SdkConfig {
    lambda::aws::from_environment()
        .to_builder()
        .endpoint_url(endpoint())
        .build()
}

/// A new secret holding `value`; returns its ARN.
async fn secret(aws: &SdkConfig, value: &str) -> String {
    aws_sdk_secretsmanager::Client::new(aws)
        .create_secret()
        .name(format!("mem0-keys-test-{}", ulid::Ulid::new()))
        .secret_string(value)
        .send()
        .await
        .expect("moto creates the secret")
        .arn
        .expect("an ARN")
}

async fn load(aws: &SdkConfig, arn: &str) -> Result<TokenKeys, String> {
    let config = Config::from_vars(|name| match name {
        "MEM0_JWT_SECRET_ARN" => Some(arn.to_owned()),
        "MEM0_TABLE" => Some("mem0".to_owned()),
        _ => None,
    })
    .expect("config");
    lambda::token_keys(&config, aws)
        .await
        .map_err(|error| error.to_string())
}

fn subject() -> Subject {
    Subject {
        user_id: 1,
        email: "keys@example.com".into(),
        account_type: "individual".into(),
        role: "user".into(),
        organization_id: None,
        sid: None,
    }
}

fn kid(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).expect("a JWT").kid
}

#[tokio::test]
async fn a_bare_secret_loads_as_the_legacy_key_and_verifies_tokens_from_before_key_sets() {
    let aws = aws().await;
    let bare = "bare-secret-from-before-key-sets-0123456789";
    let keys = load(&aws, &secret(&aws, bare).await).await.expect("loads");
    let (token, claims) = keys.issue(subject()).expect("signs");
    assert_eq!(kid(&token).as_deref(), Some("legacy"));
    // What the functions issued before this change: no kid, signed with the bare bytes.
    let old = jsonwebtoken::encode(
        &Header {
            typ: Some("at+jwt".into()),
            ..Header::new(Algorithm::HS256)
        },
        &claims,
        &EncodingKey::from_secret(bare.as_bytes()),
    )
    .expect("signs");
    assert_eq!(keys.verify(&old).expect("still valid"), claims);
}

#[tokio::test]
async fn a_json_key_set_loads_and_its_newest_key_signs_while_the_older_verifies() {
    let aws = aws().await;
    let created = claims::keyset::rfc3339(unix_now() - 3600);
    let retire = claims::keyset::rfc3339(unix_now() + 24 * 3600);
    let set = format!(
        r#"{{"keys":[
            {{"kid":"old","secret":"{}","created_at":"{created}","retire_after":"{retire}"}},
            {{"kid":"new","secret":"{}","created_at":"{created}"}}]}}"#,
        URL_SAFE_NO_PAD.encode([1u8; 32]),
        URL_SAFE_NO_PAD.encode([2u8; 32]),
    );
    let keys = load(&aws, &secret(&aws, &set).await).await.expect("loads");
    let (token, claims) = keys.issue(subject()).expect("signs");
    assert_eq!(kid(&token).as_deref(), Some("new"));
    let by_old = jsonwebtoken::encode(
        &Header {
            typ: Some("at+jwt".into()),
            kid: Some("old".into()),
            ..Header::new(Algorithm::HS256)
        },
        &claims,
        &EncodingKey::from_secret(&[1u8; 32]),
    )
    .expect("signs");
    assert!(keys.verify(&by_old).is_ok());
}

#[tokio::test]
async fn a_malformed_key_set_stops_the_cold_start_without_showing_the_secret() {
    let aws = aws().await;
    let secret_text = URL_SAFE_NO_PAD.encode([3u8; 32]);
    let misspelt = format!(
        r#"{{"keys":[{{"kid":"a","secret":"{secret_text}","created_at":"2026-01-01T00:00:00Z","retire_at":"2026-01-02T00:00:00Z"}}]}}"#
    );
    let error = load(&aws, &secret(&aws, &misspelt).await)
        .await
        .expect_err("refused");
    assert!(error.contains("key set is malformed"), "{error}");
    assert!(!error.contains(&secret_text), "{error}");
}
