//! The `login` Lambda: answers `POST /auth/login` and `GET /auth/me`.
//!
//! `api::lambda::run` reads the configuration, connects to DynamoDB and serves these
//! routes with the handlers in `shared/api`, the same ones local-dev mounts.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::lambda::run(api::Login).await
}
