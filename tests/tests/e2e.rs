//! The contract in shared/API.md, exercised over real HTTP against local-dev.

// Shared with cli.rs and mcp.rs, which use the parts these tests leave out.
#[allow(dead_code)]
mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{PASSWORD, SECRET, Server, keys_with, unique_email};

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

#[tokio::test]
async fn seed_flow_signup_login_then_list_contexts_with_the_token() {
    let server = Server::start();
    let email = unique_email();
    let signup = server
        .post(
            "/auth/signup/individual",
            None,
            json!({"email": email, "password": PASSWORD, "name": "Your Name"}),
        )
        .await;
    let body = signup.expect(StatusCode::CREATED);
    assert_eq!(body["success"], true);
    let user = &body["user"];
    assert!(user["user_id"].is_u64());
    assert_eq!(user["account_type"], "individual");
    assert_eq!(user["role"], "user");
    assert_eq!(user["email_verified"], false);

    let login = server.login(&email).await;
    let body = login.expect(StatusCode::OK);
    assert_eq!(
        sorted_keys(body),
        ["expires_in", "message", "refresh_token", "success", "user"]
    );
    assert_eq!(body["message"], "Login successful");
    assert_eq!(
        sorted_keys(&body["user"]),
        [
            "account_type",
            "email",
            "email_verified",
            "jwt_token",
            "name",
            "role",
            "user_id"
        ]
    );
    assert_eq!(body["user"]["email"], email);
    assert_eq!(body["user"]["name"], "Your Name");
    assert_eq!(body["user"]["user_id"], user["user_id"]);
    let token = body["user"]["jwt_token"].as_str().expect("token");

    let claims = claims_of(token);
    assert_eq!(claims["user_id"], user["user_id"]);
    assert_eq!(claims["email"], email);
    assert_eq!(claims["account_type"], "individual");
    assert_eq!(claims["role"], "user");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        86_400
    );
    for claim in ["iss", "aud", "jti"] {
        assert!(claims[claim].is_string(), "{claim} claim present");
    }

    let contexts = server.get("/contexts", token).await;
    assert_eq!(
        contexts.expect(StatusCode::OK),
        &json!({"success": true, "contexts": []})
    );

    let me = server.get("/auth/me", token).await;
    let me = me.expect(StatusCode::OK);
    assert_eq!(me["user"]["email"], email);
    assert!(me["user"].get("jwt_token").is_none());
}

#[tokio::test]
async fn organization_signup_makes_an_admin_with_an_organization() {
    let server = Server::start();
    let email = unique_email();
    let reply = server
        .post(
            "/auth/signup/organization",
            None,
            json!({
                "user": {"email": email, "password": PASSWORD, "name": "Ada Admin"},
                "organization": {"name": "Acme Corp", "domain": "acme.test", "size": "11-50", "industry": "Software"}
            }),
        )
        .await;
    let body = reply.expect(StatusCode::CREATED);
    let organization_id = body["organization"]["organization_id"]
        .as_u64()
        .expect("org id");
    assert_eq!(body["organization"]["name"], "Acme Corp");
    assert_eq!(body["user"]["account_type"], "organization_admin");
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["user"]["organization_id"], organization_id);
    assert_eq!(
        claims_of(body["user"]["jwt_token"].as_str().unwrap())["organization_id"],
        organization_id
    );

    let login = server.login(&email).await;
    let token = login.expect(StatusCode::OK)["user"]["jwt_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(login.body["user"]["organization_id"], organization_id);
    let me = server.get("/auth/me", &token).await;
    assert_eq!(
        me.expect(StatusCode::OK)["user"]["organization_id"],
        organization_id
    );

    // Members may share a context with their organization.
    let shared = server
        .post(
            "/contexts",
            Some(&token),
            json!({"name": "team-notes", "visibility": "organization"}),
        )
        .await;
    assert_eq!(
        shared.expect(StatusCode::CREATED)["context"]["visibility"],
        "organization"
    );

    let missing_name = server
        .post(
            "/auth/signup/organization",
            None,
            json!({"user": {"email": unique_email(), "password": PASSWORD, "name": "X"}, "organization": {"name": "  "}}),
        )
        .await;
    missing_name.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn emails_are_trimmed_and_case_insensitive() {
    let server = Server::start();
    let email = unique_email();
    let shouted = format!("  {} ", email.to_uppercase());
    server
        .post(
            "/auth/signup/individual",
            None,
            json!({"email": shouted, "password": PASSWORD, "name": "Alice"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let login = server.login(&email).await;
    assert_eq!(login.expect(StatusCode::OK)["user"]["email"], email);
    let again = server
        .post(
            "/auth/signup/individual",
            None,
            json!({"email": email, "password": PASSWORD, "name": "Alice"}),
        )
        .await;
    again.expect_error(StatusCode::CONFLICT, "email_taken");
    assert!(again.body["message"].as_str().unwrap().contains("Log in"));
}

#[tokio::test]
async fn weak_passwords_are_refused_with_a_reason() {
    let server = Server::start();
    let email = unique_email();
    let local_part = email.split('@').next().unwrap().to_owned();
    for password in [
        "short".to_owned(),
        "password1234".to_owned(),
        "qwertyuiop12".to_owned(),
        format!("{local_part}-is-my-secret"),
        "x".repeat(129),
    ] {
        let reply = server
            .post(
                "/auth/signup/individual",
                None,
                json!({"email": email, "password": password, "name": "Weak"}),
            )
            .await;
        reply.expect_error(StatusCode::BAD_REQUEST, "weak_password");
    }
    // Nothing was created along the way.
    let login = server
        .post(
            "/auth/login",
            None,
            json!({"email": email, "password": "password1234"}),
        )
        .await;
    login.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[tokio::test]
async fn malformed_bodies_are_400_invalid_request() {
    let server = Server::start();
    let not_json = server
        .raw(
            server
                .request(Method::POST, "/auth/login")
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    not_json.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    let empty = server
        .raw(server.request(Method::POST, "/auth/signup/individual"))
        .await;
    empty.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    for body in [
        json!({"email": "a@example.com"}),
        json!({"email": 42, "password": PASSWORD}),
        json!({"email": "not-an-email", "password": PASSWORD}),
        json!([1, 2, 3]),
    ] {
        let reply = server.post("/auth/login", None, body.clone()).await;
        reply.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let bad_email = server
        .post(
            "/auth/signup/individual",
            None,
            json!({"email": "nobody@nowhere", "password": PASSWORD, "name": "N"}),
        )
        .await;
    bad_email.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        bad_email.body["message"]
            .as_str()
            .unwrap()
            .contains("email")
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let server = Server::start();
    let (email, _) = server.new_user().await;
    let wrong_password = server
        .post(
            "/auth/login",
            None,
            json!({"email": email, "password": "not the right passphrase"}),
        )
        .await;
    let unknown_email = server
        .post(
            "/auth/login",
            None,
            json!({"email": unique_email(), "password": "not the right passphrase"}),
        )
        .await;
    wrong_password.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    unknown_email.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong_password.body, unknown_email.body);
}

const WRONG: &str = "not the right passphrase";

/// Sends `count` logins at once and returns their statuses.
async fn logins_at_once(
    server: &Server,
    from: [u8; 4],
    emails: &[String],
    password: &str,
) -> Vec<StatusCode> {
    let replies = futures::future::join_all(
        emails
            .iter()
            .map(|email| server.login_from(from, email, password)),
    )
    .await;
    replies.iter().map(|reply| reply.status).collect()
}

fn count(statuses: &[StatusCode], wanted: StatusCode) -> usize {
    statuses.iter().filter(|status| **status == wanted).count()
}

fn retry_after(reply: &support::Reply) -> u64 {
    reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn forty_guesses_at_once_get_ten_evaluated_and_the_owner_elsewhere_still_logs_in() {
    let server = Server::start();
    let (email, _) = server.new_user().await;
    let attacker = [127, 0, 0, 3];
    let guesses = logins_at_once(&server, attacker, &vec![email.clone(); 40], WRONG).await;
    assert_eq!(count(&guesses, StatusCode::UNAUTHORIZED), 10, "{guesses:?}");
    assert_eq!(count(&guesses, StatusCode::TOO_MANY_REQUESTS), 30);

    // The 41st try, with the right password, from the attacker's address: refused.
    let refused = server.login_from(attacker, &email, PASSWORD).await;
    refused.expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!((1..=900).contains(&retry_after(&refused)));
    // The owner, from another machine, is not locked out.
    server
        .login_from([127, 0, 0, 4], &email, PASSWORD)
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn a_guess_spread_over_addresses_is_refused_alike_for_real_and_unknown_accounts() {
    let server = Server::start_with(&[
        "--failed-logins-per-account-and-address",
        "3",
        "--failed-logins-per-account",
        "7",
    ]);
    let (email, _) = server.new_user().await;
    let unknown = unique_email();
    let owner = [127, 0, 0, 4];
    for target in [&email, &unknown] {
        server
            .login_from(owner, target, WRONG)
            .await
            .expect(StatusCode::UNAUTHORIZED);
    }
    // The owner's success clears the owner's own budget, not the account's.
    server
        .login_from(owner, &email, PASSWORD)
        .await
        .expect(StatusCode::OK);
    // Guesses from two addresses, three each, at the real and at an unknown account.
    for target in [&email, &unknown] {
        for from in [[127, 0, 0, 5], [127, 0, 0, 6]] {
            let statuses = logins_at_once(&server, from, &vec![target.clone(); 3], WRONG).await;
            assert_eq!(
                count(&statuses, StatusCode::UNAUTHORIZED),
                3,
                "{statuses:?}"
            );
        }
    }
    // 1 + 6 failures at each account: both budgets are spent, and
    // a third address, or the owner with the right password, is refused the same way.
    let real = server.login_from([127, 0, 0, 7], &email, WRONG).await;
    let fake = server.login_from([127, 0, 0, 7], &unknown, WRONG).await;
    real.expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    fake.expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // The same answer but for the seconds left, which may tick between the two.
    let without_digits = |reply: &support::Reply| {
        reply.body["message"]
            .as_str()
            .unwrap_or_default()
            .replace(|c: char| c.is_ascii_digit(), "")
    };
    assert_eq!(without_digits(&real), without_digits(&fake));
    assert!(retry_after(&real).abs_diff(retry_after(&fake)) <= 1);
    server
        .login_from(owner, &email, PASSWORD)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // Other accounts are unaffected.
    let (other, _) = server.new_user().await;
    server
        .login_from(owner, &other, PASSWORD)
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn spraying_one_password_over_forty_accounts_from_one_address_is_refused() {
    let server = Server::start();
    let sprayer = [127, 0, 0, 8];
    let accounts: Vec<String> = (0..40).map(|_| unique_email()).collect();
    let statuses = logins_at_once(&server, sprayer, &accounts, WRONG).await;
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        30,
        "{statuses:?}"
    );
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 10);
    let (email, _) = server.new_user().await;
    server
        .login_from(sprayer, &email, PASSWORD)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    server
        .login_from([127, 0, 0, 9], &email, PASSWORD)
        .await
        .expect(StatusCode::OK);
}

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}

/// Each argon2id hash takes 19 MiB; a burst must neither hold 50 of them at once nor
/// leave them behind.
#[tokio::test]
async fn a_burst_of_fifty_concurrent_logins_leaves_resident_memory_where_it_was() {
    let server = Server::start_with(&[
        "--failed-logins-per-account-and-address",
        "1000",
        "--failed-logins-per-address",
        "1000",
        "--failed-logins-per-account",
        "1000",
    ]);
    let (email, _) = server.new_user().await;
    let from = [127, 0, 0, 10];
    for _ in 0..4 {
        logins_at_once(&server, from, &vec![email.clone(); 2], PASSWORD).await;
    }
    let before = resident_kib(server.pid());
    let statuses = logins_at_once(&server, from, &vec![email.clone(); 50], PASSWORD).await;
    // On a loaded machine some wait longer than the queue allows: 503, never worse.
    let busy = count(&statuses, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(count(&statuses, StatusCode::OK) + busy, 50, "{statuses:?}");
    assert!(busy < 50, "{statuses:?}");
    let after = resident_kib(server.pid());
    println!("local-dev resident: {before} KiB before the burst, {after} KiB after");
    assert!(
        after < before + 8 * 1024,
        "resident memory grew from {before} KiB to {after} KiB"
    );
}

#[tokio::test]
async fn signups_are_throttled_per_client() {
    let server = Server::start_with(&["--signups-per-hour", "2"]);
    server.new_user().await;
    server.new_user().await;
    let third = server
        .post(
            "/auth/signup/individual",
            None,
            json!({"email": unique_email(), "password": PASSWORD, "name": "Third"}),
        )
        .await;
    third.expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(third.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn bad_tokens_are_401_with_www_authenticate() {
    let server = Server::start();
    let (email, token) = server.new_user().await;
    let user_id = claims_of(&token)["user_id"].as_u64().unwrap();
    let subject = claims::Subject {
        user_id,
        email,
        account_type: "individual".into(),
        role: "user".into(),
        organization_id: None,
        sid: claims_of(&token)["sid"].as_str().map(str::to_owned),
    };
    let (expired, _) = keys_with(SECRET)
        .issue_at(subject.clone(), claims::unix_now() - 25 * 3600)
        .unwrap();
    let (forged, _) = keys_with("some-other-secret-some-other-secret-42")
        .issue(subject.clone())
        .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", parts[1]);
    let mut raised = claims_of(&token);
    raised["user_id"] = json!(user_id + 1);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(raised.to_string()),
        parts[2]
    );
    let wrong_audience = claims::TokenKeys::new(
        &SECRET.to_owned().into(),
        claims::TokenSettings {
            audience: "another-service".into(),
            ..claims::TokenSettings::default()
        },
    )
    .unwrap()
    .issue(subject)
    .unwrap()
    .0;

    let missing = server.call(Method::GET, "/contexts", None, None).await;
    missing.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(missing.headers["www-authenticate"], "Bearer");
    for bad in [
        "garbage",
        "a.b.c",
        expired.as_str(),
        forged.as_str(),
        alg_none.as_str(),
        tampered.as_str(),
        wrong_audience.as_str(),
    ] {
        for path in ["/contexts", "/auth/me"] {
            let reply = server.get(path, bad).await;
            reply.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
            assert!(
                reply.headers.contains_key("www-authenticate"),
                "{path} with {bad}"
            );
        }
    }
    let basic = server
        .raw(
            server
                .request(Method::GET, "/contexts")
                .header("authorization", format!("Basic {token}")),
        )
        .await;
    basic.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    server.get("/contexts", &token).await.expect(StatusCode::OK);
}

#[tokio::test]
async fn contexts_can_be_created_listed_fetched_and_deleted() {
    let server = Server::start();
    let (_, token) = server.new_user().await;
    let created = server
        .post(
            "/contexts",
            Some(&token),
            json!({"name": "my-project", "description": "Notes"}),
        )
        .await;
    let context = &created.expect(StatusCode::CREATED)["context"];
    assert_eq!(
        sorted_keys(context),
        [
            "created_at",
            "description",
            "href",
            "memory_count",
            "name",
            "visibility"
        ]
    );
    assert_eq!(context["visibility"], "private");
    assert_eq!(context["memory_count"], 0);
    assert!(context["created_at"].as_str().unwrap().ends_with('Z'));

    server
        .post("/contexts", Some(&token), json!({"name": "my-project"}))
        .await
        .expect_error(StatusCode::CONFLICT, "conflict");
    for (body, status, code) in [
        (
            json!({"name": "has space"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"name": ""}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"name": "x".repeat(65)}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"name": 5}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"name": ".."}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"name": "ok", "visibility": "public"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        // An individual has no organization to share with.
        (
            json!({"name": "ok", "visibility": "organization"}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ] {
        let reply = server.post("/contexts", Some(&token), body).await;
        reply.expect_error(status, code);
    }

    server
        .post("/contexts", Some(&token), json!({"name": "a.second_one"}))
        .await
        .expect(StatusCode::CREATED);
    let list = server.get("/contexts", &token).await;
    let names: Vec<&str> = list.expect(StatusCode::OK)["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a.second_one", "my-project"]);

    let fetched = server.get("/contexts/my-project", &token).await;
    assert_eq!(
        fetched.expect(StatusCode::OK)["context"]["description"],
        "Notes"
    );
    let deleted = server.delete("/contexts/my-project", &token).await;
    assert_eq!(deleted.expect(StatusCode::OK), &json!({"success": true}));
    server
        .get("/contexts/my-project", &token)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .delete("/contexts/my-project", &token)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn memories_are_added_listed_newest_first_paged_searched_and_deleted() {
    let server = Server::start();
    let (_, token) = server.new_user().await;
    server
        .post("/contexts", Some(&token), json!({"name": "proj"}))
        .await
        .expect(StatusCode::CREATED);
    let texts = [
        "Deploy with sam deploy --guided",
        "The database is DynamoDB with one table",
        "Lunch is at noon",
        "Run the tests with tests/run.sh",
        "Deploy previews go to the staging stage",
    ];
    let mut ids = Vec::new();
    for text in texts {
        let reply = server
            .post(
                "/contexts/proj/memories",
                Some(&token),
                json!({"text": text, "tags": ["notes"]}),
            )
            .await;
        let memory = &reply.expect(StatusCode::CREATED)["memory"];
        assert_eq!(sorted_keys(memory), ["created_at", "id", "tags", "text"]);
        assert_eq!(memory["text"], text);
        assert_eq!(memory["tags"], json!(["notes"]));
        ids.push(memory["id"].as_str().unwrap().to_owned());
    }
    let context = server.get("/contexts/proj", &token).await;
    assert_eq!(context.expect(StatusCode::OK)["context"]["memory_count"], 5);

    // Newest first, two at a time, every memory exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/contexts/proj/memories?limit=2&cursor={cursor}"),
            None => "/contexts/proj/memories?limit=2".to_owned(),
        };
        let page = server.get(&path, &token).await;
        let body = page.expect(StatusCode::OK);
        seen.extend(
            body["memories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert!(body["next_cursor"].is_null());
                break;
            }
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    let search = server
        .get("/contexts/proj/memories?query=deploy%20guided", &token)
        .await;
    let found: Vec<&str> = search.expect(StatusCode::OK)["memories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        [
            "Deploy with sam deploy --guided",
            "Deploy previews go to the staging stage"
        ]
    );

    for bad in ["limit=0", "limit=101", "limit=abc", "cursor=not-a-cursor"] {
        server
            .get(&format!("/contexts/proj/memories?{bad}"), &token)
            .await
            .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    server
        .post(
            "/contexts/proj/memories",
            Some(&token),
            json!({"text": "   "}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    server
        .post(
            "/contexts/proj/memories",
            Some(&token),
            json!({"text": "x", "tags": "not-a-list"}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");

    let deleted = server
        .delete(&format!("/contexts/proj/memories/{}", ids[2]), &token)
        .await;
    assert_eq!(deleted.expect(StatusCode::OK), &json!({"success": true}));
    server
        .delete(&format!("/contexts/proj/memories/{}", ids[2]), &token)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .delete("/contexts/proj/memories/not-an-id", &token)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    let context = server.get("/contexts/proj", &token).await;
    assert_eq!(context.expect(StatusCode::OK)["context"]["memory_count"], 4);

    // Deleting the context deletes its memories: a new one of the same name starts empty.
    server
        .delete("/contexts/proj", &token)
        .await
        .expect(StatusCode::OK);
    server
        .get("/contexts/proj/memories", &token)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .post("/contexts", Some(&token), json!({"name": "proj"}))
        .await
        .expect(StatusCode::CREATED);
    let fresh = server.get("/contexts/proj/memories", &token).await;
    assert_eq!(fresh.expect(StatusCode::OK)["memories"], json!([]));
}

#[tokio::test]
async fn another_user_gets_404_for_everything_of_mine() {
    let server = Server::start();
    let (_, alice) = server.new_user().await;
    let (_, bob) = server.new_user().await;
    server
        .post("/contexts", Some(&alice), json!({"name": "private"}))
        .await
        .expect(StatusCode::CREATED);
    let memory = server
        .post(
            "/contexts/private/memories",
            Some(&alice),
            json!({"text": "alice's secret"}),
        )
        .await;
    let id = memory.expect(StatusCode::CREATED)["memory"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(
        server.get("/contexts", &bob).await.expect(StatusCode::OK)["contexts"],
        json!([])
    );
    server
        .get("/contexts/private", &bob)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .get("/contexts/private/memories", &bob)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .get("/contexts/private/memories?query=secret", &bob)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .post(
            "/contexts/private/memories",
            Some(&bob),
            json!({"text": "bob was here"}),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .delete(&format!("/contexts/private/memories/{id}"), &bob)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .delete("/contexts/private", &bob)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");

    // Bob may use the same name for his own context; Alice's is untouched.
    server
        .post("/contexts", Some(&bob), json!({"name": "private"}))
        .await
        .expect(StatusCode::CREATED);
    let alices = server.get("/contexts/private/memories", &alice).await;
    let memories = &alices.expect(StatusCode::OK)["memories"];
    assert_eq!(memories.as_array().unwrap().len(), 1);
    assert_eq!(memories[0]["text"], "alice's secret");
}

#[tokio::test]
async fn unknown_routes_404_and_wrong_methods_405() {
    let server = Server::start();
    let (_, token) = server.new_user().await;
    for path in [
        "/nope",
        "/auth",
        "/auth/signup/company",
        "/contexts/a/b",
        "/contexts/a/memories/b/c",
    ] {
        server
            .get(path, &token)
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
    for (method, path, allow) in [
        (Method::GET, "/auth/login", "POST"),
        (Method::GET, "/auth/signup/individual", "POST"),
        (Method::POST, "/auth/me", "GET"),
        (Method::GET, "/auth/logout", "POST"),
        (Method::PUT, "/contexts", "GET, POST"),
        (Method::PATCH, "/contexts/x", "GET, DELETE"),
        (Method::PUT, "/contexts/x/memories", "GET, POST"),
        (
            Method::GET,
            "/contexts/x/memories/01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "DELETE",
        ),
    ] {
        let reply = server.call(method.clone(), path, Some(&token), None).await;
        reply.expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert_eq!(reply.headers["allow"], allow, "{method} {path}");
    }
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let server = Server::start();
    let (_, token) = server.new_user().await;
    server
        .post("/contexts", Some(&token), json!({"name": "big"}))
        .await
        .expect(StatusCode::CREATED);
    let huge = json!({"text": "x".repeat(1024 * 1024)});
    let reply = server
        .post("/contexts/big/memories", Some(&token), huge)
        .await;
    reply.expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let context = server.get("/contexts/big", &token).await;
    assert_eq!(context.expect(StatusCode::OK)["context"]["memory_count"], 0);
}

#[tokio::test]
async fn twenty_concurrent_signups_for_one_email_make_exactly_one_account() {
    let server = Server::start();
    let email = unique_email();
    let attempts = (0..20).map(|i| {
        server.post(
            "/auth/signup/individual",
            None,
            json!({"email": email, "password": format!("{PASSWORD} {i}"), "name": format!("Racer {i}")}),
        )
    });
    let replies = futures::future::join_all(attempts).await;
    let created: Vec<&support::Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .collect();
    assert_eq!(created.len(), 1, "exactly one signup wins");
    for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        reply.expect_error(StatusCode::CONFLICT, "email_taken");
    }
    // The winner's password is the one that works.
    let winner = created[0].body["user"]["name"].as_str().unwrap();
    let index: usize = winner.trim_start_matches("Racer ").parse().unwrap();
    server
        .post(
            "/auth/login",
            None,
            json!({"email": email, "password": format!("{PASSWORD} {index}")}),
        )
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn accounts_tokens_and_memories_survive_a_restart() {
    let server = Server::start_with(&[]);
    let (email, token) = server.new_user().await;
    server
        .post("/contexts", Some(&token), json!({"name": "kept"}))
        .await
        .expect(StatusCode::CREATED);
    server
        .post(
            "/contexts/kept/memories",
            Some(&token),
            json!({"text": "still here"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let data_dir = server.stop();

    let server = Server::start_in(data_dir, &[]);
    let memories = server.get("/contexts/kept/memories", &token).await;
    assert_eq!(
        memories.expect(StatusCode::OK)["memories"][0]["text"],
        "still here"
    );
    server.login(&email).await.expect(StatusCode::OK);
}

#[tokio::test]
async fn pages_are_served_with_security_headers() {
    let server = Server::start();
    for (path, marker) in [
        ("/", "signup-form"),
        ("/login", "login-form"),
        ("/dashboard", "contexts-list"),
    ] {
        let reply = server.raw(server.request(Method::GET, path)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(
            reply.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            reply.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
        assert_eq!(reply.headers["x-frame-options"], "DENY");
        assert_eq!(reply.headers["x-content-type-options"], "nosniff");
        let html = reply.body.as_str().expect("html text");
        assert!(html.contains(marker), "{path} has #{marker}");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{path} loads nothing from elsewhere"
        );
    }
    for path in ["/", "/login", "/dashboard"] {
        let reply = server.raw(server.request(Method::POST, path)).await;
        reply.expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert_eq!(reply.headers["allow"], "GET");
    }
    let script = server
        .raw(server.request(Method::GET, "/static/app.js"))
        .await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.body.as_str().unwrap().contains("mem0_token"));
}

#[tokio::test]
async fn api_answers_are_never_cached_nor_sniffed_success_or_error() {
    let server = Server::start();
    let (email, _) = server.new_user().await;
    let login = server.login(&email).await;
    let refused = server.raw(server.request(Method::GET, "/contexts")).await;
    for (what, reply) in [("a login with its token", &login), ("a 401", &refused)] {
        assert_eq!(reply.headers["cache-control"], "no-store", "{what}");
        assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(reply.headers["content-type"], "application/json", "{what}");
    }
}

#[tokio::test]
async fn a_logged_out_session_is_refused_everywhere_and_other_sessions_still_work() {
    let server = Server::start();
    let (email, first) = server.new_user().await;
    let second = server.login(&email).await;
    let second = second.expect(StatusCode::OK)["user"]["jwt_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let logout = server.post("/auth/logout", Some(&first), json!({})).await;
    assert_eq!(logout.expect(StatusCode::OK)["success"], true);
    for path in ["/contexts", "/auth/me"] {
        let reply = server.get(path, &first).await;
        reply.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
        assert_eq!(
            reply.body["message"],
            "Your session has ended. Log in again."
        );
    }
    server
        .post("/auth/logout", Some(&first), json!({}))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    server
        .get("/contexts", &second)
        .await
        .expect(StatusCode::OK);
    server
        .call(Method::POST, "/auth/logout", None, None)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
}

/// A token signed with the servers' secret, with the header `typ` and the claims the
/// attacker chose, starting from those of `genuine`.
fn forge(genuine: &str, typ: Option<&str>, edit: impl FnOnce(&mut Value)) -> String {
    let mut payload = claims_of(genuine);
    edit(&mut payload);
    let header = jsonwebtoken::Header {
        typ: typ.map(str::to_owned),
        ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
    };
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::encode(&header, &payload, &key).expect("signed")
}

#[tokio::test]
async fn tokens_forged_with_the_key_but_a_future_iat_or_nbf_a_century_or_another_typ_are_401() {
    let server = Server::start();
    let (_, token) = server.new_user().await;
    let now = claims::unix_now();
    let lifetime = keys_with(SECRET).lifetime().as_secs();
    let same_claims = forge(&token, Some("at+jwt"), |_| {});
    server
        .get("/contexts", &same_claims)
        .await
        .expect(StatusCode::OK);

    let forged = [
        ("typ JWT", forge(&token, Some("JWT"), |_| {})),
        ("no typ", forge(&token, None, |_| {})),
        (
            "typ refresh+jwt",
            forge(&token, Some("refresh+jwt"), |_| {}),
        ),
        (
            "iat in an hour",
            forge(&token, Some("at+jwt"), |claims| {
                claims["iat"] = json!(now + 3600);
                claims["exp"] = json!(now + 3600 + lifetime);
            }),
        ),
        (
            "nbf in an hour",
            forge(&token, Some("at+jwt"), |claims| {
                claims["nbf"] = json!(now + 3600);
            }),
        ),
        (
            "a hundred years",
            forge(&token, Some("at+jwt"), |claims| {
                claims["exp"] = json!(now + 100 * 365 * 24 * 3600);
            }),
        ),
    ];
    for (what, bad) in &forged {
        for path in ["/contexts", "/auth/me"] {
            let reply = server.get(path, bad).await;
            reply.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
            assert_eq!(reply.headers["www-authenticate"], "Bearer", "{what}");
        }
    }
    let header = jsonwebtoken::decode_header(&token).expect("a JWT header");
    assert_eq!(
        header.typ.as_deref(),
        Some("at+jwt"),
        "what the server issues"
    );
}

#[tokio::test]
async fn a_token_of_an_ended_session_stays_refused_after_its_exp_within_the_leeway() {
    let server = Server::start();
    let (email, token) = server.new_user().await;
    let issued = claims_of(&token);
    let subject = claims::Subject {
        user_id: issued["user_id"].as_u64().expect("user_id"),
        email: email.clone(),
        account_type: "individual".into(),
        role: "user".into(),
        organization_id: None,
        sid: issued["sid"].as_str().map(str::to_owned),
    };
    let keys = keys_with(SECRET);
    let lifetime = keys.lifetime().as_secs();
    // Expired five seconds ago, still accepted for the rest of the leeway.
    let (stolen, stolen_claims) = keys
        .issue_at(subject, claims::unix_now() - lifetime - 5)
        .expect("signed");
    server
        .get("/contexts", &stolen)
        .await
        .expect(StatusCode::OK);

    server
        .post("/auth/logout", Some(&token), json!({}))
        .await
        .expect(StatusCode::OK);

    for path in ["/contexts", "/auth/me"] {
        server
            .get(path, &stolen)
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    assert!(
        claims::unix_now() <= stolen_claims.accepted_until(),
        "the test must run within the leeway for the 401 to be the session's"
    );
}

#[tokio::test]
async fn a_genuine_token_without_a_session_is_refused() {
    let server = Server::start();
    let (email, token) = server.new_user().await;
    let subject = claims::Subject {
        user_id: claims_of(&token)["user_id"].as_u64().expect("user_id"),
        email,
        account_type: "individual".into(),
        role: "user".into(),
        organization_id: None,
        sid: None,
    };
    let (sessionless, _) = keys_with(SECRET).issue(subject).expect("signed");
    server
        .get("/contexts", &sessionless)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
}

/// The bytes of a `GET` answer as they came over the wire, and the answer parsed.
async fn get_raw(server: &Server, path: &str, token: &str) -> (usize, Value) {
    let response = server
        .request(Method::GET, path)
        .bearer_auth(token)
        .send()
        .await
        .expect("request reaches local-dev");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let bytes = response.bytes().await.expect("body");
    (bytes.len(), serde_json::from_slice(&bytes).expect("JSON"))
}

/// Follows `next_cursor` from `first` to the end; every answer must stay under the 6 MB
/// API Gateway passes on. Returns the ids in the order they came and the page sizes.
async fn page_through(server: &Server, first: &str, token: &str) -> (Vec<String>, Vec<usize>) {
    let (mut ids, mut sizes) = (Vec::new(), Vec::new());
    let mut path = first.to_owned();
    loop {
        let (bytes, body) = get_raw(server, &path, token).await;
        assert!(bytes < 6_000_000, "a page of {bytes} bytes");
        let memories = body["memories"].as_array().expect("memories");
        sizes.push(memories.len());
        ids.extend(
            memories
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(next) => path = format!("{first}&cursor={next}"),
            None => break,
        }
    }
    (ids, sizes)
}

#[tokio::test]
async fn a_hundred_memories_of_sixteen_thousand_emoji_page_under_six_megabytes() {
    let server = Server::start();
    let (_, token) = server.new_user().await;
    server
        .post("/contexts", Some(&token), json!({"name": "emoji"}))
        .await
        .expect(StatusCode::CREATED);
    let mut ids = Vec::new();
    let mut text_bytes = Vec::new();
    for index in 0..100 {
        let head = format!("alpha {index} ");
        let text = head.clone() + &"😀".repeat(16_000 - head.chars().count());
        let reply = server
            .post(
                "/contexts/emoji/memories",
                Some(&token),
                json!({"text": text}),
            )
            .await;
        let memory = &reply.expect(StatusCode::CREATED)["memory"];
        ids.push(memory["id"].as_str().unwrap().to_owned());
        text_bytes.push(text.len());
    }
    ids.reverse();
    text_bytes.reverse();

    // Plain listing: 6.4 MB in a hundred memories, so the first page stops early and the
    // cursor carries on; every memory comes exactly once, newest first.
    let (listed, sizes) = page_through(&server, "/contexts/emoji/memories?limit=100", &token).await;
    assert!(sizes.len() > 1 && sizes[0] < 100, "pages of {sizes:?}");
    assert_eq!(listed, ids);

    // Search ranks the newest 4 MiB of text (the API's candidate budget): each of those
    // memories comes exactly once, equal scores newest first.
    let mut total = 0;
    let candidates = text_bytes
        .iter()
        .take_while(|&&bytes| {
            total += bytes;
            total <= 4 * 1024 * 1024
        })
        .count();
    assert!(candidates > 60, "{candidates}");
    let (found, _) = page_through(
        &server,
        "/contexts/emoji/memories?query=alpha&limit=100",
        &token,
    )
    .await;
    assert_eq!(found, ids[..candidates]);
}

#[tokio::test]
async fn two_worst_case_searches_do_not_keep_other_requests_waiting() {
    let server = Server::start();
    let (_, token) = server.new_user().await;
    server
        .post("/contexts", Some(&token), json!({"name": "heavy"}))
        .await
        .expect(StatusCode::CREATED);
    // 32 words of 15 letters sharing their first 12; the memories are made of their
    // 14-letter stems, near misses that walk deep into every automaton, up to the
    // candidate budget of 4 MiB.
    let stem = |index: usize| {
        let letters = b"abcdefghijklmnopqrstuvwxy";
        let mut stem = String::from("abcdefghijkl");
        stem.push(char::from(letters[12 + index % 13]));
        stem.push(char::from(b'a' + u8::try_from(index / 13).unwrap()));
        stem
    };
    let query: Vec<String> = (0..32).map(|index| format!("{}z", stem(index))).collect();
    let query = query.join("+");
    let text: String = (0..1_066).map(|index| stem(index % 32) + " ").collect();
    assert!(text.chars().count() <= 16_000);
    for _ in 0..262 {
        server
            .post(
                "/contexts/heavy/memories",
                Some(&token),
                json!({"text": text}),
            )
            .await
            .expect(StatusCode::CREATED);
    }

    let path = format!("/contexts/heavy/memories?query={query}&limit=100");
    let search = || server.get(&path, &token);
    let other = async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        let reply = server.get("/contexts", &token).await;
        (reply, started.elapsed())
    };
    let (first, second, (listing, waited)) = tokio::join!(search(), search(), other);
    first.expect(StatusCode::OK);
    second.expect(StatusCode::OK);
    assert_eq!(
        listing.expect(StatusCode::OK)["contexts"][0]["name"],
        "heavy"
    );
    assert!(
        waited < std::time::Duration::from_secs(2),
        "GET /contexts waited {waited:?} behind two searches"
    );
}
