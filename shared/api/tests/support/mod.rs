//! Requests through a function's real router, in process.

use std::sync::Arc;

use api::App;
use api::routes::Routes;
use bytes::Bytes;
use tower::ServiceExt;

pub type Response = http::Response<Bytes>;

/// `request` answered by `routes` over `app`, with the body collected.
pub async fn handle(
    app: &Arc<App>,
    routes: fn() -> Routes,
    request: http::Request<Bytes>,
) -> Response {
    let router = api::router(Arc::clone(app), routes());
    let response = router
        .oneshot(request.map(axum::body::Body::from))
        .await
        .unwrap_or_else(|never| match never {});
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("the body is in memory");
    http::Response::from_parts(parts, body)
}

/// A new account with a live session in `store`, and an access token of that session
/// signed with `keys`: what a login would hand out.
#[allow(dead_code)]
pub async fn logged_in(
    store: &dyn store::Store,
    keys: &claims::TokenKeys,
    email: &str,
) -> (store::User, String) {
    let new = store::NewUser {
        email: store::Email::parse(email).expect("valid email"),
        name: store::DisplayName::parse("Test", "name").expect("valid name"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
    };
    let (user, _) = store.create_user(new, None).await.expect("create user");
    let token = session_token(store, keys, &user).await;
    (user, token)
}

/// An access token of a new live session of `user`.
#[allow(dead_code)]
pub async fn session_token(
    store: &dyn store::Store,
    keys: &claims::TokenKeys,
    user: &store::User,
) -> String {
    let session = store
        .create_session(
            store::NewSession {
                user_id: user.id,
                client: store::ClientDescription::default(),
                lifetime_seconds: 3600,
                idle_seconds: 3600,
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("create session");
    let subject = claims::Subject {
        user_id: user.id.0,
        email: user.email.to_string(),
        account_type: user.account_type.as_str().into(),
        role: user.role.as_str().into(),
        organization_id: user.organization_id.map(|id| id.0),
        sid: Some(session.id.to_string()),
    };
    keys.issue(subject).expect("signed").0
}
