//! The conformance suite and DynamoDB-specific behaviour against a DynamoDB-compatible
//! server (moto, started by `tests/run.sh`), one freshly created table per test.

mod conformance;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeySchemaElement, Select};
use store::dynamo::{DynamoConfig, DynamoStore, PurgeBudget, schema};
use store::{
    Context, ContextName, Description, DisplayName, Email, MemoryText, NewContext, NewMemory,
    NewUser, Store, StoreError, Tags, UserId, Viewer, Visibility,
};

fn endpoint() -> String {
    std::env::var("MEM0_TEST_DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "MEM0_TEST_DYNAMODB_ENDPOINT is not set: run tests/run.sh, which starts a \
             DynamoDB-compatible server"
        )
    })
}

/// A store on a table of its own, created by the code under test.
async fn connect_fresh() -> (DynamoStore, String) {
    let table = format!("mem0-test-{}", ulid::Ulid::new());
    let store = DynamoStore::connect(DynamoConfig {
        table: table.clone(),
        endpoint: Some(endpoint()),
    })
    .await;
    store.ensure_table().await.expect("ensure table");
    (store, table)
}

async fn fresh_dynamo_store() -> DynamoStore {
    connect_fresh().await.0
}

conformance::suite!(fresh_dynamo_store().await);
conformance::orgs::orgs_suite!(fresh_dynamo_store().await);
conformance::sessions::sessions_suite!(fresh_dynamo_store().await);
conformance::onetime::onetime_suite!(fresh_dynamo_store().await);
conformance::oauth::oauth_suite!(fresh_dynamo_store().await);
conformance::activity::activity_suite!(fresh_dynamo_store().await);

/// A plain SDK client on the same server, to look behind the store's back.
async fn raw_client() -> Client {
    // No default HTTP client is compiled in (see the workspace's aws-config entry).
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(store::dynamo::https_client())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    Client::new(&shared)
}

fn key_names(schema: &[KeySchemaElement]) -> Vec<(String, String)> {
    schema
        .iter()
        .map(|element| {
            (
                element.attribute_name().to_owned(),
                element.key_type().as_str().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn ensure_table_is_idempotent() {
    let (store, _) = connect_fresh().await;
    store.ensure_table().await.expect("second ensure_table");
    let copy = store.clone();
    let (first, second) = tokio::join!(store.ensure_table(), copy.ensure_table());
    first.expect("concurrent ensure_table");
    second.expect("concurrent ensure_table");
}

#[tokio::test]
async fn the_created_table_matches_the_schema_module() {
    let (_, table) = connect_fresh().await;
    let client = raw_client().await;
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe table");
    let described = described.table().expect("table description");

    assert_eq!(
        key_names(described.key_schema()),
        key_names(&schema::key_schema(schema::TABLE_KEY).unwrap())
    );
    let mut definitions: Vec<(String, String)> = described
        .attribute_definitions()
        .iter()
        .map(|d| {
            (
                d.attribute_name().to_owned(),
                d.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    definitions.sort();
    let mut expected: Vec<(String, String)> = schema::attribute_definitions()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d.attribute_name().to_owned(),
                d.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(definitions, expected);

    let indexes = described.global_secondary_indexes();
    assert_eq!(indexes.len(), schema::GLOBAL_SECONDARY_INDEXES.len());
    for index in schema::GLOBAL_SECONDARY_INDEXES {
        let found = indexes
            .iter()
            .find(|described| described.index_name() == Some(index.name))
            .unwrap_or_else(|| panic!("index {} exists", index.name));
        assert_eq!(
            key_names(found.key_schema()),
            key_names(&schema::key_schema(index.key).unwrap())
        );
        assert_eq!(
            found
                .projection()
                .and_then(|p| p.projection_type())
                .map(|t| t.as_str()),
            Some("ALL")
        );
    }

    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("describe time to live");
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some(schema::TTL_ATTRIBUTE)
    );
}

#[tokio::test]
async fn a_corrupt_user_item_is_unavailable_not_a_panic() {
    let (store, table) = connect_fresh().await;
    let client = raw_client().await;
    let s = |value: &str| AttributeValue::S(value.to_owned());
    // A profile without its email, and an email item pointing at it.
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(HashMap::from([
            ("PK".to_owned(), s("USER#77")),
            ("SK".to_owned(), s("PROFILE")),
            ("name".to_owned(), s("Broken")),
        ])))
        .send()
        .await
        .expect("put corrupt profile");
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(HashMap::from([
            ("PK".to_owned(), s("EMAIL#broken@example.com")),
            ("SK".to_owned(), s("EMAIL")),
            ("user_id".to_owned(), s("not a number")),
        ])))
        .send()
        .await
        .expect("put corrupt email item");

    assert!(matches!(
        store.user(UserId(77)).await,
        Err(StoreError::Unavailable(message)) if message.contains("corrupt item")
    ));
    let email = Email::parse("broken@example.com").unwrap();
    assert!(matches!(
        store.credentials(&email).await,
        Err(StoreError::Unavailable(message)) if message.contains("corrupt item")
    ));
}

#[tokio::test]
async fn deleting_a_context_removes_every_memory_item_across_batches() {
    let (store, table) = connect_fresh().await;
    let (user, _) = store
        .create_user(
            NewUser {
                email: Email::parse("batches@example.com").unwrap(),
                name: DisplayName::parse("Batches", "name").unwrap(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash".to_owned(),
            },
            None,
        )
        .await
        .expect("signup");
    let viewer = Viewer {
        user_id: user.id,
        organization_id: None,
    };
    let context = store
        .create_context(
            &viewer,
            NewContext {
                name: ContextName::parse("bulk").unwrap(),
                description: Description::default(),
                visibility: Visibility::Private,
            },
        )
        .await
        .expect("create context");
    for i in 0..60 {
        store
            .put_memory(
                &context,
                NewMemory {
                    text: MemoryText::parse(&format!("memory {i}")).unwrap(),
                    tags: Tags::default(),
                },
            )
            .await
            .expect("put memory");
    }

    let client = raw_client().await;
    let count = || async {
        client
            .query()
            .table_name(&table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("CTX#{}", context.id)))
            .select(Select::Count)
            .send()
            .await
            .expect("count memories")
            .count()
    };
    assert_eq!(count().await, 60);

    store
        .delete_context(&context)
        .await
        .expect("delete context");
    assert_eq!(count().await, 0);
    assert!(matches!(
        store.delete_context(&context).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn a_page_ends_exactly_when_no_more_memories_follow() {
    let (store, _) = connect_fresh().await;
    let viewer = Viewer {
        user_id: UserId(1),
        organization_id: None,
    };
    let context = store
        .create_context(
            &viewer,
            NewContext {
                name: ContextName::parse("exact").unwrap(),
                description: Description::default(),
                visibility: Visibility::Private,
            },
        )
        .await
        .expect("create context");
    for i in 0..4 {
        store
            .put_memory(
                &context,
                NewMemory {
                    text: MemoryText::parse(&format!("memory {i}")).unwrap(),
                    tags: Tags::parse(["t"]).unwrap(),
                },
            )
            .await
            .expect("put memory");
    }
    let first = store.list_memories(&context, 2, None).await.expect("page");
    assert_eq!(first.memories.len(), 2);
    let after = first.next.expect("more follow");
    let second = store
        .list_memories(&context, 2, Some(&after))
        .await
        .expect("page");
    assert_eq!(second.memories.len(), 2);
    assert_eq!(second.next, None, "exactly `limit` were left");
}

#[tokio::test]
async fn calls_report_the_request_units_they_consumed() {
    let store = fresh_dynamo_store().await;
    let email = Email::parse("units@example.com").unwrap();
    let (found, read) = store::usage::measure(store.credentials(&email)).await;
    assert!(found.expect("credentials").is_none());
    assert!(
        read.read_units > 0.0,
        "a GetItem reports read units: {read:?}"
    );
    assert_eq!(read.write_units, 0.0);

    let (revoked, write) =
        store::usage::measure(store.revoke_token("jti-units", 4_102_444_800)).await;
    revoked.expect("revoke");
    assert!(
        write.write_units > 0.0,
        "a PutItem reports write units: {write:?}"
    );
    assert_eq!(write.read_units, 0.0);
}

/// An attacker timing logins must not learn which emails have accounts: the lookup
/// makes the same requests, and spends the same units, either way.
#[tokio::test]
async fn a_login_lookup_costs_the_same_for_known_and_unknown_emails() {
    let store = fresh_dynamo_store().await;
    let known = Email::parse(&format!("known-{}@example.com", ulid::Ulid::new())).unwrap();
    store
        .create_user(
            NewUser {
                email: known.clone(),
                name: DisplayName::parse("Known", "name").unwrap(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            },
            None,
        )
        .await
        .expect("signup");
    let unknown = Email::parse(&format!("unknown-{}@example.com", ulid::Ulid::new())).unwrap();

    let (found, known_cost) = store::usage::measure(store.credentials(&known)).await;
    assert!(found.expect("credentials").is_some());
    let (missing, unknown_cost) = store::usage::measure(store.credentials(&unknown)).await;
    assert!(missing.expect("credentials").is_none());

    assert_eq!(
        known_cost.requests, 2,
        "email item, then profile: {known_cost:?}"
    );
    assert_eq!(known_cost, unknown_cost);
}

// ---- deleting a context: crash-safe, bounded per request --------------------------------

async fn owner(store: &DynamoStore, label: &str) -> Viewer {
    let (user, _) = store
        .create_user(
            NewUser {
                email: Email::parse(&format!("{label}-{}@example.com", ulid::Ulid::new())).unwrap(),
                name: DisplayName::parse("Owner", "name").unwrap(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash".to_owned(),
            },
            None,
        )
        .await
        .expect("signup");
    Viewer {
        user_id: user.id,
        organization_id: None,
    }
}

async fn context_with(
    store: &DynamoStore,
    viewer: &Viewer,
    name: &str,
    memories: usize,
) -> Context {
    let context = store
        .create_context(
            viewer,
            NewContext {
                name: ContextName::parse(name).unwrap(),
                description: Description::default(),
                visibility: Visibility::Private,
            },
        )
        .await
        .expect("create context");
    for i in 0..memories {
        store
            .put_memory(
                &context,
                NewMemory {
                    text: MemoryText::parse(&format!("memory {i}")).unwrap(),
                    tags: Tags::default(),
                },
            )
            .await
            .expect("put memory");
    }
    context
}

/// How many items the table holds in the memory partition of this context id.
async fn memories_left(client: &Client, table: &str, context_id: &str) -> i32 {
    client
        .query()
        .table_name(table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("CTX#{context_id}")))
        .select(Select::Count)
        .send()
        .await
        .expect("count memories")
        .count()
}

/// How many deletion records of contexts with this name the owner's partition holds.
async fn deletion_records(client: &Client, table: &str, context: &Context) -> i32 {
    client
        .query()
        .table_name(table)
        .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(format!("OWNER#{}", context.owner_id)),
        )
        .expression_attribute_values(
            ":prefix",
            AttributeValue::S(format!("CTX#{}#DELETING#", context.name)),
        )
        .select(Select::Count)
        .send()
        .await
        .expect("count deletion records")
        .count()
}

/// Leaves the table as a `DELETE` killed right after its first step does: the context
/// item swapped for its deletion record, every memory still there.
async fn interrupt_after_mark(client: &Client, table: &str, context: &Context) {
    let s = |value: String| AttributeValue::S(value);
    let owner = format!("OWNER#{}", context.owner_id);
    client
        .delete_item()
        .table_name(table)
        .key("PK", s(owner.clone()))
        .key("SK", s(format!("CTX#{}", context.name)))
        .send()
        .await
        .expect("delete context item");
    client
        .put_item()
        .table_name(table)
        .set_item(Some(HashMap::from([
            ("PK".to_owned(), s(owner)),
            (
                "SK".to_owned(),
                s(format!("CTX#{}#DELETING#{}", context.name, context.id)),
            ),
            ("context_id".to_owned(), s(context.id.clone())),
            (
                "owner_id".to_owned(),
                AttributeValue::N(context.owner_id.to_string()),
            ),
            ("name".to_owned(), s(context.name.as_str().to_owned())),
            ("deleting".to_owned(), AttributeValue::Bool(true)),
            (
                "deleted_at".to_owned(),
                s("2026-01-01T00:00:00Z".to_owned()),
            ),
        ])))
        .send()
        .await
        .expect("put deletion record");
}

#[tokio::test]
async fn a_delete_killed_after_its_mark_is_finished_by_the_owners_next_listing() {
    let (store, table) = connect_fresh().await;
    let client = raw_client().await;
    let viewer = owner(&store, "listing").await;
    let doomed = context_with(&store, &viewer, "doomed", 60).await;
    context_with(&store, &viewer, "kept", 2).await;
    interrupt_after_mark(&client, &table, &doomed).await;
    assert_eq!(memories_left(&client, &table, &doomed.id).await, 60);

    let listed = store.list_contexts(&viewer).await.expect("list");
    let names: Vec<&str> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["kept"], "the deleted context is not listed");
    assert_eq!(memories_left(&client, &table, &doomed.id).await, 0);
    assert_eq!(deletion_records(&client, &table, &doomed).await, 0);
}

#[tokio::test]
async fn a_retried_delete_of_a_killed_one_finishes_the_purge_and_is_not_found() {
    let (store, table) = connect_fresh().await;
    let client = raw_client().await;
    let viewer = owner(&store, "retry").await;
    let doomed = context_with(&store, &viewer, "doomed", 60).await;
    interrupt_after_mark(&client, &table, &doomed).await;

    // A retried DELETE looks the name up first, as every route does.
    let found = store
        .find_context(&viewer, &doomed.name)
        .await
        .expect("find");
    assert!(found.is_none(), "a context being deleted is not found");
    assert_eq!(memories_left(&client, &table, &doomed.id).await, 0);
    assert_eq!(deletion_records(&client, &table, &doomed).await, 0);
    assert!(matches!(
        store.delete_context(&doomed).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn a_purge_bigger_than_one_request_goes_on_over_the_owners_next_requests() {
    let (store, table) = connect_fresh().await;
    let store = store.with_purge_budget(PurgeBudget {
        per_delete: 25,
        per_request: 20,
    });
    let client = raw_client().await;
    let viewer = owner(&store, "budget").await;
    let doomed = context_with(&store, &viewer, "big", 60).await;

    store.delete_context(&doomed).await.expect("delete");
    assert_eq!(memories_left(&client, &table, &doomed.id).await, 35);
    assert_eq!(deletion_records(&client, &table, &doomed).await, 1);

    // The name is free at once, and the new context is apart from the old memories.
    let reborn = context_with(&store, &viewer, "big", 3).await;
    assert_ne!(reborn.id, doomed.id);
    let found = store
        .find_context(&viewer, &doomed.name)
        .await
        .expect("find")
        .expect("the re-created context");
    assert_eq!(found.id, reborn.id);
    assert_eq!(found.memory_count, 3);
    assert_eq!(memories_left(&client, &table, &doomed.id).await, 15);
    assert_eq!(
        store
            .list_memories(&reborn, 100, None)
            .await
            .expect("list")
            .memories
            .len(),
        3
    );

    store.list_contexts(&viewer).await.expect("list");
    assert_eq!(memories_left(&client, &table, &doomed.id).await, 0);
    assert_eq!(deletion_records(&client, &table, &doomed).await, 0);
    assert_eq!(memories_left(&client, &table, &reborn.id).await, 3);
}

#[tokio::test]
async fn a_corrupt_deletion_record_is_unavailable_not_a_panic() {
    let (store, table) = connect_fresh().await;
    let client = raw_client().await;
    let viewer = owner(&store, "corrupt").await;
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(HashMap::from([
            (
                "PK".to_owned(),
                AttributeValue::S(format!("OWNER#{}", viewer.user_id)),
            ),
            (
                "SK".to_owned(),
                AttributeValue::S("CTX#odd#DELETING#x".to_owned()),
            ),
            ("deleting".to_owned(), AttributeValue::Bool(true)),
        ])))
        .send()
        .await
        .expect("put corrupt record");
    assert!(matches!(
        store.list_contexts(&viewer).await,
        Err(StoreError::Unavailable(message)) if message.contains("corrupt item")
    ));
}

/// Every authenticated request pays for this read, and every refresh for this write:
/// one round trip each, of the units `dynamo/sessions.rs` states.
#[tokio::test]
async fn the_session_check_is_one_request_and_a_refresh_one_more() {
    let store = fresh_dynamo_store().await;
    let (user, _) = store
        .create_user(
            NewUser {
                email: Email::parse(&format!("units-{}@example.com", ulid::Ulid::new())).unwrap(),
                name: DisplayName::parse("Units", "name").unwrap(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            },
            None,
        )
        .await
        .expect("create user");
    let new = store::NewSession {
        user_id: user.id,
        client: store::ClientDescription::new(Some(&"u".repeat(256)), Some("192.0.2.1")),
        lifetime_seconds: 3600,
        idle_seconds: 600,
    };
    let now = time::OffsetDateTime::now_utc();
    let session = store.create_session(new, now).await.expect("session");
    let (caller, check) = store::usage::measure(store.caller(user.id, &session.id)).await;
    let caller = caller.expect("caller");
    assert!(caller.user.is_some() && caller.session.is_some());
    assert_eq!(check.requests, 1, "{check:?}");
    assert_eq!(check.write_units, 0.0);
    assert_eq!(check.read_units, 2.0, "{check:?}");
    let (rotated, refresh) = store::usage::measure(store.rotate_session(&session, 0, now)).await;
    assert!(rotated.expect("rotate").is_some());
    assert_eq!(refresh.requests, 1, "{refresh:?}");
    // DynamoDB charges 1 unit for an item under 1 KB (this one, with the longest user
    // agent, is about 500 bytes); moto reports half of that.
    assert!(refresh.write_units > 0.0, "{refresh:?}");
}

async fn raw_item(
    client: &Client,
    table: &str,
    pk: String,
    sk: String,
) -> HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(pk))
        .key("SK", AttributeValue::S(sk))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
        .unwrap_or_default()
}

fn time_to_live(item: &HashMap<String, AttributeValue>) -> Option<i64> {
    match item.get(schema::TTL_ATTRIBUTE) {
        Some(AttributeValue::N(at)) => Some(at.parse().expect("a number")),
        _ => None,
    }
}

async fn grant_user(store: &DynamoStore, label: &str) -> store::User {
    store
        .create_user(
            NewUser {
                email: Email::parse(&format!("{label}-{}@example.com", ulid::Ulid::new())).unwrap(),
                name: DisplayName::parse("Grantor", "name").unwrap(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            },
            None,
        )
        .await
        .expect("create user")
        .0
}

fn live_grant(user: &store::User, now: i64) -> store::Grant {
    store::Grant {
        id: store::GrantId::generate(),
        user_id: user.id,
        client_id: "01JCLIENT".to_owned(),
        client_name: "Agent".to_owned(),
        scopes: store::Scopes::all(),
        contexts: store::GrantContexts::All,
        created_at: now,
        last_used_at: now,
        generation: 0,
        revoked_at: None,
    }
}

/// A live grant never expires; a revoked one, its codes and the trail's items (both
/// views) carry the table's time to live, so DynamoDB forgets them.
#[tokio::test]
async fn revoked_grants_codes_and_activity_expire_by_the_tables_time_to_live() {
    let (store, table) = connect_fresh().await;
    let client = raw_client().await;
    let user = grant_user(&store, "ttl").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let grant = live_grant(&user, now);
    store.create_grant(&grant).await.expect("grant");
    let grant_item = || {
        raw_item(
            &client,
            &table,
            format!("GRANT#{}", user.id),
            grant.id.to_string(),
        )
    };
    assert_eq!(time_to_live(&grant_item().await), None);
    assert!(
        store
            .revoke_grant(user.id, &grant.id, now)
            .await
            .expect("revoke")
    );
    assert_eq!(
        time_to_live(&grant_item().await),
        Some(now + store::grant::KEEP_REVOKED_SECONDS)
    );

    let code = store::AuthorizationCode {
        digest: "c0de".repeat(16),
        client_id: grant.client_id.clone(),
        redirect_uri: "http://127.0.0.1:9/cb".to_owned(),
        code_challenge: "challenge".to_owned(),
        resource: "https://mem0.example/mcp".to_owned(),
        user_id: user.id,
        scopes: store::Scopes::all(),
        contexts: store::GrantContexts::All,
        expires_at: now + 60,
    };
    store.put_authorization_code(&code).await.expect("code");
    let code_item = raw_item(
        &client,
        &table,
        format!("AUTHCODE#{}", code.digest),
        "AUTHCODE".to_owned(),
    )
    .await;
    assert_eq!(time_to_live(&code_item), Some(now + 60));
    assert!(
        !format!("{code_item:?}").contains("verifier"),
        "only the digest and the challenge are kept"
    );

    let name = ContextName::parse("notes").unwrap();
    let entry = store::ActivityEntry {
        id: ulid::Ulid::new().to_string(),
        user_id: user.id,
        grant_id: grant.id.clone(),
        client_name: "Agent".to_owned(),
        action: "recall".to_owned(),
        context: Some((user.id, name)),
        count: 2,
        at: now,
    };
    store.record_activity(&entry).await.expect("record");
    for pk in [
        format!("ACTIVITY#CTX#{}#notes", user.id),
        format!("ACTIVITY#GRANT#{}#{}", user.id, grant.id),
    ] {
        let item = raw_item(&client, &table, pk.clone(), entry.id.clone()).await;
        assert_eq!(
            time_to_live(&item),
            Some(now + store::ACTIVITY_RETENTION_SECONDS),
            "{pk}"
        );
    }
}

/// Every request at `/mcp` pays for the grant check, and for a touch (a write at most
/// once a minute): one round trip each, of the units `dynamo/oauth.rs` states.
#[tokio::test]
async fn the_grant_check_is_one_request_of_two_read_units() {
    let store = fresh_dynamo_store().await;
    let user = grant_user(&store, "grant-units").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let grant = live_grant(&user, now);
    store.create_grant(&grant).await.expect("grant");
    let (caller, check) = store::usage::measure(store.grant_caller(user.id, &grant.id)).await;
    assert!(caller.expect("grant caller").is_some());
    assert_eq!(check.requests, 1, "{check:?}");
    assert_eq!(check.write_units, 0.0);
    assert_eq!(check.read_units, 2.0, "{check:?}");
    let (touched, touch) =
        store::usage::measure(store.touch_grant(user.id, &grant.id, now + 61)).await;
    touched.expect("touch");
    assert_eq!(touch.requests, 1, "{touch:?}");
    assert!(touch.write_units > 0.0, "{touch:?}");
}
