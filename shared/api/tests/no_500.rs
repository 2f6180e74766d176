//! Whatever a client sends, the answer is never a 500 and every error is the contract's
//! JSON shape. Requests are generated: methods, paths around every route, bodies from
//! valid through half-valid to garbage, and valid, garbage or missing tokens.

mod support;

use std::sync::{Arc, OnceLock};

use api::{App, Limits};
use bytes::Bytes;
use proptest::prelude::*;
use store::embedded::EmbeddedStore;

const SECRET: &str = "property-test-secret-property-test-secret";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    app: Arc<App>,
    token: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let keys = || claims::TokenKeys::new(&SECRET.to_owned().into(), Default::default());
        let store: Arc<dyn store::Store> = Arc::new(EmbeddedStore::in_memory().expect("store"));
        // The token's user must exist: every request reads it from the store. An
        // organization signup makes user 1 an admin of organization 1, so the
        // organization routes reach their deeper handlers too.
        let (user, _) = runtime
            .block_on(store::Store::create_user(
                &*store,
                store::NewUser {
                    email: store::Email::parse("prop@example.com").expect("email"),
                    name: store::DisplayName::parse("Prop", "name").expect("name"),
                    password_hash: "unused".into(),
                },
                Some(store::NewOrganization {
                    name: store::DisplayName::parse("Prop Org", "name").expect("name"),
                    domain: None,
                    size: None,
                    industry: None,
                }),
            ))
            .expect("user 1");
        let limits = Limits {
            signups_per_client_per_hour: u32::MAX,
            failed_logins_per_account_and_address: u32::MAX,
            failed_logins_per_address: u32::MAX,
            failed_logins_per_account: u32::MAX,
            password_resets_per_address: u32::MAX,
            password_resets_per_account: u32::MAX,
            verification_mails_per_account: u32::MAX,
            ..Limits::default()
        };
        let keys = keys().expect("keys");
        let token = runtime.block_on(support::session_token(&*store, &keys, &user));
        let app = Arc::new(App::new(store, keys, limits));
        // One context exists, so paths under it reach the deeper handlers.
        let create = http::Request::builder()
            .method("POST")
            .uri("/contexts")
            .header("authorization", format!("Bearer {token}"))
            .body(Bytes::from_static(br#"{"name":"ctx"}"#))
            .expect("request");
        let status = runtime
            .block_on(support::handle(&app, api::routes::all, create))
            .status();
        assert_eq!(status, 201);
        Fixture {
            runtime,
            app,
            token,
        }
    })
}

fn method() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
    ])
}

fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("ctx".to_owned()),
        Just("01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned()),
        "[a-zA-Z0-9._%~-]{0,70}",
    ];
    let query = prop_oneof![
        Just(String::new()),
        "\\?(query|limit|cursor)=[a-zA-Z0-9%+&=_-]{0,30}",
    ];
    (
        prop::sample::select(vec![
            "/auth/signup/individual",
            "/auth/signup/organization",
            "/auth/login",
            "/auth/me",
            "/auth/logout",
            "/auth/refresh",
            "/auth/sessions",
            "/auth/sessions/{}",
            "/contexts",
            "/contexts/{}",
            "/contexts/{}/memories",
            "/contexts/{}/memories/{}",
            "/orgs/{}",
            "/orgs/1/members/{}",
            "/orgs/1/invitations/{}",
            "/orgs/1/{}",
            "/invitations/{}",
            "/{}",
            "/",
        ]),
        segment.clone(),
        segment,
        query,
    )
        .prop_map(|(template, first, second, query)| {
            template
                .replacen("{}", &first, 1)
                .replacen("{}", &second, 1)
                + &query
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        Just(serde_json::json!(null)),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
        Just(serde_json::json!(["a", 1])),
    ];
    let field = prop::sample::select(vec![
        "email",
        "password",
        "name",
        "user",
        "organization",
        "text",
        "tags",
        "description",
        "visibility",
    ]);
    let object = prop::collection::vec((field, value), 0..6).prop_map(|fields| {
        let object: serde_json::Map<String, serde_json::Value> = fields
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect();
        serde_json::to_vec(&object).unwrap_or_default()
    });
    prop_oneof![
        object,
        prop::collection::vec(any::<u8>(), 0..200),
        Just(
            br#"{"email":"p@example.com","password":"a long passphrase here","name":"P"}"#.to_vec()
        ),
        Just(br#"{"text":"hello","tags":["a"]}"#.to_vec()),
        Just(br#"{"name":"new-one","visibility":"organization"}"#.to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_request_gets_a_500(
        method in method(),
        path in path(),
        body in body(),
        auth in prop_oneof![Just(0u8), Just(1), Just(2)],
    ) {
        let fixture = fixture();
        let mut builder = http::Request::builder().method(method).uri(path.as_str());
        builder = match auth {
            0 => builder.header("authorization", format!("Bearer {}", fixture.token)),
            1 => builder.header("authorization", "Bearer not.a.token"),
            _ => builder,
        };
        // Paths that http itself refuses never reach a handler.
        let Ok(request) = builder.body(Bytes::from(body)) else { return Ok(()) };
        let response = fixture.runtime.block_on(support::handle(&fixture.app, api::routes::all, request));
        let status = response.status();
        prop_assert!(status.as_u16() < 500, "{method} {path}: {status}");
        if method == "HEAD" {
            // HTTP: an answer to HEAD has the headers only.
            prop_assert!(response.body().is_empty(), "{method} {path}");
            return Ok(());
        }
        let json: serde_json::Value = serde_json::from_slice(response.body())
            .map_err(|e| TestCaseError::fail(format!("{method} {path}: body is not JSON: {e}")))?;
        if !status.is_success() {
            prop_assert_eq!(json["success"].as_bool(), Some(false));
            prop_assert!(json["error"].is_string() && json["message"].is_string());
        }
    }
}
