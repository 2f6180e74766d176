//! Kills local-dev (on its DynamoDB store) in the middle of deleting a big context, and
//! checks in the table that the restarted server finishes the job: no memory of the
//! deleted context is left, and a context re-created under its name starts empty.
//!
//! Needs a DynamoDB-compatible server: `MEM0_TEST_DYNAMODB_ENDPOINT` (what
//! `tests/run.sh` sets for the whole run), or `MEM0_E2E_STORE=dynamodb` with
//! `DYNAMODB_ENDPOINT` as for the end-to-end suite. Without either it prints a notice
//! and passes.

#[allow(dead_code)]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, Select, WriteRequest};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::Server;

/// Comfortably more than one `DELETE` gets through in the moment before the kill.
const MEMORIES: usize = 1_300;

/// Where the server's table is, and the flags that put local-dev on it.
struct Dynamo {
    endpoint: String,
    table: String,
    flags: Vec<String>,
}

impl Dynamo {
    /// `None` when no DynamoDB-compatible server is configured.
    fn for_data_dir(data_dir: &tempfile::TempDir) -> Option<Self> {
        // The table support::Server gives this data dir under MEM0_E2E_STORE.
        let table = support::table_for(data_dir);
        if std::env::var("MEM0_E2E_STORE").as_deref() == Ok("dynamodb") {
            // support::Server passes --store and --table; local-dev reads the endpoint.
            let endpoint = std::env::var("DYNAMODB_ENDPOINT").ok()?;
            return Some(Self {
                endpoint,
                table,
                flags: Vec::new(),
            });
        }
        let endpoint = std::env::var("MEM0_TEST_DYNAMODB_ENDPOINT").ok()?;
        let flags = vec![
            "--store".to_owned(),
            "dynamodb".to_owned(),
            "--table".to_owned(),
            table.clone(),
            "--dynamodb-endpoint".to_owned(),
            endpoint.clone(),
        ];
        Some(Self {
            endpoint,
            table,
            flags,
        })
    }

    fn start(&self, data_dir: tempfile::TempDir) -> Server {
        let flags: Vec<&str> = self.flags.iter().map(String::as_str).collect();
        Server::start_in(data_dir, &flags)
    }

    /// A plain SDK client on the same server, to look behind local-dev's back.
    async fn client(&self) -> Client {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(store::dynamo::https_client())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "crash-test",
            ))
            .load()
            .await;
        Client::new(&config)
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// The id the store gave the context `name` of `owner`, while its item exists.
async fn context_id(client: &Client, table: &str, owner: u64, name: &str) -> Option<String> {
    let item = client
        .get_item()
        .table_name(table)
        .key("PK", s(format!("OWNER#{owner}")))
        .key("SK", s(format!("CTX#{name}")))
        .consistent_read(true)
        .send()
        .await
        .expect("get context item")
        .item?;
    match item.get("context_id") {
        Some(AttributeValue::S(id)) => Some(id.clone()),
        other => panic!("context item without a string context_id: {other:?}"),
    }
}

/// Puts `MEMORIES` memory items under the context and counts them in its item.
async fn fill(client: &Client, table: &str, owner: u64, context_id: &str) {
    let requests: Vec<WriteRequest> = (0..MEMORIES)
        .map(|index| {
            let item = HashMap::from([
                ("PK".to_owned(), s(format!("CTX#{context_id}"))),
                ("SK".to_owned(), s(format!("MEM#{}", ulid::Ulid::new()))),
                ("text".to_owned(), s(format!("memory number {index}"))),
                ("tags".to_owned(), AttributeValue::L(Vec::new())),
                ("created_at".to_owned(), s("2026-01-01T00:00:00.000Z")),
            ]);
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .expect("put request");
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    for batch in requests.chunks(25) {
        let output = client
            .batch_write_item()
            .request_items(table, batch.to_vec())
            .send()
            .await
            .expect("batch write memories");
        let unprocessed = output
            .unprocessed_items()
            .and_then(|items| items.get(table))
            .map_or(0, Vec::len);
        assert_eq!(unprocessed, 0, "moto processes whole batches");
    }
    client
        .update_item()
        .table_name(table)
        .key("PK", s(format!("OWNER#{owner}")))
        .key("SK", s("CTX#big"))
        .update_expression("ADD memory_count :n")
        .expression_attribute_values(":n", AttributeValue::N(MEMORIES.to_string()))
        .send()
        .await
        .expect("count the memories");
}

async fn memories_left(client: &Client, table: &str, context_id: &str) -> usize {
    // A count of small memories: one page holds them all.
    let counted = client
        .query()
        .table_name(table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", s(format!("CTX#{context_id}")))
        .consistent_read(true)
        .select(Select::Count)
        .send()
        .await
        .expect("count memories")
        .count();
    usize::try_from(counted).expect("a count is not negative")
}

/// Every item of the whole table that belongs to this context id: its memories, its
/// context item, its deletion record.
async fn items_of(client: &Client, table: &str, context_id: &str) -> usize {
    let mut pages = client
        .scan()
        .table_name(table)
        .filter_expression("PK = :memories OR context_id = :id")
        .expression_attribute_values(":memories", s(format!("CTX#{context_id}")))
        .expression_attribute_values(":id", s(context_id))
        .consistent_read(true)
        .into_paginator()
        .send();
    let mut found = 0;
    while let Some(page) = pages.next().await {
        found += page.expect("scan page").items().len();
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delete_killed_midway_is_finished_after_a_restart_and_leaves_no_memory() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let Some(dynamo) = Dynamo::for_data_dir(&data_dir) else {
        eprintln!(
            "skipped: set MEM0_TEST_DYNAMODB_ENDPOINT (tests/run.sh does) to kill local-dev \
             on DynamoDB mid-delete"
        );
        return;
    };
    let server = dynamo.start(data_dir);
    let client = dynamo.client().await;
    let (_, token) = server.new_user().await;
    let me = server.get("/auth/me", &token).await;
    let owner = me.expect(StatusCode::OK)["user"]["user_id"]
        .as_u64()
        .expect("numeric user id");
    server
        .post("/contexts", Some(&token), json!({"name": "big"}))
        .await
        .expect(StatusCode::CREATED);

    // Written behind the server's back, in the shape the store writes: filling through
    // the API takes minutes on moto, which also fails under many concurrent transactions.
    let old_id = context_id(&client, &dynamo.table, owner, "big")
        .await
        .expect("the context item");
    let filling = Instant::now();
    fill(&client, &dynamo.table, owner, &old_id).await;
    eprintln!("wrote {MEMORIES} memories in {:?}", filling.elapsed());
    let context = server.get("/contexts/big", &token).await;
    assert_eq!(
        context.expect(StatusCode::OK)["context"]["memory_count"],
        MEMORIES
    );
    assert_eq!(
        memories_left(&client, &dynamo.table, &old_id).await,
        MEMORIES
    );

    // The DELETE's first step removes the context item, then the purge starts; kill the
    // server once it has removed some memories and not all.
    let delete = server
        .request(Method::DELETE, "/contexts/big")
        .bearer_auth(&token)
        .send();
    let in_flight = tokio::spawn(delete);
    let deadline = Instant::now() + Duration::from_secs(60);
    while context_id(&client, &dynamo.table, owner, "big")
        .await
        .is_some()
    {
        assert!(Instant::now() < deadline, "the DELETE never started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    while memories_left(&client, &dynamo.table, &old_id).await == MEMORIES {
        assert!(Instant::now() < deadline, "the purge never started");
    }
    let data_dir = server.stop();
    let _ = in_flight.await;

    let left = memories_left(&client, &dynamo.table, &old_id).await;
    eprintln!("killed mid-delete with {left} of {MEMORIES} memories left");
    assert!(
        left > 0,
        "the purge finished before the kill, so this run tested no crash"
    );
    let records = client
        .query()
        .table_name(&dynamo.table)
        .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
        .expression_attribute_values(":pk", s(format!("OWNER#{owner}")))
        .expression_attribute_values(":prefix", s(format!("CTX#big#DELETING#{old_id}")))
        .consistent_read(true)
        .send()
        .await
        .expect("query deletion record");
    assert_eq!(records.count(), 1, "the deletion outlives the process");

    let server = dynamo.start(data_dir);
    // The context vanished with the first step: the retry is 404, and finishes the purge.
    server
        .delete("/contexts/big", &token)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        items_of(&client, &dynamo.table, &old_id).await,
        0,
        "nothing of the deleted context is left in the table"
    );

    let listed = server.get("/contexts", &token).await;
    assert_eq!(listed.expect(StatusCode::OK)["contexts"], json!([]));
    let reborn = server
        .post("/contexts", Some(&token), json!({"name": "big"}))
        .await;
    assert_eq!(
        reborn.expect(StatusCode::CREATED)["context"]["memory_count"],
        0
    );
    let memories = server.get("/contexts/big/memories?limit=100", &token).await;
    assert_eq!(memories.expect(StatusCode::OK)["memories"], json!([]));
    let new_id = context_id(&client, &dynamo.table, owner, "big")
        .await
        .expect("the re-created context item");
    assert_ne!(new_id, old_id);
}
