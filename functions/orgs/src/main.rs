//! The `orgs` Lambda: answers `/orgs/{organization_id}/**`: an organization's members,
//! their roles and its invitations.
//!
//! The routes are `api::routes::plain::orgs` (the same routes local-dev mounts, without
//! their OpenAPI documentation);
//! `lambda::run_equipped` reads the configuration, connects to DynamoDB, adds the mail
//! (SES) and serves them.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::run_equipped(api::routes::plain::orgs, lambda::mailing).await
}
