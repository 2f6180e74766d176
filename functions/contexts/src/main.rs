//! The `contexts` Lambda: answers `/contexts/**`: contexts and their memories.
//!
//! The routes are `api::routes::contexts` (the same router local-dev mounts);
//! `lambda::run` reads the configuration, connects to DynamoDB and serves them.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::run(api::routes::contexts).await
}
