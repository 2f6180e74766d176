//! Email verification, password reset and password change over real HTTP against
//! local-dev, which writes each mail as a file in `<data dir>/outbox/`: the tests read
//! the links from there, as a person would from their mailbox.

#[allow(dead_code)]
mod support;

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{PASSWORD, Server, unique_email};

const NEW_PASSWORD: &str = "another quite long passphrase";

/// The mails written so far to `to`, oldest first.
fn mails_to(server: &Server, to: &str) -> Vec<String> {
    let outbox: PathBuf = server.data_dir.path().join("outbox");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .map(|entries| entries.map(|entry| entry.expect("entry").path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|file| std::fs::read_to_string(file).expect("read mail"))
        .filter(|mail| mail.starts_with(&format!("To: {to}\r\n")))
        .collect()
}

/// The token of the newest mail to `to` whose link opens `page` (`/verify`, `/reset`).
fn newest_token(server: &Server, to: &str, page: &str) -> String {
    let marker = format!("{}{page}#token=", server.url);
    let mails = mails_to(server, to);
    let mail = mails
        .iter()
        .rev()
        .find(|mail| mail.contains(&marker))
        .unwrap_or_else(|| panic!("no mail to {to} links to {page}: {mails:?}"));
    let start = mail.find(&marker).expect("marker") + marker.len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn verify(server: &Server, token: &str) -> support::Reply {
    server
        .call(
            Method::GET,
            &format!("/auth/verify-email?token={token}"),
            None,
            None,
        )
        .await
}

async fn forgot(server: &Server, email: &str) -> support::Reply {
    server
        .post("/auth/password/forgot", None, json!({"email": email}))
        .await
}

async fn reset(server: &Server, token: &str, password: &str) -> support::Reply {
    server
        .post(
            "/auth/password/reset",
            None,
            json!({"token": token, "password": password}),
        )
        .await
}

async fn login_with(server: &Server, email: &str, password: &str) -> support::Reply {
    server
        .post(
            "/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
}

#[tokio::test]
async fn the_signup_mail_verifies_the_email_once() {
    let server = Server::start();
    let (email, token) = server.new_user().await;
    let me = server.get("/auth/me", &token).await;
    assert_eq!(me.expect(StatusCode::OK)["user"]["email_verified"], false);

    let link = newest_token(&server, &email, "/verify");
    verify(&server, &link).await.expect(StatusCode::OK);

    let me = server.get("/auth/me", &token).await;
    assert_eq!(me.expect(StatusCode::OK)["user"]["email_verified"], true);
    let login = server.login(&email).await;
    assert_eq!(login.expect(StatusCode::OK)["user"]["email_verified"], true);
    verify(&server, &link)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
}

#[tokio::test]
async fn wrong_or_misused_tokens_are_400_invalid_token() {
    let server = Server::start();
    let (email, _) = server.new_user().await;
    verify(&server, "not-a-token-we-made")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    reset(&server, "not-a-token-we-made", NEW_PASSWORD)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    // A verification token does not reset a password, nor a reset token verify an email.
    let verification = newest_token(&server, &email, "/verify");
    reset(&server, &verification, NEW_PASSWORD)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    forgot(&server, &email).await.expect(StatusCode::OK);
    let reset_token = newest_token(&server, &email, "/reset");
    verify(&server, &reset_token)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    // Both still work for what they are for.
    verify(&server, &verification).await.expect(StatusCode::OK);
    reset(&server, &reset_token, NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn resending_the_verification_mail_is_throttled_per_account() {
    let server = Server::start_with(&["--verification-mails-per-account", "2"]);
    let (email, token) = server.new_user().await;
    for _ in 0..2 {
        server
            .post("/auth/verify-email/resend", Some(&token), json!({}))
            .await
            .expect(StatusCode::OK);
    }
    assert_eq!(mails_to(&server, &email).len(), 3, "signup's and two more");
    let refused = server
        .post("/auth/verify-email/resend", Some(&token), json!({}))
        .await;
    refused.expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(mails_to(&server, &email).len(), 3, "no mail once refused");
    // Another account has its own budget; the newest link works.
    let (other, other_token) = server.new_user().await;
    server
        .post("/auth/verify-email/resend", Some(&other_token), json!({}))
        .await
        .expect(StatusCode::OK);
    verify(&server, &newest_token(&server, &other, "/verify"))
        .await
        .expect(StatusCode::OK);
    server
        .call(Method::POST, "/auth/verify-email/resend", None, None)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_known_and_unknown_emails() {
    let server = Server::start();
    let (known, _) = server.new_user().await;
    let unknown = unique_email();
    let for_known = forgot(&server, &known).await;
    let for_unknown = forgot(&server, &unknown).await;
    for_known.expect(StatusCode::OK);
    for_unknown.expect(StatusCode::OK);
    assert_eq!(for_known.body, for_unknown.body);
    assert_eq!(
        for_known.headers.get("content-length"),
        for_unknown.headers.get("content-length")
    );
    assert!(!newest_token(&server, &known, "/reset").is_empty());
    assert!(mails_to(&server, &unknown).is_empty());
}

#[tokio::test]
async fn forgot_password_is_throttled_per_email_alike_for_unknown_ones() {
    let server = Server::start_with(&["--password-resets-per-account", "2"]);
    let (known, _) = server.new_user().await;
    let unknown = unique_email();
    for email in [&known, &unknown] {
        for _ in 0..2 {
            forgot(&server, email).await.expect(StatusCode::OK);
        }
        let refused = forgot(&server, email).await;
        refused.expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert!(refused.headers.contains_key("retry-after"));
    }
    let resets = mails_to(&server, &known)
        .iter()
        .filter(|mail| mail.contains("/reset#token="))
        .count();
    assert_eq!(resets, 2, "the refused request mailed nothing");
}

#[tokio::test]
async fn forgot_password_is_throttled_per_address_across_emails() {
    let server = Server::start_with(&["--password-resets-per-address", "2"]);
    forgot(&server, &unique_email())
        .await
        .expect(StatusCode::OK);
    forgot(&server, &unique_email())
        .await
        .expect(StatusCode::OK);
    forgot(&server, &unique_email())
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once() {
    let server = Server::start();
    let (email, _) = server.new_user().await;
    forgot(&server, &email).await.expect(StatusCode::OK);
    let token = newest_token(&server, &email, "/reset");

    reset(&server, &token, NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
    login_with(&server, &email, PASSWORD)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let login = login_with(&server, &email, NEW_PASSWORD).await;
    // Following the mailed link proved the address is theirs.
    assert_eq!(login.expect(StatusCode::OK)["user"]["email_verified"], true);
    reset(&server, &token, "yet another long passphrase")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    login_with(&server, &email, NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn concurrent_resets_with_one_link_succeed_once() {
    let server = Server::start();
    let (email, _) = server.new_user().await;
    forgot(&server, &email).await.expect(StatusCode::OK);
    let token = newest_token(&server, &email, "/reset");
    let passwords = [
        "first racing passphrase here",
        "second racing passphrase here",
        "third racing passphrase here",
        "fourth racing passphrase here",
    ];
    let replies =
        futures::future::join_all(passwords.iter().map(|p| reset(&server, &token, p))).await;
    let won: Vec<&str> = passwords
        .iter()
        .zip(&replies)
        .filter(|(_, reply)| reply.status == StatusCode::OK)
        .map(|(password, _)| *password)
        .collect();
    assert_eq!(won.len(), 1, "{replies:?}");
    for reply in replies
        .iter()
        .filter(|reply| reply.status != StatusCode::OK)
    {
        reply.expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    }
    login_with(&server, &email, won[0])
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn a_weak_new_password_leaves_the_reset_link_working() {
    let server = Server::start();
    let (email, _) = server.new_user().await;
    forgot(&server, &email).await.expect(StatusCode::OK);
    let token = newest_token(&server, &email, "/reset");
    reset(&server, &token, "password1234")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "weak_password");
    reset(&server, &token, NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn older_reset_links_die_once_the_password_changes() {
    let server = Server::start();
    let (email, _) = server.new_user().await;
    forgot(&server, &email).await.expect(StatusCode::OK);
    let older = newest_token(&server, &email, "/reset");
    forgot(&server, &email).await.expect(StatusCode::OK);
    let newer = newest_token(&server, &email, "/reset");
    assert_ne!(older, newer);
    reset(&server, &newer, NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
    reset(&server, &older, "an attacker's long passphrase")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    login_with(&server, &email, NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let server = Server::start();
    let (email, token) = server.new_user().await;
    let change = |current: &'static str, new: &'static str| {
        server.post(
            "/auth/password",
            Some(&token),
            json!({"current_password": current, "new_password": new}),
        )
    };
    change("not the password at all", NEW_PASSWORD)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    change(PASSWORD, "password1234")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "weak_password");
    login_with(&server, &email, PASSWORD)
        .await
        .expect(StatusCode::OK);

    change(PASSWORD, NEW_PASSWORD).await.expect(StatusCode::OK);
    login_with(&server, &email, PASSWORD)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    login_with(&server, &email, NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
    // The session that changed it goes on.
    server.get("/auth/me", &token).await.expect(StatusCode::OK);
}

#[tokio::test]
async fn guessing_the_current_password_spends_the_login_budget() {
    let server = Server::start_with(&["--failed-logins-per-account-and-address", "2"]);
    let (_, token) = server.new_user().await;
    for _ in 0..2 {
        server
            .post(
                "/auth/password",
                Some(&token),
                json!({"current_password": "a wrong guess, long", "new_password": NEW_PASSWORD}),
            )
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
    }
    // Even the right password is refused now: the budget decides before the check.
    server
        .post(
            "/auth/password",
            Some(&token),
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

#[tokio::test]
async fn a_reset_ends_every_session() {
    let server = Server::start();
    let (email, token) = server.new_user().await;
    let second = server.login(&email).await.expect(StatusCode::OK)["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    forgot(&server, &email).await.expect(StatusCode::OK);
    let link = newest_token(&server, &email, "/reset");
    reset(&server, &link, NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
    server
        .get("/auth/me", &token)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    server
        .post("/auth/refresh", None, json!({"refresh_token": second}))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn a_password_change_ends_every_other_session() {
    let server = Server::start();
    let (email, token) = server.new_user().await;
    let other = server.login(&email).await.expect(StatusCode::OK)["user"]["jwt_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    server
        .post(
            "/auth/password",
            Some(&token),
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await
        .expect(StatusCode::OK);
    server.get("/auth/me", &token).await.expect(StatusCode::OK);
    server
        .get("/auth/me", &other)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
}
