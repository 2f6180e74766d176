//! The `contexts` Lambda: answers `/contexts/**`: contexts and their memories.
//! The handlers live in `shared/api`; this binary only wires configuration to them.

use std::sync::Arc;

use store::dynamo::{DynamoConfig, DynamoStore};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = api::Config::from_env()?;
    let store = DynamoStore::connect(DynamoConfig {
        table: config.table.clone(),
        endpoint: config.dynamodb_endpoint.clone(),
    })
    .await;
    if config.dynamodb_endpoint.is_some() {
        // A local DynamoDB-compatible server (cargo lambda watch); deployed tables come from infra/.
        store.ensure_table().await?;
    }
    let app = api::App::new(Arc::new(store), config.token_keys()?, config.limits);
    api::lambda::serve(app, api::Routes::Contexts).await
}
