//! The SDK's HTTP client (`store::dynamo::https_client`) against servers on loopback: a
//! call over TLS and HTTP/1.1, a certificate nobody vouched for, a refused connection
//! and a server that never answers, each as the SDK's retries must see it.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region, timeout::TimeoutConfig};
use aws_sdk_dynamodb::error::SdkError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// What the server saw of the one request it answered.
struct Seen {
    server_name: Option<String>,
    request_line: String,
}

/// A certificate for `localhost` and a server answering one `ListTables` over TLS.
async fn tls_server() -> (CertificateDer<'static>, u16, tokio::task::JoinHandle<Seen>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let certificate = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![certificate.clone()], key)
    .expect("a server configuration");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let port = listener.local_addr().expect("an address").port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("a connection");
        let mut tls = acceptor.accept(tcp).await.expect("a TLS handshake");
        let server_name = tls.get_ref().1.server_name().map(str::to_owned);
        let head = read_head(&mut tls).await;
        let body = r#"{"TableNames":["memories"]}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(response.as_bytes()).await.expect("an answer");
        tls.shutdown().await.ok();
        Seen {
            server_name,
            request_line: head.lines().next().unwrap_or_default().to_owned(),
        }
    });
    (certificate, port, server)
}

/// The request's head, up to the blank line (the body is left unread).
async fn read_head(stream: &mut (impl AsyncReadExt + Unpin)) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.expect("the request") == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn client(http: SharedHttpClient, endpoint: &str, timeouts: TimeoutConfig) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "https-test"))
        .endpoint_url(endpoint)
        .http_client(http)
        .timeout_config(timeouts)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn a_call_goes_over_tls_with_the_host_name_and_http_1_1() {
    let (certificate, port, server) = tls_server().await;
    let mut roots = RootCertStore::empty();
    roots.add(certificate).expect("a root");
    let dynamodb = client(
        store::dynamo::https_client_trusting(roots),
        &format!("https://localhost:{port}"),
        TimeoutConfig::builder().build(),
    );
    let tables = dynamodb.list_tables().send().await.expect("the tables");
    assert_eq!(tables.table_names(), ["memories"]);
    let seen = server.await.expect("the server");
    assert_eq!(seen.server_name.as_deref(), Some("localhost"));
    assert_eq!(seen.request_line, "POST / HTTP/1.1");
}

#[tokio::test]
async fn a_certificate_no_trusted_root_signed_is_refused() {
    let (_, port, _server) = tls_server().await;
    // The system's roots: the server's own certificate is in none of them.
    let dynamodb = client(
        store::dynamo::https_client(),
        &format!("https://localhost:{port}"),
        TimeoutConfig::builder().build(),
    );
    match dynamodb.list_tables().send().await {
        Err(SdkError::DispatchFailure(failure)) => {
            assert!(!failure.is_user(), "{failure:?}");
        }
        other => panic!("an unknown certificate must fail the call: {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_input_output_which_the_sdk_retries() {
    // A port just freed: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port")
        .local_addr()
        .expect("an address")
        .port();
    let dynamodb = client(
        store::dynamo::https_client(),
        &format!("http://127.0.0.1:{port}"),
        TimeoutConfig::builder().build(),
    );
    match dynamodb.list_tables().send().await {
        Err(SdkError::DispatchFailure(failure)) => assert!(failure.is_io(), "{failure:?}"),
        other => panic!("a refused connection must fail the call: {other:?}"),
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_at_the_read_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let port = listener.local_addr().expect("an address").port();
    let _silent = tokio::spawn(async move {
        let (connection, _) = listener.accept().await.expect("a connection");
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(connection);
    });
    let dynamodb = client(
        store::dynamo::https_client(),
        &format!("http://127.0.0.1:{port}"),
        TimeoutConfig::builder()
            .read_timeout(Duration::from_millis(200))
            .build(),
    );
    let started = std::time::Instant::now();
    match dynamodb.list_tables().send().await {
        Err(SdkError::DispatchFailure(failure)) => assert!(failure.is_timeout(), "{failure:?}"),
        other => panic!("a silent server must time the call out: {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}
