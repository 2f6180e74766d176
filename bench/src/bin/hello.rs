//! The baseline: the smallest `lambda_http` function, built with the workspace's release
//! profile, so the functions' cold starts and sizes read as ratios to it.

use lambda_http::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_| async { Ok::<_, Error>("hello") })).await
}
