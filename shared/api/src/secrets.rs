//! The token signing key, fetched from AWS Secrets Manager once per cold start, so
//! it never sits in the function's environment or in the template.

use aws_config::BehaviorVersion;
use secrecy::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the signing secret {secret_id}: {cause}")]
    Unreadable { secret_id: String, cause: String },
    #[error("the signing secret {0} has no string value")]
    NotAString(String),
}

/// The `SecretString` of `secret_id` (an ARN or a name). The endpoint can be
/// overridden as for any AWS SDK client (`AWS_ENDPOINT_URL_SECRETS_MANAGER`), which
/// the tests use to point at a local server.
pub async fn fetch(secret_id: &str) -> Result<SecretString, SecretError> {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .http_client(store::dynamo::https_client())
        .load()
        .await;
    let output = aws_sdk_secretsmanager::Client::new(&shared)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|error| SecretError::Unreadable {
            secret_id: secret_id.to_owned(),
            cause: aws_sdk_secretsmanager::error::DisplayErrorContext(error).to_string(),
        })?;
    output
        .secret_string
        .map(SecretString::from)
        .ok_or_else(|| SecretError::NotAString(secret_id.to_owned()))
}
