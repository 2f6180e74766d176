//! Attacks on search and paging, through the contexts router over the embedded store: oversized
//! queries, forged and foreign cursors, control characters in memories.

mod support;

use std::sync::Arc;

use api::{App, Limits};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde_json::{Value, json};
use store::embedded::EmbeddedStore;

const SECRET: &str = "search-test-secret-search-test-secret-0123";

struct Fixture {
    app: Arc<App>,
    store: Arc<dyn store::Store>,
    /// The access token of each user made so far, by user id.
    tokens: tokio::sync::Mutex<Vec<String>>,
}

fn keys() -> claims::TokenKeys {
    claims::TokenKeys::new(&SECRET.to_owned().into(), Default::default()).expect("keys")
}

impl Fixture {
    fn new() -> Self {
        let store: Arc<dyn store::Store> = Arc::new(EmbeddedStore::in_memory().expect("store"));
        Self {
            app: Arc::new(App::new(Arc::clone(&store), keys(), Limits::default())),
            store,
            tokens: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// A logged-in token of user `user_id`, making users 1, 2, ... up to it as needed.
    async fn token(&self, user_id: u64) -> String {
        let mut tokens = self.tokens.lock().await;
        while (tokens.len() as u64) < user_id {
            let email = format!("user{}@example.com", tokens.len() + 1);
            let (user, token) = support::logged_in(&*self.store, &keys(), &email).await;
            assert_eq!(user.id.0, tokens.len() as u64 + 1, "ids count from 1");
            tokens.push(token);
        }
        tokens[usize::try_from(user_id).expect("small") - 1].clone()
    }

    async fn call(&self, method: &str, uri: &str, user: u64, body: Option<Value>) -> (u16, Value) {
        let body = body.map_or_else(Bytes::new, |body| Bytes::from(body.to_string()));
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header(
                "authorization",
                format!("Bearer {}", self.token(user).await),
            )
            .body(body)
            .expect("request");
        let response = support::handle(&self.app, api::routes::all, request).await;
        let status = response.status().as_u16();
        let body = serde_json::from_slice(response.body()).expect("JSON answer");
        (status, body)
    }

    async fn get(&self, uri: &str, user: u64) -> (u16, Value) {
        self.call("GET", uri, user, None).await
    }

    async fn context(&self, user: u64, name: &str) {
        let (status, _) = self
            .call("POST", "/contexts", user, Some(json!({"name": name})))
            .await;
        assert_eq!(status, 201);
    }

    async fn remember(&self, user: u64, name: &str, text: &str) -> (u16, Value) {
        self.call(
            "POST",
            &format!("/contexts/{name}/memories"),
            user,
            Some(json!({"text": text})),
        )
        .await
    }
}

#[track_caller]
fn assert_invalid((status, body): &(u16, Value)) {
    assert_eq!(*status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
}

fn encode(query: &str) -> String {
    form_urlencoded::byte_serialize(query.as_bytes()).collect()
}

fn words(count: usize) -> String {
    (0..count)
        .map(|index| format!("w{index}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_three_thousand_word_query_is_refused_before_any_ranking() {
    let fixture = Fixture::new();
    fixture.context(1, "proj").await;
    fixture.remember(1, "proj", "w1 w2 w3").await;
    for query in [words(3_000), words(33), "x".repeat(513)] {
        let reply = fixture
            .get(
                &format!("/contexts/proj/memories?query={}", encode(&query)),
                1,
            )
            .await;
        assert_invalid(&reply);
    }
    // At the limits: 32 distinct words, 512 characters, repeats merged.
    let at_limit = words(32);
    let repeated = format!("{at_limit} w1 w1 w1 w2 w2");
    assert!(repeated.chars().count() <= 512);
    for query in [at_limit, repeated, "x".repeat(512)] {
        let (status, body) = fixture
            .get(
                &format!("/contexts/proj/memories?query={}", encode(&query)),
                1,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

#[tokio::test]
async fn forged_offset_cursors_are_400_never_a_panic_or_500() {
    let fixture = Fixture::new();
    fixture.context(1, "proj").await;
    for index in 0..3 {
        fixture
            .remember(1, "proj", &format!("deploy {index}"))
            .await;
    }
    for forged in [
        format!("offset:{}", u64::MAX),
        format!("offset:{}", usize::MAX - 1),
        "offset:1000000000000".to_owned(),
        "offset:-1".to_owned(),
        "offset:5".to_owned(),
        format!("offset:{}{}", u64::MAX, "\0".repeat(16)),
    ] {
        let cursor = URL_SAFE_NO_PAD.encode(forged);
        let reply = fixture
            .get(
                &format!("/contexts/proj/memories?query=deploy&limit=1&cursor={cursor}"),
                1,
            )
            .await;
        assert_invalid(&reply);
    }
}

#[tokio::test]
async fn a_cursor_from_another_query_or_context_is_400() {
    let fixture = Fixture::new();
    fixture.context(1, "proj").await;
    fixture.context(1, "other").await;
    fixture.context(2, "proj").await;
    for user in [1, 2] {
        for name in ["proj", "other"] {
            for index in 0..3 {
                fixture
                    .remember(user, name, &format!("deploy lunch {index}"))
                    .await;
            }
        }
    }
    let (status, first) = fixture
        .get("/contexts/proj/memories?query=deploy&limit=1", 1)
        .await;
    assert_eq!(status, 200);
    let cursor = first["next_cursor"].as_str().expect("more results");

    // The cursor works where it was handed out...
    let (status, body) = fixture
        .get(
            &format!("/contexts/proj/memories?query=deploy&limit=1&cursor={cursor}"),
            1,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // ...and nowhere else: another query, another context, another user's context of the
    // same name, or plain listing.
    for (uri, user) in [
        (
            format!("/contexts/proj/memories?query=lunch&cursor={cursor}"),
            1,
        ),
        (
            format!("/contexts/other/memories?query=deploy&cursor={cursor}"),
            1,
        ),
        (
            format!("/contexts/proj/memories?query=deploy&cursor={cursor}"),
            2,
        ),
        (format!("/contexts/proj/memories?cursor={cursor}"), 1),
    ] {
        assert_invalid(&fixture.get(&uri, user).await);
    }
    let (_, listing) = fixture.get("/contexts/proj/memories?limit=1", 1).await;
    let after = listing["next_cursor"].as_str().expect("more memories");
    for uri in [
        format!("/contexts/other/memories?cursor={after}"),
        format!("/contexts/proj/memories?query=deploy&cursor={after}"),
    ] {
        assert_invalid(&fixture.get(&uri, 1).await);
    }
}

#[tokio::test]
async fn search_pages_cover_every_match_once_with_cursors() {
    let fixture = Fixture::new();
    fixture.context(1, "proj").await;
    for index in 0..7 {
        fixture
            .remember(1, "proj", &format!("deploy note {index}"))
            .await;
    }
    fixture.remember(1, "proj", "lunch").await;
    let mut seen = Vec::new();
    let mut uri = "/contexts/proj/memories?query=deploy&limit=3".to_owned();
    loop {
        let (status, body) = fixture.get(&uri, 1).await;
        assert_eq!(status, 200, "{body}");
        for memory in body["memories"].as_array().expect("memories") {
            seen.push(memory["text"].as_str().expect("text").to_owned());
        }
        match body["next_cursor"].as_str() {
            Some(next) => {
                uri = format!("/contexts/proj/memories?query=deploy&limit=3&cursor={next}")
            }
            None => break,
        }
    }
    let expected: Vec<String> = (0..7)
        .rev()
        .map(|index| format!("deploy note {index}"))
        .collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn control_characters_in_memory_text_are_400_and_line_breaks_and_tabs_are_kept() {
    let fixture = Fixture::new();
    fixture.context(1, "proj").await;
    for bad in [
        "bell\u{7}",
        "nul\u{0}here",
        "\u{1b}[2Jclear",
        "del\u{7f}",
        "c1\u{9b}31m",
    ] {
        assert_invalid(&fixture.remember(1, "proj", bad).await);
    }
    let (status, body) = fixture.remember(1, "proj", "one\ntwo\r\nthree\tfour").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["memory"]["text"], "one\ntwo\r\nthree\tfour");
    let (_, listing) = fixture.get("/contexts/proj/memories", 1).await;
    assert_eq!(listing["memories"].as_array().expect("memories").len(), 1);
}
