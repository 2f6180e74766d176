//! An in-process fake of the Lambda Runtime API (the 2018-06-01 interface a custom
//! runtime polls): it hands out one invocation and reports, with the instant each
//! request arrived, what the function under test did.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The request id of the one invocation handed out.
pub const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// What the function did, in the order it did it.
#[derive(Debug)]
pub enum Report {
    /// It asked for an invocation (its init is over).
    Next(Instant),
    /// It posted the invocation's response.
    Response(Instant, Bytes),
    /// It posted an init or invocation error instead.
    Error { path: String, body: Bytes },
}

struct Shared {
    event: Bytes,
    handed_out: AtomicBool,
    reports: mpsc::UnboundedSender<Report>,
}

/// A running fake; stops serving when dropped.
pub struct FakeRuntime {
    address: SocketAddr,
    reports: mpsc::UnboundedReceiver<Report>,
    server: JoinHandle<()>,
}

impl FakeRuntime {
    /// Serves on a free loopback port; the first `next` gets `event`, later ones wait for
    /// ever, as the real API holds a poll until there is work.
    pub async fn start(event: Bytes) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let (sender, reports) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            event,
            handed_out: AtomicBool::new(false),
            reports: sender,
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let server = tokio::spawn(async move {
            // Ends only with the task (aborted on drop) or a failed accept, which the
            // caller sees as a function that never asks for work.
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            address,
            reports,
            server,
        })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The next thing the function did; `None` once the server has stopped.
    pub async fn report(&mut self) -> Option<Report> {
        self.reports.recv().await
    }
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let arrived = Instant::now();
    if shared.handed_out.swap(true, Ordering::SeqCst) {
        return std::future::pending().await;
    }
    let _ = shared.reports.send(Report::Next(arrived));
    let deadline = (SystemTime::now() + Duration::from_secs(30))
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .to_string();
    (
        [
            (header::CONTENT_TYPE.as_str(), "application/json".to_owned()),
            ("lambda-runtime-aws-request-id", REQUEST_ID.to_owned()),
            ("lambda-runtime-deadline-ms", deadline),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
                    .to_owned(),
            ),
        ],
        shared.event.clone(),
    )
        .into_response()
}

async fn response(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let _ = shared.reports.send(Report::Response(Instant::now(), body));
    StatusCode::ACCEPTED
}

async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    report_error(&shared, format!("/runtime/invocation/{id}/error"), body)
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    report_error(&shared, "/runtime/init/error".to_owned(), body)
}

fn report_error(shared: &Shared, path: String, body: Bytes) -> StatusCode {
    let _ = shared.reports.send(Report::Error { path, body });
    StatusCode::ACCEPTED
}
