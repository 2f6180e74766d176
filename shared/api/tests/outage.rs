//! When the store fails, every route answers 503 `unavailable` and the cause stays in
//! the logs. A store that always fails stands in for an unreachable DynamoDB.

mod support;

use std::sync::Arc;

use api::{App, Limits};
use async_trait::async_trait;
use bytes::Bytes;
use store::{
    ActivityEntry, ActivityPage, AuthorizationCode, Grant, GrantId, GrantRotation, OAuthClient,
};
use store::{
    Budget, Context, ContextName, Credentials, Email, Invitation, Invitee, Member, Memory,
    MemoryId, MemoryPage, NewContext, NewMemory, NewOrganization, NewUser, OrgRole, Organization,
    OrganizationId, OrganizationProfile, Reservation, Store, StoreError, StoreResult, User, UserId,
    Viewer, Window,
};
use store::{Caller, NewSession, Session, SessionId};
use time::OffsetDateTime;

const CAUSE: &str = "dial tcp 10.0.0.7:443: connection refused (table mem0-prod)";

struct UnreachableStore;

fn down<T>() -> StoreResult<T> {
    Err(StoreError::unavailable(CAUSE))
}

#[async_trait]
impl Store for UnreachableStore {
    async fn create_user(
        &self,
        _: NewUser,
        _: Option<NewOrganization>,
    ) -> StoreResult<(User, Option<Organization>)> {
        down()
    }
    async fn credentials(&self, _: &Email) -> StoreResult<Option<Credentials>> {
        down()
    }
    async fn user(&self, _: UserId) -> StoreResult<Option<User>> {
        down()
    }
    async fn reserve(&self, _: &[Budget], _: Window) -> StoreResult<Reservation> {
        down()
    }
    async fn refund(&self, _: &[&str], _: Window) -> StoreResult<()> {
        down()
    }
    async fn reset(&self, _: &str, _: Window) -> StoreResult<()> {
        down()
    }
    async fn revoke_token(&self, _: &str, _: i64) -> StoreResult<()> {
        down()
    }
    async fn is_token_revoked(&self, _: &str) -> StoreResult<bool> {
        down()
    }
    async fn create_context(&self, _: &Viewer, _: NewContext) -> StoreResult<Context> {
        down()
    }
    async fn list_contexts(&self, _: &Viewer) -> StoreResult<Vec<Context>> {
        down()
    }
    async fn find_context(&self, _: &Viewer, _: &ContextName) -> StoreResult<Option<Context>> {
        down()
    }
    async fn delete_context(&self, _: &Context) -> StoreResult<()> {
        down()
    }
    async fn put_memory(&self, _: &Context, _: NewMemory) -> StoreResult<Memory> {
        down()
    }
    async fn list_memories(
        &self,
        _: &Context,
        _: usize,
        _: Option<&MemoryId>,
    ) -> StoreResult<MemoryPage> {
        down()
    }
    async fn delete_memory(&self, _: &Context, _: &MemoryId) -> StoreResult<()> {
        down()
    }
    async fn organization(&self, _: OrganizationId) -> StoreResult<Option<OrganizationProfile>> {
        down()
    }
    async fn members(&self, _: OrganizationId) -> StoreResult<Vec<Member>> {
        down()
    }
    async fn create_invitation(&self, _: &Invitation) -> StoreResult<()> {
        down()
    }
    async fn invitations(&self, _: OrganizationId) -> StoreResult<Vec<Invitation>> {
        down()
    }
    async fn invitation(&self, _: &str) -> StoreResult<Option<Invitation>> {
        down()
    }
    async fn revoke_invitation(&self, _: OrganizationId, _: &str) -> StoreResult<()> {
        down()
    }
    async fn accept_invitation(
        &self,
        _: &Invitation,
        _: Invitee,
        _: OffsetDateTime,
    ) -> StoreResult<User> {
        down()
    }
    async fn set_role(
        &self,
        _: OrganizationId,
        _: UserId,
        _: UserId,
        _: OrgRole,
    ) -> StoreResult<()> {
        down()
    }
    async fn remove_member(&self, _: OrganizationId, _: UserId, _: UserId) -> StoreResult<()> {
        down()
    }
    async fn context_of(&self, _: UserId, _: &ContextName) -> StoreResult<Option<Context>> {
        down()
    }
    async fn create_session(&self, _: NewSession, _: OffsetDateTime) -> StoreResult<Session> {
        down()
    }
    async fn caller(&self, _: UserId, _: &SessionId) -> StoreResult<Caller> {
        down()
    }
    async fn rotate_session(
        &self,
        _: &Session,
        _: u64,
        _: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        down()
    }
    async fn end_session(&self, _: UserId, _: &SessionId, _: OffsetDateTime) -> StoreResult<bool> {
        down()
    }
    async fn end_sessions(
        &self,
        _: UserId,
        _: Option<&SessionId>,
        _: OffsetDateTime,
    ) -> StoreResult<()> {
        down()
    }
    async fn list_sessions(&self, _: UserId, _: OffsetDateTime) -> StoreResult<Vec<Session>> {
        down()
    }
    // --- mail ---
    async fn put_one_time(&self, _: store::NewOneTime) -> StoreResult<()> {
        down()
    }
    async fn use_one_time(
        &self,
        _: &str,
        _: store::Purpose,
        _: i64,
    ) -> StoreResult<Option<store::UsedOneTime>> {
        down()
    }
    async fn mark_email_verified(&self, _: UserId) -> StoreResult<()> {
        down()
    }
    async fn replace_password_hash(&self, _: &Email, _: &str, _: String) -> StoreResult<bool> {
        down()
    }
    async fn register_client(&self, _: &OAuthClient) -> StoreResult<()> {
        down()
    }
    async fn client(&self, _: &str) -> StoreResult<Option<OAuthClient>> {
        down()
    }
    async fn put_authorization_code(&self, _: &AuthorizationCode) -> StoreResult<()> {
        down()
    }
    async fn use_authorization_code(
        &self,
        _: &str,
        _: i64,
    ) -> StoreResult<Option<AuthorizationCode>> {
        down()
    }
    async fn create_grant(&self, _: &Grant) -> StoreResult<()> {
        down()
    }
    async fn grant_caller(&self, _: UserId, _: &GrantId) -> StoreResult<Option<(User, Grant)>> {
        down()
    }
    async fn rotate_grant(
        &self,
        _: UserId,
        _: &GrantId,
        _: u64,
        _: i64,
    ) -> StoreResult<GrantRotation> {
        down()
    }
    async fn revoke_grant(&self, _: UserId, _: &GrantId, _: i64) -> StoreResult<bool> {
        down()
    }
    async fn list_grants(&self, _: UserId) -> StoreResult<Vec<Grant>> {
        down()
    }
    async fn touch_grant(&self, _: UserId, _: &GrantId, _: i64) -> StoreResult<()> {
        down()
    }
    async fn record_activity(&self, _: &ActivityEntry) -> StoreResult<()> {
        down()
    }
    async fn context_activity(
        &self,
        _: UserId,
        _: &ContextName,
        _: usize,
        _: Option<&str>,
    ) -> StoreResult<ActivityPage> {
        down()
    }
    async fn grant_activity(
        &self,
        _: UserId,
        _: &GrantId,
        _: usize,
        _: Option<&str>,
    ) -> StoreResult<ActivityPage> {
        down()
    }
}

const SECRET: &str = "outage-test-secret-outage-test-secret";

fn app() -> Arc<App> {
    let tokens = claims::TokenKeys::new(&SECRET.to_owned().into(), Default::default())
        .expect("valid secret");
    Arc::new(App::new(
        Arc::new(UnreachableStore),
        tokens,
        Limits::default(),
    ))
}

fn token() -> String {
    let keys = claims::TokenKeys::new(&SECRET.to_owned().into(), Default::default())
        .expect("valid secret");
    let subject = claims::Subject {
        user_id: 1,
        email: "a@example.com".into(),
        account_type: "individual".into(),
        role: "user".into(),
        organization_id: None,
        // Any session: the store that would check it is down.
        sid: Some("01ARZ3NDEKTSV4RRFFQ69G5FAV".into()),
    };
    keys.issue(subject).expect("signed").0
}

fn request(method: &str, path: &str, body: &str) -> http::Request<Bytes> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", token()))
        .body(Bytes::from(body.to_owned()))
        .expect("valid request")
}

#[tokio::test]
async fn every_route_answers_503_without_the_cause_when_the_store_is_down() {
    let app = app();
    let signup = r#"{"email":"new@example.com","password":"a long passphrase here","name":"N"}"#;
    for (method, path, body) in [
        ("POST", "/auth/signup/individual", signup),
        (
            "POST",
            "/auth/login",
            r#"{"email":"a@example.com","password":"whatever it is"}"#,
        ),
        ("GET", "/auth/me", ""),
        ("POST", "/auth/logout", ""),
        (
            "POST",
            "/auth/refresh",
            r#"{"refresh_token":"1.01ARZ3NDEKTSV4RRFFQ69G5FAV.0.x"}"#,
        ),
        ("GET", "/auth/sessions", ""),
        ("DELETE", "/auth/sessions/01ARZ3NDEKTSV4RRFFQ69G5FAV", ""),
        ("GET", "/auth/verify-email?token=abc", ""),
        ("POST", "/auth/verify-email/resend", ""),
        (
            "POST",
            "/auth/password/forgot",
            r#"{"email":"a@example.com"}"#,
        ),
        (
            "POST",
            "/auth/password/reset",
            r#"{"token":"abc","password":"another quite long passphrase"}"#,
        ),
        (
            "POST",
            "/auth/password",
            r#"{"current_password":"whatever it is","new_password":"another quite long passphrase"}"#,
        ),
        ("GET", "/contexts", ""),
        ("POST", "/contexts", r#"{"name":"x"}"#),
        ("GET", "/contexts/x", ""),
        ("DELETE", "/contexts/x", ""),
        ("GET", "/contexts/x/memories", ""),
        ("POST", "/contexts/x/memories", r#"{"text":"t"}"#),
        (
            "DELETE",
            "/contexts/x/memories/01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "",
        ),
        ("GET", "/orgs/1", ""),
        ("GET", "/orgs/1/members", ""),
        ("GET", "/orgs/1/invitations", ""),
        ("POST", "/invitations/preview", r#"{"token":"abc"}"#),
        ("POST", "/invitations/accept", r#"{"token":"abc"}"#),
        (
            "POST",
            "/oauth/register",
            r#"{"redirect_uris":["cursor://x"]}"#,
        ),
        (
            "GET",
            "/oauth/authorize?client_id=01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "",
        ),
        (
            "POST",
            "/oauth/authorize",
            r#"{"client_id":"x","decision":"deny"}"#,
        ),
        (
            "POST",
            "/oauth/token",
            "grant_type=refresh_token&client_id=x&refresh_token=y",
        ),
        ("GET", "/auth/grants", ""),
        ("DELETE", "/auth/grants/01ARZ3NDEKTSV4RRFFQ69G5FAV", ""),
    ] {
        let response = support::handle(&app, api::routes::all, request(method, path, body)).await;
        assert_eq!(response.status(), 503, "{method} {path}");
        let body: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
        assert_eq!(body["success"], false);
        assert_eq!(body["error"], "unavailable");
        let text = String::from_utf8_lossy(response.body());
        assert!(
            !text.contains("10.0.0.7") && !text.contains("mem0-prod"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn each_lambda_answers_only_its_own_routes() {
    let app = app();
    let status = |response: support::Response| response.status().as_u16();
    for path in ["/auth/login", "/auth/me", "/contexts"] {
        let response = support::handle(&app, api::routes::signup, request("GET", path, "")).await;
        assert_eq!(status(response), 404, "signup must not answer {path}");
    }
    for path in ["/auth/signup/individual", "/contexts"] {
        let response = support::handle(&app, api::routes::login, request("GET", path, "")).await;
        assert_eq!(status(response), 404, "login must not answer {path}");
    }
    for path in [
        "/auth/signup/individual",
        "/auth/login",
        "/auth/me",
        "/orgs/1",
    ] {
        let response = support::handle(&app, api::routes::contexts, request("GET", path, "")).await;
        assert_eq!(status(response), 404, "contexts must not answer {path}");
    }
    for path in ["/auth/me", "/contexts", "/invitations/accept"] {
        let response = support::handle(&app, api::routes::orgs, request("GET", path, "")).await;
        assert_eq!(status(response), 404, "orgs must not answer {path}");
    }
}
