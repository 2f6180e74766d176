//! What a request's log line says besides method and status: the route that
//! answered (its template, never the raw path with names people chose), who asked,
//! and the store request units it consumed. Never a body, a token or a password.

use std::cell::Cell;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use store::{Usage, UserId};

/// Attached to every response the router gives, for the front door to log.
#[derive(Debug, Clone)]
pub struct RequestSummary {
    /// The route's template (`/contexts/{name}`), or `None` for an unknown path.
    pub route: Option<MatchedPath>,
    /// The account the request acted for, once known (a verified token, a
    /// successful login or signup).
    pub user_id: Option<u64>,
    pub usage: Usage,
}

impl RequestSummary {
    /// The route's template, `unknown` for a path no route matched.
    pub fn route(&self) -> &str {
        self.route.as_ref().map_or("unknown", MatchedPath::as_str)
    }
}

tokio::task_local! {
    static CALLER: Cell<Option<u64>>;
}

/// Notes who the current request acts for.
pub(crate) fn identify(user: UserId) {
    // Err only means nobody is summarising this work (a direct handler call).
    let _ = CALLER.try_with(|caller| caller.set(Some(user.0)));
}

/// Runs the rest of the request and attaches its [`RequestSummary`] to the response.
pub(crate) async fn summarize(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let ((mut response, user_id), usage) =
        store::usage::measure(CALLER.scope(Cell::new(None), async {
            let response = next.run(request).await;
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
