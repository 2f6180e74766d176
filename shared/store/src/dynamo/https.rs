//! The HTTP client of every SDK client of ours (DynamoDB, Secrets Manager, SES): HTTP/1.1
//! over rustls on ring, from hyper's client and hyper-rustls.
//!
//! Not the SDK's own client (aws-smithy-http-client): it always builds HTTP/2 in (h2, and
//! hyper's `http2` for every hyper client of the binary, the Lambda runtime's too), 6–8%
//! of each function's zip, and these services answer HTTP/1.1 anyway
//! (docs/performance.md). Timeouts follow the SDK's settings; errors are classed as the
//! SDK's client classes them, so its retries behave the same.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::RootCertStore;

type BoxError = Box<dyn StdError + Send + Sync>;

/// hyper's pooling client, TLS or plain TCP by the endpoint's scheme.
type Pool = Client<HttpsConnector<TcpConnector>, SdkBody>;

/// Where a connector's trusted roots come from.
#[derive(Clone)]
enum Roots {
    /// The system's (`/etc/ssl/certs` and the like), read at the first request: no
    /// request before it needs them, and reading them is half of a function's init
    /// beyond a hello-world one's.
    System,
    /// Given ones (tests, against a server with a certificate of their own).
    Given(Arc<RootCertStore>),
}

/// The client for [`SdkConfig`](aws_config::SdkConfig)'s `http_client`.
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(Http1Client::new(Roots::System))
}

/// [`https_client`] trusting `roots` instead of the system's.
pub fn https_client_trusting(roots: RootCertStore) -> SharedHttpClient {
    SharedHttpClient::new(Http1Client::new(Roots::Given(Arc::new(roots))))
}

/// One connector (one connection pool) per distinct timeout settings, as the SDK's client
/// keeps them; every SDK client of a process asks with the same settings.
struct Http1Client {
    roots: Roots,
    connectors: RwLock<HashMap<Timeouts, SharedHttpConnector>>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Timeouts {
    connect: Option<Duration>,
    read: Option<Duration>,
}

impl Http1Client {
    fn new(roots: Roots) -> Self {
        Self {
            roots,
            connectors: RwLock::default(),
        }
    }
}

impl fmt::Debug for Http1Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Http1Client")
    }
}

impl HttpClient for Http1Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = Timeouts {
            connect: settings.connect_timeout(),
            read: settings.read_timeout(),
        };
        // A poisoned lock only means another thread panicked while inserting: the map
        // itself is whole.
        if let Some(connector) = self
            .connectors
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&timeouts)
        {
            return connector.clone();
        }
        self.connectors
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(timeouts)
            .or_insert_with(|| SharedHttpConnector::new(Http1Connector::new(&self.roots, timeouts)))
            .clone()
    }
}

/// A pool of HTTP/1.1 connections, built at its first request.
struct Http1Connector {
    roots: Roots,
    timeouts: Timeouts,
    pool: OnceLock<Result<Pool, String>>,
}

impl Http1Connector {
    fn new(roots: &Roots, timeouts: Timeouts) -> Self {
        Self {
            roots: roots.clone(),
            timeouts,
            pool: OnceLock::new(),
        }
    }

    fn pool(&self) -> Result<&Pool, ConnectorError> {
        self.pool
            .get_or_init(|| build_pool(&self.roots, self.timeouts.connect))
            .as_ref()
            .map_err(|reason| ConnectorError::other(reason.clone().into(), None))
    }
}

fn build_pool(roots: &Roots, connect_timeout: Option<Duration>) -> Result<Pool, String> {
    let mut tcp = TcpConnector::new();
    // https and http (local endpoints) both: the TLS layer above decides by the scheme.
    tcp.enforce_http(false);
    tcp.set_connect_timeout(connect_timeout);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = match roots {
        Roots::System => HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|error| format!("no TLS roots: {error}"))?,
        Roots::Given(roots) => HttpsConnectorBuilder::new().with_tls_config(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|error| format!("no TLS configuration: {error}"))?
                .with_root_certificates(Arc::clone(roots))
                .with_no_client_auth(),
        ),
    };
    let https = tls.https_or_http().enable_http1().wrap_connector(tcp);
    Ok(Client::builder(TokioExecutor::new())
        // Without a timer the pool never drops the connections that went idle.
        .pool_timer(TokioTimer::new())
        .build(https))
}

impl fmt::Debug for Http1Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Http1Connector")
    }
}

impl HttpConnector for Http1Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(error) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into())));
            }
        };
        let pool = match self.pool() {
            Ok(pool) => pool.clone(),
            Err(error) => return HttpConnectorFuture::ready(Err(error)),
        };
        let read_timeout = self.timeouts.read;
        HttpConnectorFuture::new(async move {
            let response = pool.request(request);
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, response)
                    .await
                    .map_err(|elapsed| ConnectorError::timeout(elapsed.into()))?,
                None => response.await,
            }
            .map_err(|error| classify(error.into()))?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|error| ConnectorError::other(error.into(), None))
        })
    }
}

/// The SDK's classes for what went wrong on the way, which decide its retries: a refused
/// or broken connection is I/O (retried), a response cut short is transient (retried),
/// a request the client could not send is the caller's, anything else is not retried.
fn classify(error: BoxError) -> ConnectorError {
    if let Some(hyper) = find::<hyper::Error>(error.as_ref()) {
        return if hyper.is_timeout() {
            ConnectorError::timeout(error)
        } else if hyper.is_user() {
            ConnectorError::user(error)
        } else if hyper.is_closed()
            || hyper.is_canceled()
            || find::<std::io::Error>(hyper).is_some()
        {
            ConnectorError::io(error)
        } else if hyper.is_incomplete_message() {
            ConnectorError::other(error, Some(ErrorKind::TransientError))
        } else {
            ConnectorError::other(error, None)
        };
    }
    let connection_failed = find::<hyper_util::client::legacy::Error>(error.as_ref())
        .is_some_and(|client| client.is_connect())
        || find::<std::io::Error>(error.as_ref()).is_some();
    if connection_failed {
        ConnectorError::io(error)
    } else {
        ConnectorError::other(error, None)
    }
}

/// The first error of type `E` in `error`'s chain of sources.
fn find<'a, E: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    std::iter::successors(Some(error), |&error| error.source())
        .find_map(|error| error.downcast_ref())
}
