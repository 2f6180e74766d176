//! The `contexts` Lambda: answers `/contexts/**`: contexts and their memories.
//!
//! The routes are `api::routes::plain::contexts` (the same routes local-dev mounts, without
//! their OpenAPI documentation);
//! `lambda::run` reads the configuration, connects to DynamoDB and serves them.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::run(api::routes::plain::contexts).await
}
