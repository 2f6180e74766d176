//! The token signing key set, fetched from AWS Secrets Manager once per cold start, so
//! it never sits in the function's environment or in the template. Its value is a JSON
//! key set or, as before key sets, one bare key (`claims::KeySet::parse`).

use aws_config::SdkConfig;
use secrecy::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the signing secret {secret_id}: {cause}")]
    Unreadable { secret_id: String, cause: String },
    #[error("the signing secret {0} has no string value")]
    NotAString(String),
}

/// The `SecretString` of `secret_id` (an ARN or a name), with the process's AWS
/// configuration `shared`. The endpoint can be
/// overridden as for any AWS SDK client (`AWS_ENDPOINT_URL_SECRETS_MANAGER`), which
/// the tests use to point at a local server.
pub async fn fetch(shared: &SdkConfig, secret_id: &str) -> Result<SecretString, SecretError> {
    let output = aws_sdk_secretsmanager::Client::new(shared)
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
