//! The Lambda front door's log line: one JSON object per request with the request
//! ids, route template, status, latency, user id and request units, and never a
//! password, a token, a body or a name someone chose.

use std::io::Write;
use std::sync::{Arc, Mutex};

use api::{App, Limits};
use claims::{TokenKeys, TokenSettings};
use lambda_http::tower::ServiceExt;
use lambda_http::{Context, RequestExt};
use secrecy::SecretString;
use serde_json::{Value, json};
use store::embedded::EmbeddedStore;

const PASSWORD: &str = "a long passphrase here";
const CONTEXT: &str = "private-project-name";

/// Log output, shared with the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// The `request` lines, as JSON.
    fn requests(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).expect("every line is JSON"))
            .filter(|line| line["fields"]["message"] == "request")
            .collect()
    }
}

/// An HTTP API (payload 2.0) event as API Gateway sends it, invoked with `request_id`.
fn event(
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
    request_id: &str,
) -> lambda_http::Request {
    let mut headers = json!({"content-type": "application/json", "host": "api.example.com"});
    if let Some(token) = token {
        headers["authorization"] = json!(format!("Bearer {token}"));
    }
    let raw = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": format!("gw-{request_id}"), "routeKey": "$default",
            "stage": "$default", "time": "26/Nov/2026:06:00:00 +0000", "timeEpoch": 1_795_000_000_000u64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.9", "userAgent": "test"}
        },
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false
    });
    let mut context = Context::default();
    context.request_id = request_id.to_owned();
    lambda_http::request::from_str(&raw.to_string())
        .expect("a valid API Gateway event")
        .with_lambda_context(context)
}

/// One invocation through the front door every function runs: status and JSON body.
async fn answer(door: &lambda::FrontDoor, event: lambda_http::Request) -> (u16, Value) {
    let response = door
        .clone()
        .oneshot(event)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the body is in memory");
    (status, serde_json::from_slice(&body).expect("JSON body"))
}

#[tokio::test(flavor = "current_thread")]
async fn each_request_logs_one_json_line_with_ids_route_status_user_and_units_but_no_secrets() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("store.db")).unwrap();
    let key = SecretString::from("lambda-log-test-secret-0123456789abcdef");
    let app = App::new(
        Arc::new(store),
        TokenKeys::new(&key, TokenSettings::default()).unwrap(),
        Limits::default(),
    );
    let door = lambda::front_door(api::router(Arc::new(app), api::routes::all()));

    let signup = event(
        "POST",
        "/auth/signup/individual",
        Some(json!({"email": "logs@example.com", "password": PASSWORD, "name": "Logs"})),
        None,
        "req-1",
    );
    let (status, body) = answer(&door, signup).await;
    assert_eq!(status, 201);
    let user = body["user"].clone();
    let token = user["jwt_token"].as_str().unwrap().to_owned();

    let create = event(
        "POST",
        "/contexts",
        Some(json!({"name": CONTEXT})),
        Some(&token),
        "req-2",
    );
    assert_eq!(answer(&door, create).await.0, 201);
    let path = format!("/contexts/{CONTEXT}");
    let get = event("GET", &path, None, Some(&token), "req-3");
    assert_eq!(answer(&door, get).await.0, 200);
    let anonymous = event("GET", "/contexts", None, None, "req-4");
    assert_eq!(answer(&door, anonymous).await.0, 401);

    let lines = logs.requests();
    assert_eq!(lines.len(), 4, "one line per request: {}", logs.text());
    let fields: Vec<&Value> = lines.iter().map(|line| &line["fields"]).collect();
    let expected = [
        ("req-1", "POST", "/auth/signup/individual", 201),
        ("req-2", "POST", "/contexts", 201),
        ("req-3", "GET", "/contexts/{name}", 200),
        ("req-4", "GET", "/contexts", 401),
    ];
    for (line, (request_id, method, route, status)) in fields.iter().zip(expected) {
        assert_eq!(line["request_id"], request_id);
        assert_eq!(line["gateway_request_id"], format!("gw-{request_id}"));
        assert_eq!(line["method"], method);
        assert_eq!(line["route"], route);
        assert_eq!(line["status"], status);
        assert!(line["latency_ms"].is_u64(), "{line}");
        assert!(
            line["read_units"].is_number() && line["write_units"].is_number(),
            "{line}"
        );
    }
    for line in &fields[..3] {
        assert_eq!(
            line["user_id"], user["user_id"],
            "the caller is known: {line}"
        );
    }
    assert!(
        fields[3].get("user_id").is_none(),
        "no caller on a 401: {}",
        fields[3]
    );

    let text = logs.text();
    for secret in [PASSWORD, token.as_str(), CONTEXT] {
        assert!(
            !text.contains(secret),
            "the logs must not contain {secret:?}"
        );
    }
}
