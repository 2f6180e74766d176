//! What a request's log line says besides method and status: the route that
//! answered (its template, never the raw path with names people chose), who asked,
//! and the store request units it consumed. Never a body, a token or a password.

use std::cell::Cell;
use std::future::Future;

use store::{Usage, UserId};

use crate::response::Response;

/// Attached to every response `handle` returns, for the front door to log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestSummary {
    pub route: &'static str,
    /// The account the request acted for, once known (a verified token, a
    /// successful login or signup).
    pub user_id: Option<u64>,
    pub usage: Usage,
}

tokio::task_local! {
    static CALLER: Cell<Option<u64>>;
}

/// Notes who the current request acts for.
pub(crate) fn identify(user: UserId) {
    // Err only means nobody is summarising this work (a direct handler call).
    let _ = CALLER.try_with(|caller| caller.set(Some(user.0)));
}

/// Runs the handler for `route` and attaches its [`RequestSummary`] to the response.
pub(crate) async fn summarize(
    route: &'static str,
    work: impl Future<Output = Response>,
) -> Response {
    let ((mut response, user_id), usage) =
        store::usage::measure(CALLER.scope(Cell::new(None), async {
            let response = work.await;
            (response, CALLER.with(Cell::get))
        }))
        .await;
    response.extensions_mut().insert(RequestSummary {
        route,
        user_id,
        usage,
    });
    response
}
