//! local-dev: the Lambdas' handlers and the static pages in one process on
//! http://127.0.0.1:8000, with an embedded store so it needs nothing but cargo.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use api::config::vars;
use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, get_service};
use clap::{Parser, Subcommand, ValueEnum};
use store::Store;
use store::dynamo::{DynamoConfig, DynamoStore};
use store::embedded::EmbeddedStore;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

mod data_dir;
mod keys;
mod memory;
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
    /// Where the embedded store, the token signing keys and the mail outbox are kept.
    #[arg(
        long,
        env = "MEM0_DATA_DIR",
        default_value = "./.mem0-local",
        global = true
    )]
    data_dir: PathBuf,
    #[arg(long, env = "MEM0_STORE", value_enum, default_value_t = StoreKind::Embedded)]
    store: StoreKind,
    /// DynamoDB table (with --store dynamodb, and for `table`).
    #[arg(long, env = vars::TABLE, default_value = "mem0", global = true)]
    table: String,
    /// DynamoDB endpoint, e.g. a local server (with --store dynamodb, and for `table`).
    #[arg(long, env = vars::DYNAMODB_ENDPOINT, global = true)]
    dynamodb_endpoint: Option<String>,
    /// Access token lifetime in seconds (for `keys rotate`: the longest any server uses).
    #[arg(long, env = vars::TOKEN_TTL_SECONDS, default_value_t = claims::DEFAULT_LIFETIME.as_secs(), global = true)]
    token_ttl_seconds: u64,
    /// OAuth access token (for /mcp) lifetime in seconds; short values force refreshes in tests.
    #[arg(long, env = vars::OAUTH_ACCESS_TOKEN_SECONDS, default_value_t = claims::grant::DEFAULT_LIFETIME.as_secs())]
    oauth_access_token_seconds: u64,
    /// OAuth client registrations one address may make per hour.
    #[arg(long, env = vars::OAUTH_REGISTRATIONS_PER_HOUR, default_value_t = api::Limits::default().oauth_registrations_per_address)]
    oauth_registrations_per_hour: u32,
    /// OAuth token requests one address may make per 15 minutes.
    #[arg(long, env = vars::OAUTH_TOKEN_REQUESTS_PER_ADDRESS, default_value_t = api::Limits::default().oauth_token_requests_per_address)]
    oauth_token_requests_per_address: u32,
    /// Fetch Client ID Metadata Documents over plain http and from private or loopback
    /// addresses too (local agents under test); never for a deployment.
    #[arg(long)]
    allow_insecure_client_metadata: bool,
    /// Signups one client address may attempt per hour.
    #[arg(long, env = vars::SIGNUPS_PER_HOUR, default_value_t = api::Limits::default().signups_per_client_per_hour)]
    signups_per_hour: u32,
    /// Failed logins per 15 minutes at one account from one address before login answers 429.
    #[arg(long, env = vars::FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS, default_value_t = api::Limits::default().failed_logins_per_account_and_address)]
    failed_logins_per_account_and_address: u32,
    /// Failed logins per 15 minutes from one address, at any accounts.
    #[arg(long, env = vars::FAILED_LOGINS_PER_ADDRESS, default_value_t = api::Limits::default().failed_logins_per_address)]
    failed_logins_per_address: u32,
    /// Failed logins per 15 minutes at one account, from any addresses.
    #[arg(long, env = vars::FAILED_LOGINS_PER_ACCOUNT, default_value_t = api::Limits::default().failed_logins_per_account)]
    failed_logins_per_account: u32,
    /// How long an invitation's link works, in seconds.
    #[arg(long, env = vars::INVITATION_TTL_SECONDS, default_value_t = api::Limits::default().invitation_ttl_seconds)]
    invitation_ttl_seconds: u32,
    /// Invitations one organization may send per hour.
    #[arg(long, env = vars::INVITATIONS_PER_HOUR, default_value_t = api::Limits::default().invitations_per_hour)]
    invitations_per_hour: u32,
    /// Password reset requests per hour from one address, for any emails.
    #[arg(long, env = vars::PASSWORD_RESETS_PER_ADDRESS, default_value_t = api::Limits::default().password_resets_per_address)]
    password_resets_per_address: u32,
    /// Password reset requests per hour for one email, from any addresses.
    #[arg(long, env = vars::PASSWORD_RESETS_PER_ACCOUNT, default_value_t = api::Limits::default().password_resets_per_account)]
    password_resets_per_account: u32,
    /// Verification mails one account may ask for again per hour.
    #[arg(long, env = vars::VERIFICATION_MAILS_PER_ACCOUNT, default_value_t = api::Limits::default().verification_mails_per_account)]
    verification_mails_per_account: u32,
    /// The origin links in mail point at (default: the address local-dev listens on).
    #[arg(long, env = vars::PUBLIC_ORIGIN)]
    public_origin: Option<String>,
    /// A login session's absolute lifetime in seconds.
    #[arg(long, env = vars::SESSION_LIFETIME_SECONDS, default_value_t = api::SessionSettings::default().lifetime_seconds)]
    session_lifetime_seconds: u32,
    /// Seconds without a refresh after which a session ends.
    #[arg(long, env = vars::SESSION_IDLE_SECONDS, default_value_t = api::SessionSettings::default().idle_seconds)]
    session_idle_seconds: u32,
    /// Seconds in which a just-rotated refresh token still gets its child (concurrent refreshes).
    #[arg(long, env = vars::REFRESH_GRACE_SECONDS, default_value_t = api::SessionSettings::default().grace_seconds)]
    refresh_grace_seconds: u32,
    /// Folder with the web pages.
    #[arg(long, env = "MEM0_STATIC_DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/static"))]
    static_dir: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lists or rotates the token signing keys (docs/keys.md): the data directory's, or
    /// with --secret-id the deployed ones.
    Keys {
        #[command(subcommand)]
        action: keys::Action,
        /// The Secrets Manager secret (ARN or name) holding the deployed key set, instead
        /// of the data directory's.
        #[arg(long, global = true)]
        secret_id: Option<String>,
    },
    /// Creates the DynamoDB table (--table at --dynamodb-endpoint) if it is missing, as
    /// `--store dynamodb` does at start, and exits: for the Lambda functions under
    /// `cargo lambda watch`, which never create tables (infra/ does, when deployed).
    Table,
}

type StartError = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    memory::limit_arenas();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // The blocking pool runs the password hashes (one per core at most) and the
        // embedded store's calls (one connection, so one at a time): a thread more than
        // that per core only waits, with a stack and an allocator arena of its own. By
        // default the pool grows to 512 threads, one for each request in flight.
        .max_blocking_threads(cores + 2)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("local-dev: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(start())
}

async fn start() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in a log file.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    let outcome = match &args.command {
        Some(Command::Keys { action, secret_id }) => {
            keys::run(
                action,
                &args.data_dir,
                secret_id.as_deref(),
                std::time::Duration::from_secs(args.token_ttl_seconds),
            )
            .await
        }
        Some(Command::Table) => dynamo_store(&args).await.map(|_| ()),
        None => serve(args).await,
    };
    match outcome {
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
    // Read once: a rotation (`local-dev keys rotate`) takes effect at the next start.
    let key_set = secret::load_or_create(&args.data_dir)?;
    let tokens = claims::TokenKeys::from_key_set(
        &key_set,
        claims::TokenSettings {
            lifetime: std::time::Duration::from_secs(args.token_ttl_seconds),
            grant_lifetime: std::time::Duration::from_secs(args.oauth_access_token_seconds),
            ..claims::TokenSettings::default()
        },
    )?;
    let store = open_store(&args).await?;
    let limits = api::Limits {
        signups_per_client_per_hour: args.signups_per_hour,
        failed_logins_per_account_and_address: args.failed_logins_per_account_and_address,
        failed_logins_per_address: args.failed_logins_per_address,
        failed_logins_per_account: args.failed_logins_per_account,
        invitation_ttl_seconds: args.invitation_ttl_seconds,
        invitations_per_hour: args.invitations_per_hour,
        password_resets_per_address: args.password_resets_per_address,
        password_resets_per_account: args.password_resets_per_account,
        verification_mails_per_account: args.verification_mails_per_account,
        oauth_registrations_per_address: args.oauth_registrations_per_hour,
        oauth_token_requests_per_address: args.oauth_token_requests_per_address,
    };
    let sessions = api::SessionSettings {
        lifetime_seconds: args.session_lifetime_seconds,
        idle_seconds: args.session_idle_seconds,
        grace_seconds: args.refresh_grace_seconds,
    }
    .checked()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|error| {
            format!(
                "cannot listen on 127.0.0.1:{}: {error} (pick another with --port)",
                args.port
            )
        })?;
    let address = listener.local_addr()?;
    let origin = args
        .public_origin
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let outbox = api::mail::Outbox::open(&args.data_dir.join("outbox"))
        .map_err(|error| format!("cannot create the outbox folder: {error}"))?;
    let app = Arc::new(
        api::App::new(store, tokens, limits)
            .with_mail(Arc::new(outbox), api::Links::new(&origin))
            .with_sessions(sessions)
            .with_client_metadata(Arc::new(api::oauth::HttpFetcher::new(
                args.allow_insecure_client_metadata,
            ))),
    );
    tokio::spawn(memory::return_freed_memory_when_idle());
    // Tests and scripts wait for this exact line.
    println!("mem0 local-dev listening on http://{address}");
    // A trailing slash names the same route, as on the deployed functions.
    let mcp_hosts = api::mcp::allowed_hosts(Some(&origin));
    let service =
        NormalizePathLayer::trim_trailing_slash().layer(router(app, &args.static_dir, mcp_hosts));
    axum::serve(
        listener,
        axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(service),
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
        StoreKind::Dynamodb => Arc::new(dynamo_store(args).await?),
    })
}

/// The DynamoDB store of `args`, its table created if missing.
async fn dynamo_store(args: &Args) -> Result<DynamoStore, StartError> {
    let store = DynamoStore::connect(DynamoConfig {
        table: args.table.clone(),
        endpoint: args.dynamodb_endpoint.clone(),
    })
    .await;
    store.ensure_table().await?;
    tracing::info!(table = %args.table, "dynamodb store");
    Ok(store)
}

/// The OpenAPI document, generated from the code when first asked for: a start does
/// not build it (nor the routes' schemas) for the many runs that never read it.
fn openapi_json() -> &'static str {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(api::openapi::json)
}

/// The pages, `/openapi.json`, every function's routes and `/mcp` (answering only on
/// `mcp_hosts`), merged.
fn router(app: Arc<api::App>, static_dir: &Path, mcp_hosts: Vec<String>) -> Router {
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
    let openapi = Router::new().route(
        site::OPENAPI_PATH,
        get(|| std::future::ready(([(header::CONTENT_TYPE, "application/json")], openapi_json())))
            .fallback(page_method_not_allowed),
    );
    api::router(Arc::clone(&app), api::routes::plain::all())
        .merge(api::mcp::guarded_router(app, mcp_hosts))
        .merge(pages)
        .merge(openapi)
        // The API's JSON too: nothing this origin sends is to be sniffed.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(middleware::from_fn(client_addr))
        .layer(middleware::from_fn(log_request))
        .layer(middleware::from_fn(memory::count_request))
}

/// The peer's address is the client's: local-dev has no proxy in front.
async fn client_addr(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    request
        .extensions_mut()
        .insert(api::ClientAddr(peer.ip().to_string()));
    next.run(request).await
}

/// Pages answer GET (and HEAD); other methods get the API's JSON 405.
async fn page_method_not_allowed() -> Response {
    api::ApiError::MethodNotAllowed(vec![Method::GET]).into_response()
}

/// One line per request: method, path, status, milliseconds, and for API requests the
/// user and the DynamoDB request units they consumed. Never headers or bodies.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let response = next.run(request).await;
    let mut details = String::new();
    if let Some(summary) = response.extensions().get::<api::RequestSummary>() {
        details.push_str(&format!(" route={}", summary.route()));
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
