//! `/mcp` driven with plain JSON-RPC over HTTP bodies, as an MCP client sends them, in
//! front of an embedded store. The OAuth guard is stood in for by a layer that puts the
//! caller it would have verified (a real user and a grant) in the request's extensions.

use std::sync::Arc;

use api::{App, GrantCaller, Limits};
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use store::embedded::EmbeddedStore;
use store::{
    ContextName, ContextRef, Grant, GrantContexts, GrantId, NewContext, Scopes, Store, User,
    Visibility,
};
use tower::ServiceExt;

const SECRET: &str = "mcp-test-secret-mcp-test-secret-mcp-test-secret";
const HOST: &str = "127.0.0.1:8000";

struct Fixture {
    store: Arc<dyn Store>,
    app: Arc<App>,
    user: User,
}

async fn fixture() -> Fixture {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory().expect("store"));
    let user = new_user(&*store, "agent-owner@example.com").await;
    let keys = claims::TokenKeys::new(&SECRET.to_owned().into(), Default::default()).expect("keys");
    let app = Arc::new(App::new(Arc::clone(&store), keys, Limits::default()));
    Fixture { store, app, user }
}

async fn new_user(store: &dyn Store, email: &str) -> User {
    let (user, _) = store
        .create_user(
            store::NewUser {
                email: store::Email::parse(email).expect("email"),
                name: store::DisplayName::parse("Owner", "name").expect("name"),
                password_hash: "unused".into(),
            },
            None,
        )
        .await
        .expect("user");
    user
}

fn name(raw: &str) -> ContextName {
    ContextName::parse(raw).expect("context name")
}

async fn context(fixture: &Fixture, raw: &str) {
    fixture
        .store
        .create_context(
            &fixture.user.viewer(),
            NewContext {
                name: name(raw),
                description: Default::default(),
                visibility: Visibility::Private,
            },
        )
        .await
        .expect("context");
}

fn grant(user: &User, scopes: &str, contexts: GrantContexts) -> GrantCaller {
    GrantCaller {
        user: user.clone(),
        grant: Grant {
            id: GrantId::generate(),
            user_id: user.id,
            client_id: "test-client".into(),
            client_name: "Test agent".into(),
            scopes: Scopes::parse(scopes).expect("scopes"),
            contexts,
            created_at: 0,
            last_used_at: 0,
            generation: 0,
            revoked_at: None,
        },
    }
}

fn everything(user: &User) -> GrantCaller {
    grant(user, "memories:read memories:write", GrantContexts::All)
}

fn only(user: &User, scopes: &str, names: &[&str]) -> GrantCaller {
    let contexts = names
        .iter()
        .map(|raw| ContextRef {
            owner: user.id,
            name: name(raw),
        })
        .collect();
    grant(
        user,
        scopes,
        GrantContexts::only(contexts).expect("grant contexts"),
    )
}

/// Sends `request` to `/mcp` as `caller` (none: the guard was not in front).
async fn send(
    fixture: &Fixture,
    caller: Option<GrantCaller>,
    request: Request<Body>,
) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let router = api::mcp::router(
        Arc::clone(&fixture.app),
        vec!["localhost".into(), "127.0.0.1".into()],
    );
    let router = match caller {
        Some(caller) => router.layer(axum::Extension(caller)),
        None => router,
    };
    let response = router
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("body")
        .to_vec();
    (parts.status, parts.headers, body)
}

fn rpc_request(host: &str, method: &str, params: Value) -> Request<Body> {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
    Request::post(api::mcp::PATH)
        .header("host", host)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-06-18")
        .body(Body::from(body.to_string()))
        .expect("request")
}

/// The JSON-RPC `result` of `method`, which must answer 200 with JSON.
async fn rpc(fixture: &Fixture, caller: &GrantCaller, method: &str, params: Value) -> Value {
    let (status, headers, body) = send(
        fixture,
        Some(caller.clone()),
        rpc_request(HOST, method, params),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert!(
        headers.get("mcp-session-id").is_none(),
        "no session is kept"
    );
    let mut answer: Value = serde_json::from_slice(&body).expect("JSON-RPC answer");
    assert_eq!(answer["id"], 7, "{answer}");
    answer["result"].take()
}

/// `tool`'s result: (isError, its text).
async fn call(
    fixture: &Fixture,
    caller: &GrantCaller,
    tool: &str,
    arguments: Value,
) -> (bool, String) {
    let result = rpc(
        fixture,
        caller,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
    .await;
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a text result: {result}"))
        .to_owned();
    (result["isError"] == true, text)
}

#[track_caller]
fn ok_json((is_error, text): (bool, String)) -> Value {
    assert!(!is_error, "tool failed: {text}");
    serde_json::from_str(&text).expect("JSON text")
}

#[track_caller]
fn tool_error((is_error, text): (bool, String), says: &[&str]) {
    assert!(is_error, "expected a tool error: {text}");
    for words in says {
        assert!(text.contains(words), "{words:?} missing: {text}");
    }
}

async fn memory_count(fixture: &Fixture, raw: &str) -> u64 {
    fixture
        .store
        .find_context(&fixture.user.viewer(), &name(raw))
        .await
        .expect("store")
        .expect("context")
        .memory_count
}

#[tokio::test]
async fn initialize_answers_json_with_the_tools_capability_and_no_session() {
    let fixture = fixture().await;
    let caller = everything(&fixture.user);
    let result = rpc(
        &fixture,
        &caller,
        "initialize",
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}
        }),
    )
    .await;
    assert_eq!(result["serverInfo"]["name"], "mem0", "{result}");
    assert!(result["capabilities"]["tools"].is_object(), "{result}");
}

#[tokio::test]
async fn tools_list_is_the_stdio_servers_list() {
    let fixture = fixture().await;
    let result = rpc(
        &fixture,
        &everything(&fixture.user),
        "tools/list",
        json!({}),
    )
    .await;
    let listed = result["tools"].as_array().expect("tools").clone();
    let defined: Vec<Value> = mcp_tools::tools()
        .iter()
        .map(|tool| serde_json::to_value(tool).expect("tool JSON"))
        .collect();
    assert_eq!(listed, defined);
    let recall = listed
        .iter()
        .find(|tool| tool["name"] == "recall")
        .expect("recall");
    assert_eq!(recall["annotations"]["readOnlyHint"], true, "{recall}");
    let forget = listed
        .iter()
        .find(|tool| tool["name"] == "forget")
        .expect("forget");
    assert_eq!(forget["annotations"]["destructiveHint"], true, "{forget}");
}

#[tokio::test]
async fn remember_then_recall_finds_the_memory_and_forget_removes_it() {
    let fixture = fixture().await;
    let caller = everything(&fixture.user);
    let created = ok_json(
        call(
            &fixture,
            &caller,
            "create_context",
            json!({"name": "work", "description": "Work notes"}),
        )
        .await,
    );
    assert_eq!(
        (&created["name"], &created["address"]),
        (&json!("work"), &json!("work"))
    );
    let memory = ok_json(
        call(
            &fixture,
            &caller,
            "remember",
            json!({"context": "work", "text": "Deploy with sam deploy", "tags": ["ops"]}),
        )
        .await,
    );
    assert_eq!(memory["tags"], json!(["ops"]));
    ok_json(
        call(
            &fixture,
            &caller,
            "remember",
            json!({"context": "work", "text": "Lunch at noon"}),
        )
        .await,
    );
    let recalled = ok_json(
        call(
            &fixture,
            &caller,
            "recall",
            json!({"context": "work", "query": "deploy", "limit": 5}),
        )
        .await,
    );
    let memories = recalled["memories"].as_array().expect("memories");
    assert_eq!(memories.len(), 1, "{recalled}");
    assert_eq!(memories[0]["id"], memory["id"]);
    assert_eq!(memories[0]["text"], "Deploy with sam deploy");
    assert_eq!(memory_count(&fixture, "work").await, 2);

    let (is_error, said) = call(
        &fixture,
        &caller,
        "forget",
        json!({"context": "work", "id": memory["id"]}),
    )
    .await;
    assert!(!is_error, "{said}");
    assert_eq!(memory_count(&fixture, "work").await, 1);
    tool_error(
        call(
            &fixture,
            &caller,
            "forget",
            json!({"context": "work", "id": memory["id"]}),
        )
        .await,
        &["No memory"],
    );
}

#[tokio::test]
async fn a_read_only_grant_cannot_remember_forget_or_create_and_nothing_is_written() {
    let fixture = fixture().await;
    context(&fixture, "work").await;
    let reader = grant(&fixture.user, "memories:read", GrantContexts::All);
    tool_error(
        call(
            &fixture,
            &reader,
            "remember",
            json!({"context": "work", "text": "sneaky"}),
        )
        .await,
        &["memories:write"],
    );
    assert_eq!(memory_count(&fixture, "work").await, 0);
    tool_error(
        call(&fixture, &reader, "create_context", json!({"name": "new"})).await,
        &["memories:write"],
    );
    assert!(
        fixture
            .store
            .find_context(&fixture.user.viewer(), &name("new"))
            .await
            .expect("store")
            .is_none()
    );
    // Reading is what it was granted.
    let recalled = ok_json(call(&fixture, &reader, "recall", json!({"context": "work"})).await);
    assert_eq!(recalled["memories"], json!([]));
}

#[tokio::test]
async fn a_write_only_grant_cannot_read() {
    let fixture = fixture().await;
    context(&fixture, "work").await;
    let writer = grant(&fixture.user, "memories:write", GrantContexts::All);
    tool_error(
        call(&fixture, &writer, "list_contexts", json!({})).await,
        &["memories:read"],
    );
    tool_error(
        call(&fixture, &writer, "recall", json!({"context": "work"})).await,
        &["memories:read"],
    );
}

#[tokio::test]
async fn contexts_outside_the_grant_are_invisible() {
    let fixture = fixture().await;
    context(&fixture, "alpha").await;
    context(&fixture, "beta").await;
    let caller = only(
        &fixture.user,
        "memories:read memories:write",
        &["alpha", "gone"],
    );
    let listed = ok_json(call(&fixture, &caller, "list_contexts", json!({})).await);
    let names: Vec<&Value> = listed
        .as_array()
        .expect("contexts")
        .iter()
        .map(|context| &context["address"])
        .collect();
    assert_eq!(names, vec![&json!("alpha")]);
    // The same sentence as for a context that does not exist at all.
    let (_, missing) = call(&fixture, &caller, "recall", json!({"context": "nothing"})).await;
    let hidden = call(&fixture, &caller, "recall", json!({"context": "beta"})).await;
    assert_eq!(hidden.1, missing.replace("nothing", "beta"));
    tool_error(hidden, &["No context beta"]);
    tool_error(
        call(
            &fixture,
            &caller,
            "remember",
            json!({"context": "beta", "text": "x"}),
        )
        .await,
        &["No context beta"],
    );
    assert_eq!(memory_count(&fixture, "beta").await, 0);
    // A context it was not granted cannot be made, even a new one.
    tool_error(
        call(
            &fixture,
            &caller,
            "create_context",
            json!({"name": "gamma"}),
        )
        .await,
        &["gamma", "granted"],
    );
    // One it names, deleted since, can be made again.
    ok_json(call(&fixture, &caller, "create_context", json!({"name": "gone"})).await);
}

#[tokio::test]
async fn another_users_private_context_stays_invisible_even_to_a_grant_naming_it() {
    let fixture = fixture().await;
    let other = new_user(&*fixture.store, "other@example.com").await;
    fixture
        .store
        .create_context(
            &other.viewer(),
            NewContext {
                name: name("secret"),
                description: Default::default(),
                visibility: Visibility::Private,
            },
        )
        .await
        .expect("context");
    let contexts = GrantContexts::only(vec![ContextRef {
        owner: other.id,
        name: name("secret"),
    }])
    .expect("grant contexts");
    let caller = grant(&fixture.user, "memories:read", contexts);
    let address = format!("{}:secret", other.id.0);
    tool_error(
        call(&fixture, &caller, "recall", json!({"context": address})).await,
        &["No context"],
    );
    let listed = ok_json(call(&fixture, &caller, "list_contexts", json!({})).await);
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn without_a_grant_caller_the_answer_is_401() {
    let fixture = fixture().await;
    let (status, _, body) = send(&fixture, None, rpc_request(HOST, "tools/list", json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body: Value = serde_json::from_slice(&body).expect("JSON error");
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn a_foreign_host_is_refused_before_any_tool_runs() {
    let fixture = fixture().await;
    context(&fixture, "work").await;
    let request = rpc_request(
        "evil.example.com",
        "tools/call",
        json!({"name": "remember", "arguments": {"context": "work", "text": "rebound"}}),
    );
    let (status, _, _) = send(&fixture, Some(everything(&fixture.user)), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(memory_count(&fixture, "work").await, 0);
}

#[tokio::test]
async fn get_and_delete_are_405_as_a_stateless_server_has_no_stream_or_session() {
    let fixture = fixture().await;
    for method in ["GET", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri(api::mcp::PATH)
            .header("host", HOST)
            .header("accept", "text/event-stream")
            .body(Body::empty())
            .expect("request");
        let (status, headers, _) = send(&fixture, Some(everything(&fixture.user)), request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(
            headers.get("allow").and_then(|v| v.to_str().ok()),
            Some("POST")
        );
    }
}

#[test]
fn the_public_origins_host_and_loopback_are_allowed() {
    let config = api::Config::from_vars(|name| match name {
        "MEM0_JWT_SECRET" => Some(SECRET.to_owned()),
        "MEM0_TABLE" => Some("mem0".to_owned()),
        "MEM0_PUBLIC_ORIGIN" => Some("https://abc.execute-api.us-east-1.amazonaws.com/Prod".into()),
        _ => None,
    })
    .expect("config");
    assert_eq!(
        api::mcp::allowed_hosts(config.public_origin.as_deref()),
        vec![
            "abc.execute-api.us-east-1.amazonaws.com".to_owned(),
            "localhost".to_owned(),
            "127.0.0.1".to_owned()
        ]
    );
}

#[tokio::test]
async fn each_tool_call_leaves_who_what_and_how_many_in_the_activity_trail() {
    let fixture = fixture().await;
    context(&fixture, "work").await;
    let caller = everything(&fixture.user);
    ok_json(
        call(
            &fixture,
            &caller,
            "remember",
            json!({"context": "work", "text": "The launch code is tulip"}),
        )
        .await,
    );
    ok_json(
        call(
            &fixture,
            &caller,
            "recall",
            json!({"context": "work", "query": "launch"}),
        )
        .await,
    );
    ok_json(call(&fixture, &caller, "list_contexts", json!({})).await);
    let trail = fixture
        .store
        .grant_activity(fixture.user.id, &caller.grant.id, 10, None)
        .await
        .expect("trail");
    let seen: Vec<(&str, Option<&str>, u32, &str)> = trail
        .entries
        .iter()
        .map(|entry| {
            (
                entry.action.as_str(),
                entry.context.as_ref().map(|(_, name)| name.as_str()),
                entry.count,
                entry.client_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("list_contexts", None, 0, "Test agent"),
            ("recall", Some("work"), 1, "Test agent"),
            ("remember", Some("work"), 1, "Test agent"),
        ]
    );
    assert!(!format!("{trail:?}").contains("tulip"), "{trail:?}");
    let on_context = fixture
        .store
        .context_activity(fixture.user.id, &name("work"), 10, None)
        .await
        .expect("trail");
    assert_eq!(on_context.entries.len(), 2);

    // A refused call did nothing, and leaves nothing.
    let reader = grant(&fixture.user, "memories:read", GrantContexts::All);
    tool_error(
        call(
            &fixture,
            &reader,
            "remember",
            json!({"context": "work", "text": "x"}),
        )
        .await,
        &["memories:write"],
    );
    let trail = fixture
        .store
        .grant_activity(fixture.user.id, &reader.grant.id, 10, None)
        .await
        .expect("trail");
    assert!(trail.entries.is_empty(), "{trail:?}");
}

#[tokio::test]
async fn an_organization_viewer_recalls_shared_contexts_but_cannot_write_them() {
    let fixture = fixture().await;
    let (admin, organization) = fixture
        .store
        .create_user(
            store::NewUser {
                email: store::Email::parse("admin@example.com").expect("email"),
                name: store::DisplayName::parse("Admin", "name").expect("name"),
                password_hash: "unused".into(),
            },
            Some(store::NewOrganization {
                name: store::DisplayName::parse("Team", "name").expect("name"),
                domain: None,
                size: None,
                industry: None,
            }),
        )
        .await
        .expect("admin");
    let organization = organization.expect("organization");
    let shared = fixture
        .store
        .create_context(
            &admin.viewer(),
            NewContext {
                name: name("team"),
                description: Default::default(),
                visibility: Visibility::Organization,
            },
        )
        .await
        .expect("shared context");
    let now = time::OffsetDateTime::now_utc();
    let invitation = store::Invitation {
        id: ulid::Ulid::new().to_string(),
        token_hash: "viewer-invitation".into(),
        organization_id: organization.id,
        email: fixture.user.email.clone(),
        role: store::OrgRole::Viewer,
        invited_by: admin.id,
        created_at: now,
        expires_at: now + time::Duration::hours(1),
    };
    fixture
        .store
        .create_invitation(&invitation)
        .await
        .expect("invite");
    let viewer = fixture
        .store
        .accept_invitation(&invitation, store::Invitee::Existing(fixture.user.id), now)
        .await
        .expect("accept");
    let address = format!("{}:team", admin.id.0);

    let caller = everything(&viewer);
    let listed = ok_json(call(&fixture, &caller, "list_contexts", json!({})).await);
    assert_eq!(listed[0]["address"], address.as_str(), "{listed}");
    assert_eq!(listed[0]["owner"]["name"], "Admin", "{listed}");
    let recalled = ok_json(call(&fixture, &caller, "recall", json!({"context": address})).await);
    assert_eq!(recalled["memories"], json!([]));
    tool_error(
        call(
            &fixture,
            &caller,
            "remember",
            json!({"context": address, "text": "x"}),
        )
        .await,
        &["Viewers"],
    );
    let after = fixture
        .store
        .context_of(admin.id, &shared.name)
        .await
        .expect("store")
        .expect("context");
    assert_eq!(after.memory_count, 0);

    // A grant naming only the viewer's own contexts does not reach the shared one.
    let narrow = only(&viewer, "memories:read", &["mine"]);
    assert_eq!(
        ok_json(call(&fixture, &narrow, "list_contexts", json!({})).await),
        json!([])
    );
    tool_error(
        call(&fixture, &narrow, "recall", json!({"context": address})).await,
        &["No context"],
    );
}
