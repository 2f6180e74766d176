//! The `login` Lambda: answers `POST /auth/login`, `GET /auth/me` and `POST /auth/logout`.
//!
//! The routes are `api::routes::plain::login` (the same routes local-dev mounts, without
//! their OpenAPI documentation);
//! `lambda::run` reads the configuration, connects to DynamoDB and serves them.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::run(api::routes::plain::login).await
}
