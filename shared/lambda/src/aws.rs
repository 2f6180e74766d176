//! A function's AWS configuration, from what Lambda puts in its environment: the region
//! (`AWS_REGION`), the execution role's credentials (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and, for local runs, endpoint overrides
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, as the SDKs name them).
//!
//! Not aws-config's default chain: on Lambda the environment is where everything is,
//! and the chain (profile files, SSO, STS, instance metadata) was a fifth of each
//! binary and was set up at every cold start. Outside Lambda, export the variables
//! (`aws configure export-credentials --format env`). local-dev and `mem0 keys` keep
//! the whole chain (`store::dynamo::load_aws_config`).

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::env::{Lookup, nonempty};

/// The configuration every SDK client of the function starts from.
pub fn from_environment() -> SdkConfig {
    from_vars(|name| std::env::var(name).ok())
}

fn from_vars(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> SdkConfig {
    let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| nonempty(&lookup, name));
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region.map(Region::new))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(store::dynamo::https_client())
        .service_config(EnvironmentEndpoints(Box::new(lookup)))
        .build()
}

/// Per-service settings from the environment: `AWS_ENDPOINT_URL_SECRETS_MANAGER`, then
/// `AWS_ENDPOINT_URL`, as aws-config reads them (without the profile files).
struct EnvironmentEndpoints(Box<Lookup>);

impl std::fmt::Debug for EnvironmentEndpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvironmentEndpoints")
    }
}

impl LoadServiceConfig for EnvironmentEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_uppercase().replace(' ', "_");
        nonempty(&self.0, &format!("{}_{service}", key.env()))
            .or_else(|| nonempty(&self.0, key.env()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> SdkConfig {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        from_vars(move |name| vars.get(name).cloned())
    }

    fn endpoint(config: &SdkConfig, service: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .expect("a complete key");
        config.service_config()?.load_config(key)
    }

    #[test]
    fn the_region_and_endpoints_come_from_the_variables_the_sdks_name() {
        let aws = config(&[
            ("AWS_REGION", "eu-west-3"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:5000"),
        ]);
        assert_eq!(aws.region().map(Region::as_ref), Some("eu-west-3"));
        assert_eq!(
            endpoint(&aws, "Secrets Manager").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(endpoint(&aws, "DynamoDB"), None);
        assert!(aws.credentials_provider().is_some());
    }

    #[test]
    fn the_global_endpoint_and_default_region_are_the_fallbacks() {
        let aws = config(&[
            ("AWS_DEFAULT_REGION", "us-west-2"),
            ("AWS_REGION", " "),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ]);
        assert_eq!(aws.region().map(Region::as_ref), Some("us-west-2"));
        assert_eq!(
            endpoint(&aws, "DynamoDB").as_deref(),
            Some("http://127.0.0.1:4566")
        );
        assert_eq!(config(&[]).region(), None);
    }
}
