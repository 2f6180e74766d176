//! The Lambda front door: API Gateway event in, the shared handler, response out.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt, service_fn};
use store::dynamo::{DynamoConfig, DynamoStore};

use crate::{App, ClientAddr, Config, RouteGroup};

/// A function's whole life: read the configuration (refusing to start without a
/// usable secret), connect to DynamoDB, then answer `routes` until shut down.
pub async fn run(routes: impl RouteGroup) -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let store = DynamoStore::connect(DynamoConfig {
        table: config.table.clone(),
        endpoint: config.dynamodb_endpoint.clone(),
    })
    .await;
    if config.dynamodb_endpoint.is_some() {
        // A local DynamoDB-compatible server (cargo lambda watch); deployed tables come from infra/.
        store.ensure_table().await?;
    }
    let app = App::new(Arc::new(store), config.token_keys()?, config.limits);
    serve(app, routes).await
}

/// Serves `routes` until the Lambda runtime shuts the process down.
pub async fn serve(app: App, routes: impl RouteGroup) -> Result<(), lambda_http::Error> {
    let app = Arc::new(app);
    lambda_http::run(service_fn(move |event: lambda_http::Request| {
        let app = Arc::clone(&app);
        async move {
            let started = Instant::now();
            let request = into_request(event);
            let (method, path) = (request.method().clone(), request.uri().path().to_owned());
            let response = crate::handle(&app, routes, request).await;
            tracing::info!(
                %method,
                %path,
                status = response.status().as_u16(),
                ms = started.elapsed().as_millis() as u64,
                "request"
            );
            Ok::<_, std::convert::Infallible>(
                response.map(|body| Body::from(String::from_utf8_lossy(&body).into_owned())),
            )
        }
    }))
    .await
}

fn into_request(event: lambda_http::Request) -> crate::Request {
    let source_ip = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(context)) => context.identity.source_ip.clone(),
        _ => None,
    };
    let (mut parts, body) = event.into_parts();
    parts
        .extensions
        .insert(ClientAddr(source_ip.unwrap_or_else(|| "unknown".into())));
    http::Request::from_parts(parts, Bytes::copy_from_slice(body.as_ref()))
}
