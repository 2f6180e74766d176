//! The OAuth 2.1 server of `/mcp`, through the real routers over the embedded store:
//! registration, consent, code exchange, refresh, revocation, and the guard in front
//! of `/mcp` (on a stand-in route). Every refusal is checked for its RFC error and for
//! leaving nothing behind.

mod support;

use std::sync::Arc;

use api::{App, GrantCaller, Limits};
use axum::Extension;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::embedded::EmbeddedStore;
use tower::ServiceExt;

const SECRET: &str = "oauth-test-secret-oauth-test-secret-0123456";
const ORIGIN: &str = "http://127.0.0.1:8000";
const RESOURCE: &str = "http://127.0.0.1:8000/mcp";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "http://127.0.0.1:33418/callback";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn keys() -> claims::TokenKeys {
    claims::TokenKeys::new(&SECRET.to_owned().into(), Default::default()).expect("keys")
}

struct Fixture {
    app: Arc<App>,
    store: Arc<dyn store::Store>,
}

struct Response {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }
}

/// The query parameters of `url`.
fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .into_owned()
        .collect()
}

fn param(url: &str, key: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value)
}

impl Fixture {
    fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    fn with_limits(limits: Limits) -> Self {
        let store: Arc<dyn store::Store> = Arc::new(EmbeddedStore::in_memory().expect("store"));
        Self {
            app: Arc::new(
                App::new(Arc::clone(&store), keys(), limits)
                    .with_client_metadata(Arc::new(Documents)),
            ),
            store,
        }
    }

    async fn user(&self, email: &str) -> (store::User, String) {
        support::logged_in(&*self.store, &keys(), email).await
    }

    async fn send(&self, request: http::Request<Bytes>) -> Response {
        let response = support::handle(&self.app, api::routes::all, request).await;
        let (parts, body) = response.into_parts();
        Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }

    async fn json(&self, method: &str, uri: &str, token: Option<&str>, body: Value) -> Response {
        let mut request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(
            request
                .body(Bytes::from(body.to_string()))
                .expect("request"),
        )
        .await
    }

    async fn get(&self, uri: &str, token: Option<&str>) -> Response {
        let mut request = http::Request::builder().uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(Bytes::new()).expect("request"))
            .await
    }

    async fn form(&self, uri: &str, pairs: &[(&str, &str)]) -> Response {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.send(
            http::Request::builder()
                .method("POST")
                .uri(uri)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Bytes::from(body))
                .expect("request"),
        )
        .await
    }

    async fn register(&self, redirect_uris: &[&str]) -> Response {
        self.json(
            "POST",
            "/oauth/register",
            None,
            json!({"redirect_uris": redirect_uris, "client_name": "Test Agent"}),
        )
        .await
    }

    async fn client(&self) -> String {
        let response = self.register(&[REDIRECT, "cursor://test/cb"]).await;
        assert_eq!(response.status, 201, "{:?}", response.body);
        response.json()["client_id"]
            .as_str()
            .expect("client_id")
            .to_owned()
    }

    /// The user's decision on a request of `client`; `extra` overrides fields.
    async fn decide(&self, token: &str, client: &str, extra: Value) -> Response {
        let mut body = json!({
            "response_type": "code",
            "client_id": client,
            "redirect_uri": REDIRECT,
            "code_challenge": challenge(VERIFIER),
            "code_challenge_method": "S256",
            "state": "xyz",
            "decision": "allow",
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (key, value) in extra {
                body.insert(key.clone(), value.clone());
            }
        }
        self.json("POST", "/oauth/authorize", Some(token), body)
            .await
    }

    /// A fresh code for `client`, consented to by the holder of `token`.
    async fn code(&self, token: &str, client: &str) -> String {
        let response = self.decide(token, client, json!({})).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        let redirect_to = response.json()["redirect_to"]
            .as_str()
            .expect("redirect_to")
            .to_owned();
        assert!(redirect_to.starts_with(REDIRECT), "{redirect_to}");
        assert_eq!(param(&redirect_to, "state").as_deref(), Some("xyz"));
        assert_eq!(param(&redirect_to, "iss").as_deref(), Some(ORIGIN));
        param(&redirect_to, "code").expect("a code")
    }

    async fn exchange(&self, client: &str, code: &str) -> Response {
        self.form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
                ("client_id", client),
                ("resource", RESOURCE),
            ],
        )
        .await
    }

    async fn refresh(&self, client: &str, refresh_token: &str) -> Response {
        self.form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", client),
            ],
        )
        .await
    }

    async fn grants(&self, token: &str) -> Vec<Value> {
        let response = self.get("/auth/grants", Some(token)).await;
        assert_eq!(response.status, 200);
        response.json()["grants"]
            .as_array()
            .cloned()
            .expect("grants")
    }

    /// `POST /mcp` on a stand-in route behind the guard; the user id it saw, or the refusal.
    async fn mcp(&self, token: Option<&str>) -> Response {
        let router = axum::Router::new()
            .route(
                "/mcp",
                post(|Extension(caller): Extension<GrantCaller>| async move {
                    caller.user.id.0.to_string()
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&self.app),
                api::oauth::require_grant,
            ));
        let mut request = http::Request::builder().method("POST").uri("/mcp");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = router
            .oneshot(request.body(axum::body::Body::empty()).expect("request"))
            .await
            .unwrap_or_else(|never| match never {});
        let (parts, body) = response.into_parts();
        Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: axum::body::to_bytes(body, usize::MAX).await.expect("body"),
        }
    }
}

/// Metadata documents served by a stand-in for the web: the good agent's, one that
/// names another URL as its client_id, and nothing else.
struct Documents;

const AGENT_DOCUMENT: &str = "https://agent.example.com/oauth/client.json";
const LYING_DOCUMENT: &str = "https://liar.example.com/oauth/client.json";

#[async_trait::async_trait]
impl api::oauth::ClientMetadataFetcher for Documents {
    async fn fetch(&self, url: &url::Url) -> Result<Bytes, api::oauth::FetchError> {
        let document = |client_id: &str| {
            Bytes::from(
                json!({"client_id": client_id, "client_name": "Doc Agent", "redirect_uris": [REDIRECT]})
                    .to_string(),
            )
        };
        match url.as_str() {
            AGENT_DOCUMENT => Ok(document(AGENT_DOCUMENT)),
            LYING_DOCUMENT => Ok(document(AGENT_DOCUMENT)),
            _ => Err(api::oauth::FetchError("404".into())),
        }
    }
}

fn assert_oauth_error(response: &Response, status: u16, error: &str) {
    assert_eq!(response.status, status, "{:?}", response.body);
    assert_eq!(response.json()["error"], error, "{:?}", response.body);
    assert!(response.json()["error_description"].is_string());
    assert_eq!(response.header("cache-control"), "no-store");
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

#[tokio::test]
async fn the_metadata_names_this_origin() {
    let fixture = Fixture::new();
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let body = fixture.get(path, None).await.json();
        assert_eq!(body["resource"], RESOURCE);
        assert_eq!(body["authorization_servers"], json!([ORIGIN]));
        assert_eq!(body["bearer_methods_supported"], json!(["header"]));
        assert_eq!(
            body["scopes_supported"],
            json!(["memories:read", "memories:write"])
        );
    }
    let server = fixture
        .get("/.well-known/oauth-authorization-server", None)
        .await
        .json();
    assert_eq!(server["issuer"], ORIGIN);
    assert_eq!(
        server["authorization_endpoint"],
        format!("{ORIGIN}/oauth/authorize")
    );
    assert_eq!(server["token_endpoint"], format!("{ORIGIN}/oauth/token"));
    assert_eq!(
        server["registration_endpoint"],
        format!("{ORIGIN}/oauth/register")
    );
    assert_eq!(
        server["revocation_endpoint"],
        format!("{ORIGIN}/oauth/revoke")
    );
    assert_eq!(server["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        server["token_endpoint_auth_methods_supported"],
        json!(["none"])
    );
    assert_eq!(
        server["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
}

#[tokio::test]
async fn register_consent_exchange_refresh_and_revoke() {
    let fixture = Fixture::new();
    let (user, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let code = fixture.code(&rest, &client).await;
    let tokens = fixture.exchange(&client, &code).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    assert_eq!(tokens.header("cache-control"), "no-store");
    let tokens = tokens.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "memories:read memories:write");
    let access = str_of(&tokens, "access_token");
    let answered = fixture.mcp(Some(access)).await;
    assert_eq!(answered.status, 200);
    assert_eq!(answered.body, user.id.0.to_string());

    let grants = fixture.grants(&rest).await;
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["client_id"], client.as_str());
    assert_eq!(grants[0]["client_name"], "Test Agent");
    assert_eq!(grants[0]["contexts"], "all");
    assert_eq!(
        grants[0]["scopes"],
        json!(["memories:read", "memories:write"])
    );

    let refreshed = fixture
        .refresh(&client, str_of(&tokens, "refresh_token"))
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    let refreshed = refreshed.json();
    assert_ne!(refreshed["refresh_token"], tokens["refresh_token"]);
    let access = str_of(&refreshed, "access_token");
    assert_eq!(fixture.mcp(Some(access)).await.status, 200);

    let revoked = fixture
        .form(
            "/oauth/revoke",
            &[("token", str_of(&refreshed, "refresh_token"))],
        )
        .await;
    assert_eq!(revoked.status, 200);
    let refused = fixture.mcp(Some(access)).await;
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .header("www-authenticate")
            .contains("error=\"invalid_token\"")
    );
    assert!(fixture.grants(&rest).await.is_empty());
    let again = fixture
        .refresh(&client, str_of(&refreshed, "refresh_token"))
        .await;
    assert_oauth_error(&again, 400, "invalid_grant");
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_grant_and_unknown_tokens_are_200() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let code = fixture.code(&rest, &client).await;
    let tokens = fixture.exchange(&client, &code).await.json();
    for unknown in ["nonsense", rest.as_str()] {
        let response = fixture.form("/oauth/revoke", &[("token", unknown)]).await;
        assert_eq!(response.status, 200);
    }
    assert_eq!(fixture.grants(&rest).await.len(), 1, "nothing revoked yet");
    let access = str_of(&tokens, "access_token");
    assert_eq!(
        fixture
            .form("/oauth/revoke", &[("token", access)])
            .await
            .status,
        200
    );
    assert!(fixture.grants(&rest).await.is_empty());
    assert_eq!(fixture.mcp(Some(access)).await.status, 401);
}

#[tokio::test]
async fn a_wrong_or_missing_pkce_verifier_is_refused_and_makes_no_grant() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let code = fixture.code(&rest, &client).await;
    let wrong = fixture
        .form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                (
                    "code_verifier",
                    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
                ),
                ("redirect_uri", REDIRECT),
                ("client_id", &client),
            ],
        )
        .await;
    assert_oauth_error(&wrong, 400, "invalid_grant");
    let code = fixture.code(&rest, &client).await;
    let missing = fixture
        .form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", &client),
            ],
        )
        .await;
    assert_oauth_error(&missing, 400, "invalid_request");
    assert!(fixture.grants(&rest).await.is_empty());
}

#[tokio::test]
async fn a_reused_code_is_invalid_grant() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let code = fixture.code(&rest, &client).await;
    assert_eq!(fixture.exchange(&client, &code).await.status, 200);
    assert_oauth_error(
        &fixture.exchange(&client, &code).await,
        400,
        "invalid_grant",
    );
    assert_eq!(fixture.grants(&rest).await.len(), 1, "no second grant");
}

#[tokio::test]
async fn a_code_presented_by_another_client_is_invalid_grant_and_burnt() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let thief = fixture.client().await;
    let code = fixture.code(&rest, &client).await;
    assert_oauth_error(&fixture.exchange(&thief, &code).await, 400, "invalid_grant");
    assert_oauth_error(
        &fixture.exchange(&client, &code).await,
        400,
        "invalid_grant",
    );
    assert!(fixture.grants(&rest).await.is_empty());
}

#[tokio::test]
async fn a_code_exchanged_with_another_redirect_uri_is_invalid_grant() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let code = fixture.code(&rest, &client).await;
    let response = fixture
        .form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", "cursor://test/cb"),
                ("client_id", &client),
            ],
        )
        .await;
    assert_oauth_error(&response, 400, "invalid_grant");
    assert!(fixture.grants(&rest).await.is_empty());
}

#[tokio::test]
async fn a_resource_of_another_server_is_refused_at_consent_and_at_exchange() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let elsewhere = "https://other.example.com/mcp";
    let consent = fixture
        .decide(&rest, &client, json!({"resource": elsewhere}))
        .await;
    assert_eq!(consent.status, 200);
    let redirect_to = str_of(&consent.json(), "redirect_to").to_owned();
    assert_eq!(
        param(&redirect_to, "error").as_deref(),
        Some("invalid_target")
    );
    assert_eq!(param(&redirect_to, "code"), None);
    assert_eq!(param(&redirect_to, "state").as_deref(), Some("xyz"));

    let code = fixture.code(&rest, &client).await;
    let response = fixture
        .form(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", REDIRECT),
                ("client_id", &client),
                ("resource", elsewhere),
            ],
        )
        .await;
    assert_oauth_error(&response, 400, "invalid_target");
    assert!(fixture.grants(&rest).await.is_empty());
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let fixture = Fixture::new();
    let (user, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let code = "an-expired-code-an-expired-code-an-expired";
    let digest: String = Sha256::digest(code.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    fixture
        .store
        .put_authorization_code(&store::AuthorizationCode {
            digest,
            client_id: client.clone(),
            redirect_uri: REDIRECT.into(),
            code_challenge: challenge(VERIFIER),
            resource: RESOURCE.into(),
            user_id: user.id,
            scopes: store::Scopes::all(),
            contexts: store::GrantContexts::All,
            expires_at: time::OffsetDateTime::now_utc().unix_timestamp() - 1,
        })
        .await
        .expect("stored");
    assert_oauth_error(&fixture.exchange(&client, code).await, 400, "invalid_grant");
    assert!(fixture.grants(&rest).await.is_empty());
}

#[tokio::test]
async fn a_replayed_refresh_token_ends_the_grant_and_its_newer_tokens() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let code = fixture.code(&rest, &client).await;
    let first = fixture.exchange(&client, &code).await.json();
    let second = fixture
        .refresh(&client, str_of(&first, "refresh_token"))
        .await;
    assert_eq!(second.status, 200);
    let second = second.json();
    let replay = fixture
        .refresh(&client, str_of(&first, "refresh_token"))
        .await;
    assert_oauth_error(&replay, 400, "invalid_grant");
    let newer = fixture
        .refresh(&client, str_of(&second, "refresh_token"))
        .await;
    assert_oauth_error(&newer, 400, "invalid_grant");
    assert_eq!(
        fixture
            .mcp(Some(str_of(&second, "access_token")))
            .await
            .status,
        401
    );
    assert!(fixture.grants(&rest).await.is_empty());
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_refused_and_changes_nothing() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let thief = fixture.client().await;
    let code = fixture.code(&rest, &client).await;
    let tokens = fixture.exchange(&client, &code).await.json();
    let stolen = fixture
        .refresh(&thief, str_of(&tokens, "refresh_token"))
        .await;
    assert_oauth_error(&stolen, 400, "invalid_grant");
    let own = fixture
        .refresh(&client, str_of(&tokens, "refresh_token"))
        .await;
    assert_eq!(own.status, 200, "the owner's token still works");
}

#[tokio::test]
async fn a_session_refresh_token_is_no_grant_refresh_token() {
    let fixture = Fixture::new();
    let client = fixture.client().await;
    let session_refresh = keys()
        .refresh_token(1, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 0)
        .expect("signed");
    let response = fixture.refresh(&client, &session_refresh).await;
    assert_oauth_error(&response, 400, "invalid_grant");
}

#[tokio::test]
async fn an_unknown_client_at_the_token_endpoint_is_invalid_client() {
    let fixture = Fixture::new();
    let response = fixture
        .exchange("01ARZ3NDEKTSV4RRFFQ69G5FAV", "some-code")
        .await;
    assert_oauth_error(&response, 401, "invalid_client");
    let response = fixture
        .form(
            "/oauth/token",
            &[("grant_type", "password"), ("client_id", "x")],
        )
        .await;
    assert_oauth_error(&response, 400, "unsupported_grant_type");
}

#[tokio::test]
async fn a_revoked_grants_access_token_is_refused_by_the_guard() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let code = fixture.code(&rest, &client).await;
    let tokens = fixture.exchange(&client, &code).await.json();
    let access = str_of(&tokens, "access_token");
    assert_eq!(fixture.mcp(Some(access)).await.status, 200);
    let grant_id = str_of(&fixture.grants(&rest).await[0], "grant_id").to_owned();
    let (_, bob) = fixture.user("bob@example.com").await;
    let response = fixture
        .json(
            "DELETE",
            &format!("/auth/grants/{grant_id}"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!(response.status, 404, "not Bob's grant");
    assert_eq!(fixture.mcp(Some(access)).await.status, 200);
    let response = fixture
        .json(
            "DELETE",
            &format!("/auth/grants/{grant_id}"),
            Some(&rest),
            json!({}),
        )
        .await;
    assert_eq!(response.status, 200);
    let refused = fixture.mcp(Some(access)).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["error"], "unauthorized");
}

#[tokio::test]
async fn a_rest_token_or_none_at_the_guard_is_401_with_the_challenge() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let metadata = format!(
        "Bearer resource_metadata=\"{ORIGIN}/.well-known/oauth-protected-resource/mcp\", scope=\"memories:read memories:write\""
    );
    let none = fixture.mcp(None).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), metadata);
    let with_rest = fixture.mcp(Some(&rest)).await;
    assert_eq!(with_rest.status, 401);
    assert_eq!(
        with_rest.header("www-authenticate"),
        format!("{metadata}, error=\"invalid_token\"")
    );
}

#[tokio::test]
async fn an_mcp_token_on_a_rest_route_is_401() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let code = fixture.code(&rest, &client).await;
    let tokens = fixture.exchange(&client, &code).await.json();
    let response = fixture
        .get("/contexts", Some(str_of(&tokens, "access_token")))
        .await;
    assert_eq!(response.status, 401);
    assert_eq!(response.json()["error"], "unauthorized");
    assert_eq!(fixture.get("/contexts", Some(&rest)).await.status, 200);
}

#[tokio::test]
async fn registration_takes_https_loopback_and_app_schemes_only() {
    let fixture = Fixture::new();
    let refused = fixture.register(&["http://evil.example/cb"]).await;
    assert_oauth_error(&refused, 400, "invalid_redirect_uri");
    let refused = fixture.register(&["https://app.example.com/cb#x"]).await;
    assert_oauth_error(&refused, 400, "invalid_redirect_uri");
    let refused = fixture.register(&[]).await;
    assert_oauth_error(&refused, 400, "invalid_redirect_uri");
    let confidential = fixture
        .json(
            "POST",
            "/oauth/register",
            None,
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}),
        )
        .await;
    assert_oauth_error(&confidential, 400, "invalid_client_metadata");
    let accepted = fixture
        .register(&["http://127.0.0.1:1234/cb", "cursor://x"])
        .await;
    assert_eq!(accepted.status, 201);
    let body = accepted.json();
    assert_eq!(str_of(&body, "client_id").len(), 26);
    assert!(body["client_id_issued_at"].is_i64());
    assert_eq!(
        body["redirect_uris"],
        json!(["http://127.0.0.1:1234/cb", "cursor://x"])
    );
    assert_eq!(body["token_endpoint_auth_method"], "none");
    let unnamed = fixture
        .json(
            "POST",
            "/oauth/register",
            None,
            json!({"redirect_uris": ["cursor://x"]}),
        )
        .await;
    assert_eq!(unnamed.json()["client_name"], "Unnamed app");
}

#[tokio::test]
async fn registrations_are_throttled_per_address() {
    let fixture = Fixture::with_limits(Limits {
        oauth_registrations_per_address: 2,
        ..Limits::default()
    });
    for _ in 0..2 {
        assert_eq!(fixture.register(&[REDIRECT]).await.status, 201);
    }
    let refused = fixture.register(&[REDIRECT]).await;
    assert_eq!(refused.status, 429);
    assert!(!refused.header("retry-after").is_empty());
}

#[tokio::test]
async fn concurrent_exchanges_of_one_code_make_exactly_one_grant() {
    let fixture = Arc::new(Fixture::new());
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let code = fixture.code(&rest, &client).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let fixture = Arc::clone(&fixture);
            let (client, code) = (client.clone(), code.clone());
            tokio::spawn(async move { fixture.exchange(&client, &code).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|status| **status == 400).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(fixture.grants(&rest).await.len(), 1);
}

#[tokio::test]
async fn the_consent_page_refuses_unknown_clients_and_redirect_uris_without_redirecting() {
    let fixture = Fixture::new();
    let client = fixture.client().await;
    let base = format!(
        "response_type=code&code_challenge={}&code_challenge_method=S256&state=s",
        challenge(VERIFIER)
    );
    for query in [
        format!("{base}&client_id=01ARZ3NDEKTSV4RRFFQ69G5FAV&redirect_uri={REDIRECT}"),
        format!("{base}&client_id={client}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"),
        format!("{base}&client_id={client}"),
    ] {
        let page = fixture
            .get(&format!("/oauth/authorize?{query}"), None)
            .await;
        assert_eq!(page.status, 400, "{query}");
        assert!(page.header("location").is_empty());
        assert!(page.header("content-type").starts_with("text/html"));
    }
}

#[tokio::test]
async fn the_consent_page_sends_other_errors_back_with_state_and_iss() {
    let fixture = Fixture::new();
    let client = fixture.client().await;
    let redirect = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>();
    let page = fixture
        .get(
            &format!("/oauth/authorize?response_type=code&client_id={client}&redirect_uri={redirect}&state=s1"),
            None,
        )
        .await;
    assert_eq!(page.status, 302);
    let location = page.header("location");
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(param(location, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(location, "state").as_deref(), Some("s1"));
    assert_eq!(param(location, "iss").as_deref(), Some(ORIGIN));
}

#[tokio::test]
async fn a_valid_request_gets_the_consent_page_framed_by_nobody() {
    let fixture = Fixture::new();
    let registered = fixture
        .json(
            "POST",
            "/oauth/register",
            None,
            json!({"redirect_uris": [REDIRECT], "client_name": "<b>Evil</b> & co"}),
        )
        .await
        .json();
    let client = str_of(&registered, "client_id");
    let redirect = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>();
    let page = fixture
        .get(
            &format!(
                "/oauth/authorize?response_type=code&client_id={client}&redirect_uri={redirect}&code_challenge={}&code_challenge_method=S256&scope=memories:read",
                challenge(VERIFIER)
            ),
            None,
        )
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert!(
        page.header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(page.header("cache-control"), "no-store");
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("&lt;b&gt;Evil&lt;/b&gt; &amp; co"));
    assert!(!html.contains("<b>Evil"));
    assert!(html.contains("id=\"consent-allow\"") && html.contains("id=\"login-form\""));
    assert!(html.contains("data-scopes=\"memories:read\""));
}

#[tokio::test]
async fn deny_sends_access_denied_and_makes_nothing() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let response = fixture
        .decide(&rest, &client, json!({"decision": "deny"}))
        .await;
    let redirect_to = str_of(&response.json(), "redirect_to").to_owned();
    assert_eq!(
        param(&redirect_to, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(param(&redirect_to, "code"), None);
    assert_eq!(param(&redirect_to, "state").as_deref(), Some("xyz"));
}

#[tokio::test]
async fn a_consent_needs_a_rest_token_and_can_give_only_the_users_contexts_and_asked_scopes() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let (_, bob) = fixture.user("bob@example.com").await;
    let created = fixture
        .json("POST", "/contexts", Some(&bob), json!({"name": "bobs"}))
        .await;
    assert_eq!(created.status, 201);
    let created = fixture
        .json("POST", "/contexts", Some(&rest), json!({"name": "notes"}))
        .await;
    assert_eq!(created.status, 201);
    let client = fixture.client().await;
    let anonymous = fixture
        .json(
            "POST",
            "/oauth/authorize",
            None,
            json!({"client_id": client}),
        )
        .await;
    assert_eq!(anonymous.status, 401);
    let foreign = fixture
        .decide(&rest, &client, json!({"contexts": ["2:bobs"]}))
        .await;
    assert_eq!(foreign.status, 400);
    let unasked = fixture
        .decide(
            &rest,
            &client,
            json!({"scope": "memories:read", "scopes": ["memories:write"]}),
        )
        .await;
    assert_eq!(unasked.status, 400);
    let narrow = fixture
        .decide(
            &rest,
            &client,
            json!({"scopes": ["memories:read"], "contexts": ["notes"]}),
        )
        .await;
    let code = param(str_of(&narrow.json(), "redirect_to"), "code").expect("code");
    let tokens = fixture.exchange(&client, &code).await.json();
    assert_eq!(tokens["scope"], "memories:read");
    let grants = fixture.grants(&rest).await;
    assert_eq!(grants[0]["contexts"], json!(["notes"]));
    assert_eq!(grants[0]["scopes"], json!(["memories:read"]));
}

#[tokio::test]
async fn a_client_id_metadata_document_client_is_consented_to_and_exchanges_its_code() {
    let fixture = Fixture::new();
    let (_, rest) = fixture.user("alice@example.com").await;
    let redirect = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>();
    let page = |client: &str| {
        let client = form_urlencoded::byte_serialize(client.as_bytes()).collect::<String>();
        format!(
            "/oauth/authorize?response_type=code&client_id={client}&redirect_uri={redirect}&code_challenge={}&code_challenge_method=S256",
            challenge(VERIFIER)
        )
    };
    let shown = fixture.get(&page(AGENT_DOCUMENT), None).await;
    assert_eq!(shown.status, 200);
    assert!(String::from_utf8_lossy(&shown.body).contains("Doc Agent"));
    for refused in [LYING_DOCUMENT, "https://missing.example.com/client.json"] {
        assert_eq!(
            fixture.get(&page(refused), None).await.status,
            400,
            "{refused}"
        );
    }
    let kept = || async { fixture.store.client(AGENT_DOCUMENT).await.expect("read") };
    assert_eq!(kept().await, None, "showing the page writes nothing");
    let code = fixture.code(&rest, AGENT_DOCUMENT).await;
    assert!(kept().await.is_some(), "the consent keeps the client");
    let tokens = fixture.exchange(AGENT_DOCUMENT, &code).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let grants = fixture.grants(&rest).await;
    assert_eq!(grants[0]["client_id"], AGENT_DOCUMENT);
    assert_eq!(grants[0]["client_name"], "Doc Agent");
    let refreshed = fixture
        .refresh(AGENT_DOCUMENT, str_of(&tokens.json(), "refresh_token"))
        .await;
    assert_eq!(refreshed.status, 200);
}

#[tokio::test]
async fn the_http_fetcher_reads_a_loopback_document_only_when_allowed_and_no_redirects() {
    use api::oauth::{ClientMetadataFetcher, HttpFetcher};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let base = format!("http://{address}");
    let document = json!({"client_id": format!("{base}/client.json"), "redirect_uris": [REDIRECT]});
    let big = "x".repeat(6 * 1024);
    let app = axum::Router::new()
        .route(
            "/client.json",
            axum::routing::get(move || async move { document.to_string() }),
        )
        .route("/big.json", axum::routing::get(move || async move { big }))
        .route(
            "/moved.json",
            axum::routing::get(|| async {
                (http::StatusCode::FOUND, [("location", "/client.json")])
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = |path: &str| url::Url::parse(&format!("{base}{path}")).expect("url");
    let body = HttpFetcher::new(true)
        .fetch(&url("/client.json"))
        .await
        .expect("fetched");
    assert!(String::from_utf8_lossy(&body).contains("client.json"));
    assert!(
        HttpFetcher::new(false)
            .fetch(&url("/client.json"))
            .await
            .is_err()
    );
    assert!(
        HttpFetcher::new(true)
            .fetch(&url("/moved.json"))
            .await
            .is_err()
    );
    assert!(
        HttpFetcher::new(true)
            .fetch(&url("/big.json"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn token_requests_are_throttled_per_address_before_any_work() {
    let fixture = Fixture::with_limits(Limits {
        oauth_token_requests_per_address: 1,
        ..Limits::default()
    });
    let (_, rest) = fixture.user("alice@example.com").await;
    let client = fixture.client().await;
    let guess = fixture.exchange(&client, "a-guessed-code").await;
    assert_oauth_error(&guess, 400, "invalid_grant");
    let code = fixture.code(&rest, &client).await;
    let refused = fixture.exchange(&client, &code).await;
    assert_eq!(refused.status, 429);
    assert!(!refused.header("retry-after").is_empty());
    assert!(
        fixture.grants(&rest).await.is_empty(),
        "the code was not even used"
    );
}
