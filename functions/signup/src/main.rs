//! The `signup` Lambda: answers `POST /auth/signup/individual` and `POST /auth/signup/organization`.
//!
//! The routes are `api::routes::plain::signup` (the same routes local-dev mounts, without
//! their OpenAPI documentation);
//! `lambda::run_equipped` reads the configuration, connects to DynamoDB, adds the mail
//! (SES) and serves them.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::run_equipped(api::routes::plain::signup, lambda::mailing).await
}
