//! local-dev: the three Lambdas' handlers and the static pages in one process on
//! http://127.0.0.1:8000, with an embedded store so it needs nothing but cargo.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get_service;
use clap::{Parser, ValueEnum};
use store::Store;
use store::dynamo::{DynamoConfig, DynamoStore};
use store::embedded::EmbeddedStore;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

mod data_dir;
mod secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    /// SQLite file in the data directory; needs nothing else.
    Embedded,
    /// A DynamoDB(-compatible) server; the table is created if missing.
    Dynamodb,
}

/// Serves the mem0 API and web pages locally.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one and prints it).
    #[arg(long, env = "PORT", default_value_t = 8000)]
    port: u16,
    /// Where the embedded store and the token signing secret are kept.
    #[arg(long, env = "MEM0_DATA_DIR", default_value = "./.mem0-local")]
    data_dir: PathBuf,
    #[arg(long, env = "MEM0_STORE", value_enum, default_value_t = StoreKind::Embedded)]
    store: StoreKind,
    /// DynamoDB table (with --store dynamodb).
    #[arg(long, env = "MEM0_TABLE", default_value = "mem0")]
    table: String,
    /// DynamoDB endpoint, e.g. a local server (with --store dynamodb).
    #[arg(long, env = "DYNAMODB_ENDPOINT")]
    dynamodb_endpoint: Option<String>,
    /// Access token lifetime in seconds.
    #[arg(long, env = "MEM0_TOKEN_TTL_SECONDS", default_value_t = claims::DEFAULT_LIFETIME.as_secs())]
    token_ttl_seconds: u64,
    /// Signups one client address may attempt per hour.
    #[arg(long, env = "MEM0_SIGNUPS_PER_HOUR", default_value_t = api::Limits::default().signups_per_client_per_hour)]
    signups_per_hour: u32,
    /// Failed logins per 15 minutes at one account from one address before login answers 429.
    #[arg(long, env = "MEM0_FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS", default_value_t = api::Limits::default().failed_logins_per_account_and_address)]
    failed_logins_per_account_and_address: u32,
    /// Failed logins per 15 minutes from one address, at any accounts.
    #[arg(long, env = "MEM0_FAILED_LOGINS_PER_ADDRESS", default_value_t = api::Limits::default().failed_logins_per_address)]
    failed_logins_per_address: u32,
    /// Failed logins per 15 minutes at one account, from any addresses.
    #[arg(long, env = "MEM0_FAILED_LOGINS_PER_ACCOUNT", default_value_t = api::Limits::default().failed_logins_per_account)]
    failed_logins_per_account: u32,
    /// Folder with the web pages.
    #[arg(long, env = "MEM0_STATIC_DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/static"))]
    static_dir: PathBuf,
}

type StartError = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match serve(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("local-dev: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> Result<(), StartError> {
    data_dir::create_private(&args.data_dir).map_err(|error| {
        format!(
            "cannot create the data directory {}: {error}",
            args.data_dir.display()
        )
    })?;
    let secret = secret::load_or_create(&args.data_dir.join("jwt-secret"))?;
    let tokens = claims::TokenKeys::new(
        &secret,
        claims::TokenSettings {
            lifetime: std::time::Duration::from_secs(args.token_ttl_seconds),
            ..claims::TokenSettings::default()
        },
    )?;
    let store = open_store(&args).await?;
    let limits = api::Limits {
        signups_per_client_per_hour: args.signups_per_hour,
        failed_logins_per_account_and_address: args.failed_logins_per_account_and_address,
        failed_logins_per_address: args.failed_logins_per_address,
        failed_logins_per_account: args.failed_logins_per_account,
    };
    let app = Arc::new(api::App::new(store, tokens, limits));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|error| {
            format!(
                "cannot listen on 127.0.0.1:{}: {error} (pick another with --port)",
                args.port
            )
        })?;
    let address = listener.local_addr()?;
    // Tests and scripts wait for this exact line.
    println!("mem0 local-dev listening on http://{address}");
    axum::serve(
        listener,
        router(app, &args.static_dir).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

async fn open_store(args: &Args) -> Result<Arc<dyn Store>, StartError> {
    Ok(match args.store {
        StoreKind::Embedded => {
            let path = args.data_dir.join("mem0.sqlite3");
            tracing::info!(path = %path.display(), "embedded store");
            Arc::new(EmbeddedStore::open(&path)?)
        }
        StoreKind::Dynamodb => {
            let store = DynamoStore::connect(DynamoConfig {
                table: args.table.clone(),
                endpoint: args.dynamodb_endpoint.clone(),
            })
            .await;
            store.ensure_table().await?;
            tracing::info!(table = %args.table, "dynamodb store");
            Arc::new(store)
        }
    })
}

fn router(app: Arc<api::App>, static_dir: &Path) -> Router {
    let mut pages = Router::new();
    for page in site::PAGES {
        pages = pages.route(
            page.path,
            get_service(ServeFile::new(static_dir.join(page.file)))
                .fallback(page_method_not_allowed),
        );
    }
    pages = pages.nest_service(site::STATIC_PREFIX, ServeDir::new(static_dir));
    for (name, value) in site::SECURITY_HEADERS {
        pages = pages.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    pages
        .fallback(api_route)
        .with_state(app)
        // The API's JSON too: nothing this origin sends is to be sniffed.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(middleware::from_fn(log_request))
}

/// Every path that isn't a page goes to the same handlers the Lambdas run.
async fn api_route(
    State(app): State<Arc<api::App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, api::MAX_BODY_BYTES).await else {
        return into_axum(api::ApiError::PayloadTooLarge.into_response());
    };
    parts
        .extensions
        .insert(api::ClientAddr(peer.ip().to_string()));
    let response = api::handle(&app, api::All, Request::from_parts(parts, body)).await;
    into_axum(response)
}

/// Pages answer GET (and HEAD); other methods get the API's JSON 405.
async fn page_method_not_allowed() -> Response {
    into_axum(api::ApiError::MethodNotAllowed(&[Method::GET]).into_response())
}

fn into_axum(response: api::Response) -> Response {
    response.map(Body::from).into_response()
}

/// One line per request: method, path, status, milliseconds, and for API requests the
/// user and the DynamoDB request units they consumed. Never headers or bodies.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let response = next.run(request).await;
    let mut details = String::new();
    if let Some(summary) = response.extensions().get::<api::RequestSummary>() {
        if let Some(user_id) = summary.user_id {
            details.push_str(&format!(" user={user_id}"));
        }
        let usage = summary.usage;
        if usage.read_units > 0.0 || usage.write_units > 0.0 {
            details.push_str(&format!(
                " rru={} wru={}",
                usage.read_units, usage.write_units
            ));
        }
    }
    tracing::info!(
        "{method} {path} {} {}ms{details}",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}
