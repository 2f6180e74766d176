//! The `signup` Lambda: answers `POST /auth/signup/individual` and `POST /auth/signup/organization`.
//!
//! The routes are `api::routes::signup` (the same router local-dev mounts);
//! `lambda::run_equipped` reads the configuration, connects to DynamoDB, adds the mail
//! (SES) and serves them.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::run_equipped(api::routes::signup, lambda::mailing).await
}
