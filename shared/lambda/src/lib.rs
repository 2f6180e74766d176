//! The Lambda front door every function uses: configuration -> signing secret ->
//! store -> router -> `lambda_http::run`, and one structured log line per request.

pub mod aws;
mod env;
mod logging;
mod secrets;
pub mod ses;

pub use logging::init as init_logging;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use api::{App, ClientAddr, Config, RequestSummary, SharedApp, SigningSecret};
use aws_config::SdkConfig;
use axum::Router;
use axum::response::Response;
use claims::TokenKeys;
use lambda_http::request::RequestContext;
use lambda_http::{RequestExt, tower};
use store::dynamo::{DynamoConfig, DynamoStore};
use tower::{Layer, Service};
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};

/// An API function's whole life: read the configuration and the signing secret
/// (refusing to start without a usable one), connect to DynamoDB, then answer `routes`
/// until shut down. Logs are JSON when Lambda's `AWS_LAMBDA_LOG_FORMAT` says so.
pub async fn run(routes: fn() -> api::routes::Plain) -> Result<(), lambda_http::Error> {
    run_equipped(routes, |app, _, _| Ok(app)).await
}

/// [`run`] for a function that needs more than the store and the keys: `equip` adds it
/// to the app ([`mailing`], [`fetching_client_metadata`]). Each is linked only into the
/// functions that name it: the others carry neither SES nor an HTTP client of their own.
pub async fn run_equipped(
    routes: fn() -> api::routes::Plain,
    equip: impl FnOnce(App, &Config, &SdkConfig) -> Result<App, lambda_http::Error>,
) -> Result<(), lambda_http::Error> {
    serve_app(equip, |app, _| api::router(app, routes())).await
}

/// [`run`] for a function whose router is not a group of REST routes (`/mcp`): `build`
/// makes it from the app and the configuration.
pub async fn run_router(
    build: impl FnOnce(SharedApp, &Config) -> Router,
) -> Result<(), lambda_http::Error> {
    serve_app(|app, _, _| Ok(app), build).await
}

async fn serve_app(
    equip: impl FnOnce(App, &Config, &SdkConfig) -> Result<App, lambda_http::Error>,
    build: impl FnOnce(SharedApp, &Config) -> Router,
) -> Result<(), lambda_http::Error> {
    logging::init();
    let (app, config) = start(equip).await.inspect_err(|error| {
        tracing::error!("cannot start: {error}");
    })?;
    serve(build(Arc::new(app), &config)).await
}

/// Everything a cold start does before the first request.
async fn start(
    equip: impl FnOnce(App, &Config, &SdkConfig) -> Result<App, lambda_http::Error>,
) -> Result<(App, Config), lambda_http::Error> {
    let config = Config::from_env()?;
    // One AWS configuration (credentials, region, HTTPS client) for every client.
    let aws = aws::from_environment();
    let tokens = token_keys(&config, &aws).await?;
    let store = DynamoStore::with_aws_config(
        &aws,
        DynamoConfig {
            table: config.table.clone(),
            endpoint: config.dynamodb_endpoint.clone(),
        },
    );
    // No table creation here: it would link four more DynamoDB operations into every
    // function. Deployed tables come from infra/, local ones from `local-dev table`.
    let app = App::new(Arc::new(store), tokens, config.limits)
        .with_links(config.links.clone())
        .with_sessions(config.sessions);
    let app = equip(app, &config, &aws)?;
    Ok((app, config))
}

/// Equips a function that sends mail (signup, orgs): to an outbox folder when one is
/// configured (local runs), else through SES when a sender is, else nowhere (said
/// once, here).
pub fn mailing(app: App, config: &Config, aws: &SdkConfig) -> Result<App, lambda_http::Error> {
    let mailer: Arc<dyn api::Mailer> = if let Some(dir) = &config.outbox_dir {
        Arc::new(api::mail::Outbox::open(dir)?)
    } else {
        match ses::SesSettings::from_vars(|name| std::env::var(name).ok()) {
            // Links in mail must point at the deployed pages, never at the local default.
            Some(_) if config.public_origin.is_none() => {
                tracing::error!(
                    "{} is set but {} is not: this function sends no mail",
                    ses::MAIL_FROM,
                    api::config::vars::PUBLIC_ORIGIN
                );
                Arc::new(api::mail::NotConfigured)
            }
            Some(settings) => Arc::new(ses::SesMailer::new(aws, settings)),
            None => {
                tracing::info!("{} is not set: this function sends no mail", ses::MAIL_FROM);
                Arc::new(api::mail::NotConfigured)
            }
        }
    };
    Ok(app.with_mail(mailer, config.links.clone()))
}

/// Equips the authorization server (oauth): it fetches the Client ID Metadata Documents
/// clients name, over HTTPS from public addresses only.
pub fn fetching_client_metadata(
    app: App,
    _: &Config,
    _: &SdkConfig,
) -> Result<App, lambda_http::Error> {
    Ok(app.with_client_metadata(Arc::new(api::oauth::HttpFetcher::new(false))))
}

/// The keys the function signs and verifies tokens with, read once per cold start: the
/// key set (or bare key) of `MEM0_JWT_SECRET`, or of the Secrets Manager secret
/// `MEM0_JWT_SECRET_ARN` names. An instance keeps these keys for its whole life, so after
/// a rotation it goes on signing with the old key until it is recycled; that is why the
/// old key keeps verifying until its `retire_after` (docs/keys.md).
pub async fn token_keys(config: &Config, aws: &SdkConfig) -> Result<TokenKeys, lambda_http::Error> {
    let secret = match &config.signing_secret {
        SigningSecret::Value(secret) => secret.clone(),
        SigningSecret::SecretsManager(secret_id) => secrets::fetch(aws, secret_id).await?,
    };
    Ok(config.token_keys(&secret)?)
}

/// Serves `router` until the Lambda runtime shuts the process down.
pub async fn serve(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(front_door(router)).await
}

/// `router` as Lambda invokes it: the caller's address from API Gateway's request
/// context, a trailing slash ignored, and one log line per request.
pub fn front_door(router: Router) -> FrontDoor {
    FrontDoor(NormalizePathLayer::trim_trailing_slash().layer(router))
}

/// See [`front_door`].
#[derive(Clone)]
pub struct FrontDoor(NormalizePath<Router>);

impl Service<lambda_http::Request> for FrontDoor {
    type Response = Response;
    type Error = Infallible;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<lambda_http::Request>::poll_ready(&mut self.0, context)
    }

    fn call(&mut self, event: lambda_http::Request) -> Self::Future {
        let started = Instant::now();
        let request_id = event
            .lambda_context_ref()
            .map(|context| context.request_id.clone());
        let (gateway_request_id, source_ip) = match event.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => {
                (context.request_id.clone(), context.http.source_ip.clone())
            }
            _ => (None, None),
        };
        let method = event.method().clone();
        let mut event = event;
        event
            .extensions_mut()
            .insert(ClientAddr(source_ip.unwrap_or_else(|| "unknown".into())));
        let answer = self.0.call(event);
        Box::pin(async move {
            let response = answer.await?;
            let summary = response.extensions().get::<RequestSummary>();
            tracing::info!(
                request_id,
                gateway_request_id,
                %method,
                route = summary.map_or("unknown", RequestSummary::route),
                status = response.status().as_u16(),
                latency_ms = started.elapsed().as_millis() as u64,
                user_id = summary.and_then(|s| s.user_id),
                read_units = summary.map_or(0.0, |s| s.usage.read_units),
                write_units = summary.map_or(0.0, |s| s.usage.write_units),
                "request"
            );
            Ok(response)
        })
    }
}
