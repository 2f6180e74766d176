//! The Lambda front door: API Gateway event in, the shared handler, response out,
//! and one structured log line per request.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt, service_fn};
use store::dynamo::{DynamoConfig, DynamoStore};

use crate::{App, ClientAddr, Config, RequestSummary, RouteGroup, SigningSecret, secrets};

/// A function's whole life: read the configuration and the signing secret (refusing
/// to start without a usable one), connect to DynamoDB, then answer `routes` until
/// shut down. Logs are JSON when Lambda's `AWS_LAMBDA_LOG_FORMAT` says so.
pub async fn run(routes: impl RouteGroup) -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let started = start().await.inspect_err(|error| {
        tracing::error!("cannot start: {error}");
    })?;
    serve(started, routes).await
}

/// Everything a cold start does before the first request.
async fn start() -> Result<App, lambda_http::Error> {
    let config = Config::from_env()?;
    // One AWS configuration (credentials, region, HTTPS client) for both clients.
    let aws = store::dynamo::load_aws_config().await;
    let key = match &config.signing_secret {
        SigningSecret::Value(key) => key.clone(),
        SigningSecret::SecretsManager(secret_id) => secrets::fetch(&aws, secret_id).await?,
    };
    let tokens = config.token_keys(&key)?;
    let store = DynamoStore::with_aws_config(
        &aws,
        DynamoConfig {
            table: config.table.clone(),
            endpoint: config.dynamodb_endpoint.clone(),
        },
    );
    if config.dynamodb_endpoint.is_some() {
        // A local DynamoDB-compatible server (cargo lambda watch); deployed tables come from infra/.
        store.ensure_table().await?;
    }
    Ok(App::new(Arc::new(store), tokens, config.limits))
}

/// Serves `routes` until the Lambda runtime shuts the process down.
pub async fn serve(app: App, routes: impl RouteGroup) -> Result<(), lambda_http::Error> {
    let app = Arc::new(app);
    lambda_http::run(service_fn(move |event: lambda_http::Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, std::convert::Infallible>(answer(&app, routes, event).await) }
    }))
    .await
}

/// One invocation: the shared handler's response, and its log line with the
/// request ids, route template, status, latency, user id and request units.
pub async fn answer(
    app: &App,
    routes: impl RouteGroup,
    event: lambda_http::Request,
) -> lambda_http::Response<Body> {
    let started = Instant::now();
    let request_id = event
        .lambda_context_ref()
        .map(|context| context.request_id.clone());
    let gateway_request_id = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(context)) => context.request_id.clone(),
        _ => None,
    };
    let request = into_request(event);
    let method = request.method().clone();
    let response = crate::handle(app, routes, request).await;
    let summary = response.extensions().get::<RequestSummary>().copied();
    tracing::info!(
        request_id,
        gateway_request_id,
        %method,
        route = summary.map_or("unknown", |s| s.route),
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        user_id = summary.and_then(|s| s.user_id),
        read_units = summary.map_or(0.0, |s| s.usage.read_units),
        write_units = summary.map_or(0.0, |s| s.usage.write_units),
        "request"
    );
    // Every body the handlers write is JSON text.
    response.map(|body| Body::from(String::from_utf8_lossy(&body).into_owned()))
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
