//! Sessions, refresh-token rotation and logout over real HTTP against local-dev (on
//! either store: `MEM0_E2E_STORE=dynamodb`), as `shared/contract/sessions.md` says.

// Shared with the other test binaries, which use the parts these tests leave out.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{PASSWORD, Reply, Server, unique_email};

const ENDED: &str = "Your session has ended. Log in again.";

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

fn sorted_keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// A login's access and refresh tokens.
#[derive(Debug, Clone)]
struct Tokens {
    access: String,
    refresh: String,
}

impl Tokens {
    fn of_login(body: &Value) -> Self {
        Self {
            access: body["user"]["jwt_token"]
                .as_str()
                .expect("jwt_token")
                .to_owned(),
            refresh: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
        }
    }

    fn of_refresh(body: &Value) -> Self {
        Self {
            access: body["jwt_token"].as_str().expect("jwt_token").to_owned(),
            refresh: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
        }
    }
}

async fn sign_up(server: &Server) -> (String, Tokens) {
    let email = unique_email();
    let reply = server
        .post(
            "/auth/signup/individual",
            None,
            json!({"email": email, "password": PASSWORD, "name": "Session User"}),
        )
        .await;
    let tokens = Tokens::of_login(reply.expect(StatusCode::CREATED));
    (email, tokens)
}

async fn log_in(server: &Server, email: &str, agent: &str) -> Tokens {
    let request = server
        .request(Method::POST, "/auth/login")
        .header("user-agent", agent)
        .json(&json!({"email": email, "password": PASSWORD}));
    Tokens::of_login(server.raw(request).await.expect(StatusCode::OK))
}

async fn refresh(server: &Server, refresh_token: &str) -> Reply {
    server
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": refresh_token}),
        )
        .await
}

async fn refreshed(server: &Server, refresh_token: &str) -> Tokens {
    Tokens::of_refresh(refresh(server, refresh_token).await.expect(StatusCode::OK))
}

#[track_caller]
fn assert_session_ended(reply: &Reply) {
    reply.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(reply.body["message"], ENDED);
}

async fn sessions(server: &Server, access: &str) -> Vec<Value> {
    let reply = server.get("/auth/sessions", access).await;
    reply.expect(StatusCode::OK)["sessions"]
        .as_array()
        .expect("a list")
        .clone()
}

#[tokio::test]
async fn login_and_signup_answers_carry_a_refresh_token_and_expires_in_and_the_user_keeps_its_fields()
 {
    let server = Server::start_with(&["--token-ttl-seconds", "3"]);
    let email = unique_email();
    let signup = server
        .post(
            "/auth/signup/organization",
            None,
            json!({"user": {"email": email, "password": PASSWORD, "name": "Admin"},
                   "organization": {"name": "Sessions Inc"}}),
        )
        .await;
    let body = signup.expect(StatusCode::CREATED);
    assert_eq!(
        sorted_keys(body),
        [
            "expires_in",
            "message",
            "organization",
            "refresh_token",
            "success",
            "user"
        ]
    );
    assert_eq!(
        body["expires_in"], 3,
        "the configured access-token lifetime"
    );
    let user_keys = [
        "account_type",
        "email",
        "email_verified",
        "jwt_token",
        "name",
        "organization_id",
        "role",
        "user_id",
    ];
    assert_eq!(sorted_keys(&body["user"]), user_keys);

    let login = server.login(&email).await;
    let body = login.expect(StatusCode::OK);
    assert_eq!(
        sorted_keys(body),
        ["expires_in", "message", "refresh_token", "success", "user"]
    );
    assert_eq!(sorted_keys(&body["user"]), user_keys);
    let tokens = Tokens::of_login(body);
    let claims = claims_of(&tokens.access);
    let sid = claims["sid"]
        .as_str()
        .expect("the access token names its session");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3
    );
    let listed = sessions(&server, &tokens.access).await;
    assert_eq!(listed.len(), 2, "the signup's session and the login's");
    assert_eq!(listed[0]["session_id"], sid);
}

#[tokio::test]
async fn a_refresh_rotates_both_tokens_and_every_token_of_the_session_keeps_working() {
    let server = Server::start();
    let (_, login) = sign_up(&server).await;
    let reply = refresh(&server, &login.refresh).await;
    let body = reply.expect(StatusCode::OK);
    assert_eq!(
        sorted_keys(body),
        ["expires_in", "jwt_token", "refresh_token", "success"]
    );
    assert_eq!(body["success"], true);
    assert_eq!(body["expires_in"], 86_400);
    let child = Tokens::of_refresh(body);
    assert_ne!(child.refresh, login.refresh);
    assert_ne!(child.access, login.access);
    assert_eq!(
        claims_of(&child.access)["sid"],
        claims_of(&login.access)["sid"]
    );
    let grandchild = refreshed(&server, &child.refresh).await;
    for access in [&login.access, &child.access, &grandchild.access] {
        server.get("/auth/me", access).await.expect(StatusCode::OK);
    }
    assert_eq!(sessions(&server, &grandchild.access).await.len(), 1);
}

#[tokio::test]
async fn presenting_an_already_rotated_token_ends_the_session_for_every_token_born_of_it() {
    let server = Server::start();
    let (email, login) = sign_up(&server).await;
    let child = refreshed(&server, &login.refresh).await;
    let grandchild = refreshed(&server, &child.refresh).await;
    let bystander = log_in(&server, &email, "other-device").await;

    // The attacker replays the first refresh token, two generations old.
    refresh(&server, &login.refresh)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    for access in [&login.access, &child.access, &grandchild.access] {
        assert_session_ended(&server.get("/contexts", access).await);
    }
    refresh(&server, &grandchild.refresh)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    server
        .get("/contexts", &bystander.access)
        .await
        .expect(StatusCode::OK);
    refreshed(&server, &bystander.refresh).await;
}

#[tokio::test]
async fn the_parent_presented_again_within_the_grace_window_gets_the_current_child() {
    let server = Server::start();
    let (_, login) = sign_up(&server).await;
    let child = refreshed(&server, &login.refresh).await;
    let again = refreshed(&server, &login.refresh).await;
    assert_eq!(again.refresh, child.refresh, "the same child, no fork");
    let next = refreshed(&server, &child.refresh).await;
    server
        .get("/auth/me", &next.access)
        .await
        .expect(StatusCode::OK);
    assert_eq!(sessions(&server, &next.access).await.len(), 1);
}

#[tokio::test]
async fn two_concurrent_refreshes_of_one_token_both_succeed_and_leave_one_session() {
    let server = Server::start();
    let (_, login) = sign_up(&server).await;
    let (first, second) = tokio::join!(
        refresh(&server, &login.refresh),
        refresh(&server, &login.refresh)
    );
    let first = Tokens::of_refresh(first.expect(StatusCode::OK));
    let second = Tokens::of_refresh(second.expect(StatusCode::OK));
    assert_eq!(first.refresh, second.refresh, "one counter step, one child");
    for access in [&first.access, &second.access] {
        server.get("/auth/me", access).await.expect(StatusCode::OK);
    }
    let listed = sessions(&server, &first.access).await;
    assert_eq!(listed.len(), 1);
    let next = refreshed(&server, &first.refresh).await;
    server
        .get("/contexts", &next.access)
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn the_parent_presented_after_the_grace_window_ends_the_session() {
    let server = Server::start_with(&["--refresh-grace-seconds", "1"]);
    let (_, login) = sign_up(&server).await;
    let child = refreshed(&server, &login.refresh).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    refresh(&server, &login.refresh)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_session_ended(&server.get("/auth/me", &child.access).await);
    refresh(&server, &child.refresh)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn a_session_not_refreshed_for_its_idle_lifetime_ends_and_refreshing_keeps_it_alive() {
    let server = Server::start_with(&[
        "--session-idle-seconds",
        "8",
        "--session-lifetime-seconds",
        "600",
    ]);
    // Margins of seconds either side of the idle lifetime: on a loaded CI runner one
    // request can take more than one.
    let (_, login) = sign_up(&server).await;
    tokio::time::sleep(Duration::from_millis(4_000)).await;
    let child = refreshed(&server, &login.refresh).await;
    tokio::time::sleep(Duration::from_millis(5_000)).await;
    // 9 s after login, but 5 s after the last refresh: still alive.
    let grandchild = refreshed(&server, &child.refresh).await;
    tokio::time::sleep(Duration::from_millis(9_000)).await;
    assert_session_ended(&server.get("/contexts", &grandchild.access).await);
    refresh(&server, &grandchild.refresh)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    let server = Server::start_with(&[
        "--session-lifetime-seconds",
        "4",
        "--session-idle-seconds",
        "600",
    ]);
    let (_, login) = sign_up(&server).await;
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let child = refreshed(&server, &login.refresh).await;
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    refresh(&server, &child.refresh)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_session_ended(&server.get("/auth/me", &child.access).await);
}

#[tokio::test]
async fn logout_ends_the_current_session_only_and_scope_all_ends_every_one() {
    let server = Server::start();
    let (email, first) = sign_up(&server).await;
    let second = log_in(&server, &email, "laptop").await;
    let third = log_in(&server, &email, "phone").await;

    server
        .post(
            "/auth/logout?scope=everything",
            Some(&first.access),
            json!({}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    let logout = server
        .post(
            "/auth/logout",
            Some(&first.access),
            json!({"refresh_token": first.refresh}),
        )
        .await;
    assert_eq!(
        sorted_keys(logout.expect(StatusCode::OK)),
        ["message", "success"]
    );
    assert_session_ended(&server.get("/contexts", &first.access).await);
    refresh(&server, &first.refresh)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    server
        .get("/contexts", &second.access)
        .await
        .expect(StatusCode::OK);
    assert_eq!(sessions(&server, &second.access).await.len(), 2);

    server
        .call(
            Method::POST,
            "/auth/logout?scope=all",
            Some(&second.access),
            None,
        )
        .await
        .expect(StatusCode::OK);
    for tokens in [&second, &third] {
        assert_session_ended(&server.get("/auth/me", &tokens.access).await);
        refresh(&server, &tokens.refresh)
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let fresh = log_in(&server, &email, "again").await;
    assert_eq!(sessions(&server, &fresh.access).await.len(), 1);
}

#[tokio::test]
async fn sessions_are_listed_newest_first_and_one_can_be_ended_by_its_id() {
    let server = Server::start();
    let (email, signup) = sign_up(&server).await;
    let laptop = log_in(&server, &email, "Laptop\tBrowser/1.0").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let long_agent = "x".repeat(1_000);
    let phone = log_in(&server, &email, &long_agent).await;

    let listed = sessions(&server, &laptop.access).await;
    assert_eq!(listed.len(), 3);
    for session in &listed {
        assert_eq!(
            sorted_keys(session),
            [
                "address",
                "created_at",
                "current",
                "expires_at",
                "last_used_at",
                "session_id",
                "user_agent"
            ]
        );
        assert_eq!(session["address"], "127.0.0.1");
    }
    let ids: Vec<&str> = listed
        .iter()
        .map(|s| s["session_id"].as_str().unwrap())
        .collect();
    let sid = |tokens: &Tokens| {
        claims_of(&tokens.access)["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(ids, [sid(&phone), sid(&laptop), sid(&signup)]);
    let current: Vec<bool> = listed
        .iter()
        .map(|s| s["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current, [false, true, false]);
    assert_eq!(listed[0]["user_agent"].as_str().unwrap().len(), 256);
    assert_eq!(listed[1]["user_agent"], "LaptopBrowser/1.0");

    let path = format!("/auth/sessions/{}", sid(&phone));
    let ended = server.delete(&path, &laptop.access).await;
    assert_eq!(sorted_keys(ended.expect(StatusCode::OK)), ["success"]);
    assert_session_ended(&server.get("/contexts", &phone.access).await);
    server
        .delete(&path, &laptop.access)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(sessions(&server, &laptop.access).await.len(), 2);

    // Someone else's session, or no session id at all.
    let (_, stranger) = sign_up(&server).await;
    for path in [
        format!("/auth/sessions/{}", sid(&signup)),
        "/auth/sessions/not-a-session".to_owned(),
        "/auth/sessions/01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
    ] {
        server
            .delete(&path, &stranger.access)
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
    server
        .get("/contexts", &signup.access)
        .await
        .expect(StatusCode::OK);
    server
        .call(Method::GET, "/auth/sessions", None, None)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn forged_or_garbage_refresh_tokens_are_401_then_429_per_address_while_genuine_ones_work() {
    let server = Server::start_with(&["--failed-logins-per-address", "3"]);
    let (_, login) = sign_up(&server).await;
    let mut forged = login.refresh.clone();
    forged.pop();
    forged.push(if login.refresh.ends_with('A') {
        'B'
    } else {
        'A'
    });
    let (user, rest) = login.refresh.split_once('.').unwrap();
    let other_user = format!("{}.{rest}", user.parse::<u64>().unwrap() + 1);
    for bad in [forged.as_str(), "garbage", other_user.as_str()] {
        refresh(&server, bad)
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let refused = refresh(&server, "garbage").await;
    refused.expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(refused.headers.contains_key("retry-after"));
    refreshed(&server, &login.refresh).await;
    server
        .post("/auth/refresh", None, json!({}))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
}
