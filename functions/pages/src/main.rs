//! The `pages` Lambda: serves `site::embedded::router()` (the web pages, the static
//! files and the OpenAPI document, embedded at build time) on the API's origin.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda::init_logging();
    lambda::serve(site::embedded::router()).await
}
