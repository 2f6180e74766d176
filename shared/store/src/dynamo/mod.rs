//! The `Store` on one DynamoDB table, for the deployed Lambdas.
//!
//! # Key design
//!
//! One table, string keys `PK` / `SK`, one sparse index `gsi1` (`GSI1PK` / `GSI1SK`),
//! time to live on `expires_at`; [`schema`] is the authority on these names.
//!
//! | item | `PK` | `SK` | attributes |
//! |---|---|---|---|
//! | user | `USER#<user_id>` | `PROFILE` | `email`, `name`, `account_type`, `role`, `organization_id`?, `joined_at`?, `email_verified`, `created_at`; members also `GSI1PK = ORG#<org_id>`, `GSI1SK = MEMBER#<user_id>` |
//! | email (login, uniqueness) | `EMAIL#<email>` | `EMAIL` | `user_id`, `password_hash` |
//! | organization | `ORG#<org_id>` | `PROFILE` | `name`, `domain`?, `size`?, `industry`?, `admin_user_id` (its first admin), `admin_count`, `created_at` |
//! | invitations, members | see [`orgs`] | | |
//! | id sequence | `SEQ#user`, `SEQ#organization` | `SEQ` | `next_id` |
//! | context | `OWNER#<owner_id>` | `CTX#<name>` | `context_id`, `owner_id`, `organization_id`?, `name`, `description`, `visibility`, `created_at`, `memory_count`; shared ones also `GSI1PK = ORG#<org_id>`, `GSI1SK = CTX#<name>#<owner_id>` |
//! | deleted context, memories still being purged | `OWNER#<owner_id>` | `CTX#<name>#DELETING#<context_id>` | `context_id`, `owner_id`, `name`, `deleting = true`, `deleted_at`; no index keys, no time to live |
//! | memory | `CTX#<context_id>` | `MEM#<memory_id>` | `text`, `tags` (list of strings), `created_at` |
//! | rate counter | `RATE#<key>` | `<window start>` | `hits`, `expires_at` |
//! | revoked token | `REVOKED#<jti>` | `REVOKED` | `expires_at` (the token's `exp` + leeway) |
//! | login session | `SESSION#<user_id>` | `<session_id>` | see [`sessions`] |
//! | one-time token | `ONETIME#<digest>` | `ONETIME` | see [`onetime`] |
//! | OAuth client, authorization code, grant | `CLIENT#<client_id>`, `AUTHCODE#<digest>`, `GRANT#<user_id>` | | see [`oauth`] |
//! | activity entry (one per view) | `ACTIVITY#CTX#<owner_id>#<name>`, `ACTIVITY#GRANT#<user_id>#<grant_id>` | `<entry id>` | see [`activity`] |
//!
//! Why it holds under concurrency:
//! - Ids come from `ADD next_id 1` on the sequence item: atomic; an id burned by a
//!   signup that then loses its race is harmless.
//! - Signup is one transaction: email item and user profile (and organization) are
//!   all put with `attribute_not_exists(PK)`, so one email has exactly one account.
//! - A context name is unique per owner by its key (`attribute_not_exists(SK)`).
//! - Memories hang off the context's never-reused `context_id`, so a context
//!   re-created under an old name never sees old memories; `put_memory` and
//!   `delete_memory` change the memory and the context's `memory_count` in one
//!   transaction conditioned on that `context_id`.
//! - Deleting a context is crash-safe; see below.
//! - Timestamps are RFC 3339 strings; ids and counts are numbers.
//!
//! # Deleting a context
//!
//! A context may hold any number of memories, and each takes a write to remove, so the
//! delete cannot be one transaction (25 items at most) and the process doing it may
//! die at any point (a Lambda timeout, a kill). It goes in three steps, each of which
//! leaves the table in a state the next request can carry on from:
//!
//! 1. **Mark**: one transaction deletes the context item (condition: same `context_id`)
//!    and puts its deletion record (above). From that instant the context is in no
//!    listing and not found; `put_memory`, whose transaction is conditioned on the
//!    context item with that `context_id`, is refused, so no memory can join the old
//!    id once the purge has started; and the name is free: a context created under it
//!    gets a fresh `context_id`, so it never sees the old memories, and needs no wait.
//! 2. **Purge**: strongly consistent queries of `CTX#<context_id>` for keys, removed
//!    with `BatchWriteItem`s of 25 (a few at once, unprocessed items retried).
//!    Deleting what is gone already is harmless, so any number of purges of one
//!    context may run, at the same time or after a crash.
//! 3. **Forget**: once a query finds no memory left, the deletion record goes.
//!
//! Who purges: the `DELETE` itself, up to [`PurgeBudget::per_delete`] memories (10,000:
//! 400 `BatchWriteItem`s, a few seconds at four in flight, inside the contexts Lambda's
//! 25 s); then every request of the owner that meets deletion records, up to
//! [`PurgeBudget::per_request`] memories (2,000, well under a second) of at most four
//! records before it answers. Listing the owner's contexts meets all the records;
//! finding a context by name meets those of that name, so a retried `DELETE`, or any
//! use of the name, carries on. Of a context of 100k memories, the `DELETE` removes
//! 10,000 and each of the owner's next 45 listings 2,000; no request does more than
//! its budget, and what is left stays invisible meanwhile. A request that fails while purging still answers (the record waits for the
//! next one); only the mark decides the `DELETE`'s answer. Creating a context does no
//! purge: it only writes, and the fresh id already keeps the old memories out of sight.
//!
//! Because the mark is what deletes, a `DELETE` repeated after it (a retry after a
//! timeout, or a second one racing) finds no context and is `404 not_found`, as for any
//! deleted context, while its lookup finishes the purge.

mod activity;
mod calls;
mod https;
mod item;
mod oauth;
mod onetime;
mod orgs;
pub mod schema;
mod sessions;

pub use self::https::{https_client, https_client_trusting};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, IndexStatus, KeysAndAttributes, Put, ReturnValue, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update,
};
use time::OffsetDateTime;

use self::calls::{
    RETRIES, TOTAL, Transaction, backoff, charged_reads, charged_reads_per_table, charged_writes,
    delete_all, transact, unavailable,
};
use self::item::{
    CONTEXT_PREFIX, Deletion, Item, MEMORY_PREFIX, Read, context_from, context_item, context_key,
    context_name_range, deletion_of, email_key, memories_partition, memory_from, memory_item,
    memory_key, n, organization_key, organization_partition, owner_partition, rate_expiry,
    rate_key, revoked_token_key, s, sequence_key, split_owned, timestamp, user_from, user_item,
    user_key,
};
use self::schema::{GSI1, TABLE_KEY, TTL_ATTRIBUTE};
use crate::{
    Account, Budget, CandidateRead, Candidates, Context, ContextName, Credentials, Email,
    Invitation, Invitee, MAX_PAGE, Member, Memory, MemoryId, MemoryPage, NewContext, NewMemory,
    NewOneTime, NewOrganization, NewUser, OrgRole, Organization, OrganizationId,
    OrganizationProfile, Purpose, Reservation, Store, StoreError, StoreResult, UsedOneTime, User,
    UserId, Viewer, Window,
};
use crate::{ActivityEntry, ActivityPage, AuthorizationCode, Grant, GrantId, GrantRotation};
use crate::{Caller, NewSession, OAuthClient, Session, SessionId};

/// Where the table is.
#[derive(Debug, Clone)]
pub struct DynamoConfig {
    pub table: String,
    /// A DynamoDB-compatible server (DynamoDB Local, moto) instead of AWS.
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: Arc<str>,
    purge: PurgeBudget,
}

/// How many memories of deleted contexts one request removes before it answers; the
/// rest waits for the owner's next requests (see "Deleting a context" above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeBudget {
    /// Spent by the `DELETE` itself on the context it deletes.
    pub per_delete: usize,
    /// Spent by any other request of the owner that meets unfinished deletions.
    pub per_request: usize,
}

impl Default for PurgeBudget {
    fn default() -> Self {
        Self {
            per_delete: 10_000,
            per_request: 2_000,
        }
    }
}

/// Most keys one purge query asks for; well under a 1 MB page of keys.
const PURGE_PAGE: usize = 1_000;

/// Most deletion records one request other than the `DELETE` works on.
const FINISHED_PER_REQUEST: usize = 4;

/// Region for a local endpoint when the environment names none; such servers accept any.
const LOCAL_REGION: &str = "us-east-1";

/// A user id the sequence never hands out (it starts at 1).
const NO_USER: UserId = UserId(0);

/// DynamoDB's limit on the items of one `TransactWriteItems`.
const TRANSACTION_LIMIT: usize = 25;

/// How long `ensure_table` waits for a new table to become usable.
const TABLE_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// The AWS configuration of the tools that run on people's machines (local-dev with
/// `--store dynamodb`, `mem0 keys`): aws-config's whole chain (environment, profiles,
/// SSO, instance roles), with [`https_client`]. The Lambda functions take theirs from
/// the environment Lambda gives them instead (`lambda::aws`), which links none of it.
pub async fn load_aws_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

impl DynamoStore {
    /// One `Query` of at most `limit` of the context's memories, newest first, from
    /// `start` on (a `LastEvaluatedKey`); its read units are charged to the request.
    async fn newest_memories(
        &self,
        context: &Context,
        limit: usize,
        start: Option<HashMap<String, AttributeValue>>,
    ) -> StoreResult<QueryOutput> {
        let output = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(memories_partition(&context.id)))
            .expression_attribute_values(":prefix", s(MEMORY_PREFIX))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .return_consumed_capacity(TOTAL)
            .send()
            .await
            .map_err(|e| unavailable("Query", e))?;
        charged_reads(output.consumed_capacity.as_ref());
        Ok(output)
    }

    /// Loads the AWS configuration from the environment and connects with it.
    pub async fn connect(config: DynamoConfig) -> DynamoStore {
        Self::with_aws_config(&load_aws_config().await, config)
    }

    /// A store on `shared`, the configuration the process's other AWS clients use too.
    pub fn with_aws_config(shared: &SdkConfig, config: DynamoConfig) -> DynamoStore {
        let mut builder = aws_sdk_dynamodb::config::Builder::from(shared);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        if config.endpoint.is_some() && shared.region().is_none() {
            builder = builder.region(Region::new(LOCAL_REGION));
        }
        if config.endpoint.is_some() && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            // Local servers accept any credentials; spare the user from inventing some.
            builder = builder.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local",
                "local",
                None,
                None,
                "local-endpoint",
            ));
        }
        DynamoStore {
            client: Client::from_conf(builder.build()),
            table: config.table.into(),
            purge: PurgeBudget::default(),
        }
    }

    /// The same store with another bound on the purging each request does.
    pub fn with_purge_budget(self, purge: PurgeBudget) -> DynamoStore {
        DynamoStore { purge, ..self }
    }

    /// Creates the table as [`schema`] describes it unless it exists, waits until it
    /// and its indexes are active, and turns on time to live. Safe to call from many
    /// processes at once.
    pub async fn ensure_table(&self) -> StoreResult<()> {
        let building = |e: aws_sdk_dynamodb::error::BuildError| unavailable("CreateTable", e);
        let created = self
            .client
            .create_table()
            .table_name(self.table.as_ref())
            .set_key_schema(Some(schema::key_schema(TABLE_KEY).map_err(building)?))
            .set_attribute_definitions(Some(schema::attribute_definitions().map_err(building)?))
            .set_global_secondary_indexes(Some(
                schema::global_secondary_indexes().map_err(building)?,
            ))
            .billing_mode(schema::BILLING_MODE)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(CreateTableError::ResourceInUseException(_))
                ) => {}
            Err(e) => return Err(unavailable("CreateTable", e)),
        }
        self.wait_until_active().await?;
        self.enable_time_to_live().await
    }

    async fn wait_until_active(&self) -> StoreResult<()> {
        let deadline = tokio::time::Instant::now() + TABLE_READY_TIMEOUT;
        loop {
            let described = self
                .client
                .describe_table()
                .table_name(self.table.as_ref())
                .send()
                .await
                .map_err(|e| unavailable("DescribeTable", e))?;
            let ready = described.table().is_some_and(|table| {
                table.table_status() == Some(&TableStatus::Active)
                    && table
                        .global_secondary_indexes()
                        .iter()
                        .all(|index| index.index_status() == Some(&IndexStatus::Active))
            });
            if ready {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "table {} is not active after {TABLE_READY_TIMEOUT:?}",
                    self.table
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn enable_time_to_live(&self) -> StoreResult<()> {
        if self.time_to_live_enabled().await? {
            return Ok(());
        }
        let specification = TimeToLiveSpecification::builder()
            .attribute_name(TTL_ATTRIBUTE)
            .enabled(true)
            .build()
            .map_err(|e| unavailable("UpdateTimeToLive", e))?;
        let updated = self
            .client
            .update_time_to_live()
            .table_name(self.table.as_ref())
            .time_to_live_specification(specification)
            .send()
            .await;
        match updated {
            Ok(_) => Ok(()),
            // A concurrent caller may have enabled it in between; that is success too.
            Err(_) if self.time_to_live_enabled().await? => Ok(()),
            Err(e) => Err(unavailable("UpdateTimeToLive", e)),
        }
    }

    async fn time_to_live_enabled(&self) -> StoreResult<bool> {
        let described = self
            .client
            .describe_time_to_live()
            .table_name(self.table.as_ref())
            .send()
            .await
            .map_err(|e| unavailable("DescribeTimeToLive", e))?;
        Ok(described.time_to_live_description().is_some_and(|ttl| {
            matches!(
                ttl.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            ) && ttl.attribute_name() == Some(TTL_ATTRIBUTE)
        }))
    }

    /// A strongly consistent read of a few items in one BatchGetItem (the per-request
    /// caller checks: a user with their session or grant), the keys DynamoDB leaves
    /// unprocessed asked again with backoff; `what` names them in the error.
    async fn get_consistently(&self, what: &str, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        let mut keys = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(|e| unavailable("BatchGetItem", e))?;
        let mut found = Vec::new();
        let mut attempt = 0;
        loop {
            let output = self
                .client
                .batch_get_item()
                .request_items(self.table.as_ref(), keys)
                .return_consumed_capacity(TOTAL)
                .send()
                .await
                .map_err(|e| unavailable("BatchGetItem", e))?;
            charged_reads_per_table(output.consumed_capacity());
            found.extend(
                output
                    .responses
                    .and_then(|mut responses| responses.remove(self.table.as_ref()))
                    .unwrap_or_default(),
            );
            match output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(self.table.as_ref()))
            {
                Some(left) if !left.keys().is_empty() => {
                    attempt += 1;
                    if attempt > RETRIES {
                        return Err(StoreError::unavailable(format!(
                            "BatchGetItem kept leaving {what} unprocessed"
                        )));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    keys = left;
                }
                _ => return Ok(found),
            }
        }
    }

    /// Deletes the item at `key` if it exists, has not expired at `now` (its TTL
    /// attribute) and meets `also` (a condition on `values`, or empty), and returns it:
    /// of concurrent takes at most one gets it. `None` if it was not there to take.
    async fn take_live(
        &self,
        key: Item,
        now: i64,
        also: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> StoreResult<Option<Item>> {
        let mut condition = "attribute_exists(PK) AND #ttl > :now".to_owned();
        if !also.is_empty() {
            condition.push_str(" AND ");
            condition.push_str(also);
        }
        let deleted = values
            .into_iter()
            .fold(
                self.client
                    .delete_item()
                    .table_name(self.table.as_ref())
                    .set_key(Some(key))
                    .condition_expression(condition)
                    .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                    .expression_attribute_values(":now", n(now)),
                |request, (name, value)| request.expression_attribute_values(name, value),
            )
            .return_values(ReturnValue::AllOld)
            .return_consumed_capacity(TOTAL)
            .send()
            .await;
        match deleted {
            Ok(output) => {
                charged_writes(output.consumed_capacity.as_ref());
                // No old item: nothing was deleted, so this call did not use it up
                // (moto, unlike DynamoDB, lets a racing delete pass its condition).
                Ok(output.attributes.filter(|old| !old.is_empty()))
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(unavailable("DeleteItem", e)),
        }
    }

    /// A strongly consistent read of one item.
    async fn get(&self, key: Item) -> StoreResult<Option<Item>> {
        self.client
            .get_item()
            .table_name(self.table.as_ref())
            .set_key(Some(key))
            .consistent_read(true)
            .return_consumed_capacity(TOTAL)
            .send()
            .await
            .map(|output| {
                charged_reads(output.consumed_capacity.as_ref());
                output.item
            })
            .map_err(|e| unavailable("GetItem", e))
    }

    /// The next number of an id sequence: 1, 2, 3, ...
    async fn next_id(&self, sequence: &str) -> StoreResult<u64> {
        let output = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(sequence_key(sequence)))
            .update_expression("ADD next_id :one")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .return_consumed_capacity(TOTAL)
            .send()
            .await
            .map_err(|e| unavailable("UpdateItem", e))?;
        charged_writes(output.consumed_capacity.as_ref());
        Read::new("id sequence", &output.attributes.unwrap_or_default()).n("next_id")
    }

    /// All items of a query, following its pages.
    async fn query_all(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> StoreResult<Vec<Item>> {
        let mut pages = query
            .return_consumed_capacity(TOTAL)
            .into_paginator()
            .send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable("Query", e))?;
            charged_reads(page.consumed_capacity.as_ref());
            items.extend(page.items.unwrap_or_default());
        }
        Ok(items)
    }

    fn put(&self, item: Item, condition: &str) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(|e| unavailable("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// One attempt taken from `budget`'s counter, provided it has room: the condition
    /// is what makes the check and the increment one atomic step.
    fn take_attempt(&self, budget: &Budget, window: Window) -> StoreResult<TransactWriteItem> {
        let (ttl_attribute, expires_at) = rate_expiry(window.end());
        let update = Update::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(rate_key(&budget.key, window.start)))
            .update_expression("ADD hits :one SET #ttl = :expires_at")
            .condition_expression("attribute_not_exists(hits) OR hits < :limit")
            .expression_attribute_names("#ttl", ttl_attribute)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(budget.limit))
            .expression_attribute_values(":expires_at", expires_at)
            .build()
            .map_err(|e| unavailable("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Gives one attempt back to the counter `key`, unless it is already at zero.
    async fn give_back(&self, key: &str, window: Window) -> StoreResult<()> {
        let refunded = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(rate_key(key, window.start)))
            .update_expression("ADD hits :minus_one")
            .condition_expression("hits > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .return_consumed_capacity(TOTAL)
            .send()
            .await;
        match refunded {
            Ok(output) => {
                charged_writes(output.consumed_capacity.as_ref());
                Ok(())
            }
            // Nothing to give back: the window was reset meanwhile, or has passed.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }

    /// Adds `delta` to the context's `memory_count`, provided it is still this context.
    fn count_memories(&self, context: &Context, delta: i64) -> StoreResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(context_key(context.owner_id, &context.name)))
            .update_expression("ADD memory_count :delta")
            .condition_expression("attribute_exists(PK) AND context_id = :cid")
            .expression_attribute_values(":delta", n(delta))
            .expression_attribute_values(":cid", s(&context.id))
            .build()
            .map_err(|e| unavailable("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Removes the memories of a deleted context, at most `budget` of them (less what it
    /// spends), then its deletion record once none are left. Returns whether it got
    /// there. Idempotent, and safe beside other purges of the same context: nothing can
    /// add a memory under a deleted context's id, so an empty (strongly consistent)
    /// query stays empty.
    async fn purge(&self, deletion: &Deletion, budget: &mut usize) -> StoreResult<bool> {
        loop {
            let output = self
                .client
                .query()
                .table_name(self.table.as_ref())
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(memories_partition(&deletion.context_id)))
                .projection_expression("PK, SK")
                .consistent_read(true)
                .limit(i32::try_from((*budget).clamp(1, PURGE_PAGE)).unwrap_or(1))
                .return_consumed_capacity(TOTAL)
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            charged_reads(output.consumed_capacity.as_ref());
            let keys = output.items.unwrap_or_default();
            if keys.is_empty() {
                return self.forget(deletion).await.map(|()| true);
            }
            if *budget == 0 {
                return Ok(false);
            }
            let spent = keys.len().min(*budget);
            *budget -= spent;
            let left = delete_all(
                &self.client,
                &self.table,
                keys.into_iter().take(spent).collect(),
            )
            .await;
            if left > 0 {
                return Err(StoreError::Unavailable(format!(
                    "{left} memories of deleted context {} could not be deleted",
                    deletion.context_id
                )));
            }
        }
    }

    /// Removes a deletion record whose memories are all gone.
    async fn forget(&self, deletion: &Deletion) -> StoreResult<()> {
        let output = self
            .client
            .delete_item()
            .table_name(self.table.as_ref())
            .set_key(Some(deletion.key.clone()))
            .return_consumed_capacity(TOTAL)
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem", e))?;
        charged_writes(output.consumed_capacity.as_ref());
        Ok(())
    }

    /// Carries on with deletions an earlier request left unfinished (it ran out of
    /// budget or its process died), within this request's budget. A failure here is
    /// not the caller's: it is logged, and the records stay for the next request.
    async fn finish(&self, deletions: &[Deletion]) {
        let mut budget = self.purge.per_request;
        // Even an empty purge costs two round trips; a few records per request keep
        // a backlog of them (left by many killed deletes) from slowing one request.
        for deletion in deletions.iter().take(FINISHED_PER_REQUEST) {
            match self.purge(deletion, &mut budget).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => {
                    tracing::warn!(
                        context_id = %deletion.context_id,
                        %error,
                        "cannot finish deleting a context's memories; a later request will"
                    );
                    break;
                }
            }
        }
    }

    /// The owner's contexts, and the records of deleted ones still being purged.
    async fn own_contexts(&self, owner: UserId) -> StoreResult<(Vec<Context>, Vec<Deletion>)> {
        let query = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(owner_partition(owner)))
            .expression_attribute_values(":prefix", s(CONTEXT_PREFIX));
        split_owned(&self.query_all(query).await?)
    }

    /// The owner's context with this name, if any, and the records of deleted contexts
    /// of this name still being purged. Strongly consistent, as a `GetItem` would be.
    async fn own_context(
        &self,
        owner: UserId,
        name: &ContextName,
    ) -> StoreResult<(Option<Context>, Vec<Deletion>)> {
        let (from, to) = context_name_range(name);
        let query = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(owner_partition(owner)))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .consistent_read(true);
        let (live, deletions) = split_owned(&self.query_all(query).await?)?;
        Ok((live.into_iter().next(), deletions))
    }

    /// Contexts shared with the organization whose index sort key starts with `prefix`.
    async fn shared_contexts(
        &self,
        organization: OrganizationId,
        prefix: &str,
    ) -> StoreResult<Vec<Context>> {
        let query = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .index_name(GSI1.name)
            .key_condition_expression("GSI1PK = :pk AND begins_with(GSI1SK, :prefix)")
            .expression_attribute_values(":pk", s(organization_partition(organization)))
            .expression_attribute_values(":prefix", s(prefix));
        self.query_all(query)
            .await?
            .iter()
            .map(context_from)
            .collect()
    }
}

/// Now, at the millisecond precision that memory ids (ULIDs) have too.
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).unwrap_or(now)
}

#[async_trait]
impl Store for DynamoStore {
    async fn create_user(
        &self,
        user: NewUser,
        organization: Option<NewOrganization>,
    ) -> StoreResult<(User, Option<Organization>)> {
        // Spares an id for the common case; the transaction below decides races.
        if self.get(email_key(&user.email)).await?.is_some() {
            return Err(StoreError::EmailTaken);
        }
        let created_at = now();
        let organization_id = match organization {
            Some(_) => Some(OrganizationId(self.next_id("organization").await?)),
            None => None,
        };
        let new = User::create(
            UserId(self.next_id("user").await?),
            user.email,
            user.name,
            Account::for_signup(organization_id),
            created_at,
        );

        let mut email = email_key(&new.email);
        email.extend([
            ("user_id".to_owned(), n(new.id)),
            ("password_hash".to_owned(), s(user.password_hash)),
        ]);
        let mut items = vec![
            self.put(email, "attribute_not_exists(PK)")?,
            self.put(user_item(&new)?, "attribute_not_exists(PK)")?,
        ];
        let mut created_organization = None;
        if let (Some(details), Some(id)) = (organization, organization_id) {
            let mut org = organization_key(id);
            org.extend([
                ("name".to_owned(), s(details.name.as_str())),
                ("admin_user_id".to_owned(), n(new.id)),
                ("admin_count".to_owned(), n(1)),
                ("created_at".to_owned(), timestamp(created_at)?),
            ]);
            for (attribute, value) in [
                ("domain", details.domain),
                ("size", details.size),
                ("industry", details.industry),
            ] {
                if let Some(value) = value {
                    org.insert(attribute.to_owned(), s(value));
                }
            }
            items.push(self.put(org, "attribute_not_exists(PK)")?);
            created_organization = Some(Organization {
                id,
                name: details.name.as_str().to_owned(),
            });
        }

        match transact(&self.client, "TransactWriteItems (signup)", items).await? {
            Transaction::Committed => Ok((new, created_organization)),
            refused if refused.refused_item(0) => Err(StoreError::EmailTaken),
            _ => Err(StoreError::Unavailable(
                "signup refused: a freshly allocated id is already in use".to_owned(),
            )),
        }
    }

    async fn credentials(&self, email: &Email) -> StoreResult<Option<Credentials>> {
        let Some(found) = self.get(email_key(email)).await? else {
            // The profile read a known email costs, so that the time (and the request
            // units) of a login do not tell whether the email has an account.
            self.get(user_key(NO_USER)).await?;
            return Ok(None);
        };
        let read = Read::new("email", &found);
        let user_id = UserId(read.n("user_id")?);
        let password_hash = read.s("password_hash")?.to_owned();
        let user = self.user(user_id).await?.ok_or_else(|| {
            StoreError::Unavailable(format!(
                "corrupt item: email points at missing user {user_id}"
            ))
        })?;
        Ok(Some(Credentials {
            user,
            password_hash,
        }))
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.get(user_key(id))
            .await?
            .as_ref()
            .map(user_from)
            .transpose()
    }

    async fn reserve(&self, budgets: &[Budget], window: Window) -> StoreResult<Reservation> {
        if budgets.len() > TRANSACTION_LIMIT {
            return Err(StoreError::unavailable(format!(
                "{} budgets do not fit in one transaction",
                budgets.len()
            )));
        }
        let takes = budgets
            .iter()
            .map(|budget| self.take_attempt(budget, window))
            .collect::<StoreResult<Vec<_>>>()?;
        // One transaction: every budget had room and each gave one attempt, or none did.
        // Concurrent reservations of one budget cancel each other (TransactionConflict);
        // `transact` tries those again after a jittered pause.
        Ok(
            match transact(&self.client, "TransactWriteItems (reserve)", takes).await? {
                Transaction::Committed => Reservation::Granted,
                Transaction::Refused { .. } => Reservation::Refused,
            },
        )
    }

    async fn refund(&self, keys: &[&str], window: Window) -> StoreResult<()> {
        futures::future::try_join_all(keys.iter().map(|key| self.give_back(key, window)))
            .await
            .map(drop)
    }

    async fn reset(&self, key: &str, window: Window) -> StoreResult<()> {
        let output = self
            .client
            .delete_item()
            .table_name(self.table.as_ref())
            .set_key(Some(rate_key(key, window.start)))
            .return_consumed_capacity(TOTAL)
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem", e))?;
        charged_writes(output.consumed_capacity.as_ref());
        Ok(())
    }

    async fn revoke_token(&self, token_id: &str, keep_until: i64) -> StoreResult<()> {
        let mut item = revoked_token_key(token_id);
        // DynamoDB deletes an item only once its TTL is past, and lazily: the record
        // is there at least through `keep_until`, which is all a revocation needs.
        item.insert(TTL_ATTRIBUTE.to_owned(), n(keep_until));
        let output = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            .return_consumed_capacity(TOTAL)
            .send()
            .await
            .map_err(|e| unavailable("PutItem", e))?;
        charged_writes(output.consumed_capacity.as_ref());
        Ok(())
    }

    async fn is_token_revoked(&self, token_id: &str) -> StoreResult<bool> {
        Ok(self.get(revoked_token_key(token_id)).await?.is_some())
    }

    async fn create_context(&self, viewer: &Viewer, context: NewContext) -> StoreResult<Context> {
        let created = Context::create(viewer, context, now());
        let put = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(context_item(&created)?))
            .condition_expression("attribute_not_exists(SK)")
            .return_consumed_capacity(TOTAL)
            .send()
            .await;
        match put {
            Ok(output) => {
                charged_writes(output.consumed_capacity.as_ref());
                Ok(created)
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(unavailable("PutItem", e)),
        }
    }

    async fn list_contexts(&self, viewer: &Viewer) -> StoreResult<Vec<Context>> {
        let (mut own, deletions) = self.own_contexts(viewer.user_id).await?;
        self.finish(&deletions).await;
        own.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(organization) = viewer.organization_id {
            let mut shared = self.shared_contexts(organization, CONTEXT_PREFIX).await?;
            shared.retain(|context| context.owner_id != viewer.user_id);
            shared.sort_by(|a, b| (&a.name, a.created_at).cmp(&(&b.name, b.created_at)));
            own.extend(shared);
        }
        Ok(own)
    }

    async fn find_context(
        &self,
        viewer: &Viewer,
        name: &ContextName,
    ) -> StoreResult<Option<Context>> {
        let (own, deletions) = self.own_context(viewer.user_id, name).await?;
        self.finish(&deletions).await;
        if own.is_some() {
            return Ok(own);
        }
        let Some(organization) = viewer.organization_id else {
            return Ok(None);
        };
        // Names cannot contain '#', so this prefix matches exactly this name.
        let prefix = format!("{CONTEXT_PREFIX}{name}#");
        let shared = self.shared_contexts(organization, &prefix).await?;
        Ok(shared
            .into_iter()
            .filter(|context| context.owner_id != viewer.user_id)
            .min_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id))))
    }

    async fn delete_context(&self, context: &Context) -> StoreResult<()> {
        // One transaction swaps the context for its deletion record: from then on the
        // context is in no listing, `put_memory`'s condition on its item fails, and the
        // record stays until its memories are gone, whatever happens to this process.
        let remove = Delete::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(context_key(context.owner_id, &context.name)))
            .condition_expression("context_id = :cid")
            .expression_attribute_values(":cid", s(&context.id))
            .build()
            .map_err(|e| unavailable("TransactWriteItems", e))?;
        let (record, deletion) = deletion_of(context, now())?;
        let items = vec![
            TransactWriteItem::builder().delete(remove).build(),
            self.put(record, "attribute_not_exists(PK)")?,
        ];
        match transact(&self.client, "TransactWriteItems (delete context)", items).await? {
            Transaction::Committed => {}
            Transaction::Refused { .. } => return Err(StoreError::NotFound),
        }
        let mut budget = self.purge.per_delete;
        match self.purge(&deletion, &mut budget).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(
                context_id = %context.id,
                "deleted context has more memories than one request removes; the owner's next requests go on"
            ),
            Err(error) => tracing::warn!(
                context_id = %context.id,
                %error,
                "cannot finish deleting a context's memories; the owner's next requests will"
            ),
        }
        Ok(())
    }

    async fn put_memory(&self, context: &Context, memory: NewMemory) -> StoreResult<Memory> {
        let created = Memory::create(memory, now());
        let items = vec![
            self.put(
                memory_item(&context.id, &created)?,
                "attribute_not_exists(PK)",
            )?,
            self.count_memories(context, 1)?,
        ];
        match transact(&self.client, "TransactWriteItems (put memory)", items).await? {
            Transaction::Committed => Ok(created),
            refused if refused.refused_item(1) => Err(StoreError::NotFound),
            _ => Err(StoreError::Unavailable(
                "put memory refused: the fresh memory id is already in use".to_owned(),
            )),
        }
    }

    async fn list_memories(
        &self,
        context: &Context,
        limit: usize,
        after: Option<&MemoryId>,
    ) -> StoreResult<MemoryPage> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut start = after.map(|id| memory_key(&context.id, id));
        let mut items = Vec::with_capacity(limit + 1);
        // One item beyond the page tells whether more follow. A page of DynamoDB is
        // cut at 1 MB, so it may take several queries to get there.
        loop {
            let wanted = limit + 1 - items.len();
            let output = self.newest_memories(context, wanted, start).await?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if items.len() > limit || start.is_none() {
                break;
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let memories = items
            .iter()
            .map(memory_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let next = if more {
            memories.last().map(|memory| memory.id.clone())
        } else {
            None
        };
        Ok(MemoryPage { memories, next })
    }

    /// One `Query` for as many memories as the budget has left, item by item through
    /// the budget, the next query only past one of DynamoDB's 1 MB pages: a search of a
    /// thousand small memories is one request, not the default's page of ~60 after page.
    /// What is read stays within the budget's bytes plus the rest of one such page.
    async fn recent_memories(
        &self,
        context: &Context,
        budget: Candidates,
    ) -> StoreResult<Vec<Memory>> {
        let mut read = CandidateRead::new(budget);
        let mut start = None;
        while !read.done {
            let left = budget.memories.saturating_sub(read.found.len());
            let output = self.newest_memories(context, left, start).await?;
            for item in output.items() {
                if !read.offer(memory_from(item)?) {
                    break;
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(read.found)
    }

    async fn delete_memory(&self, context: &Context, id: &MemoryId) -> StoreResult<()> {
        let delete = Delete::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(memory_key(&context.id, id)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(|e| unavailable("TransactWriteItems", e))?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.count_memories(context, -1)?,
        ];
        match transact(&self.client, "TransactWriteItems (delete memory)", items).await? {
            Transaction::Committed => Ok(()),
            Transaction::Refused { .. } => Err(StoreError::NotFound),
        }
    }

    // --- organizations ---

    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationProfile>> {
        self.organization_profile(id).await
    }

    async fn members(&self, organization: OrganizationId) -> StoreResult<Vec<Member>> {
        self.organization_members(organization).await
    }

    async fn create_invitation(&self, invitation: &Invitation) -> StoreResult<()> {
        self.put_invitation(invitation).await
    }

    async fn invitations(&self, organization: OrganizationId) -> StoreResult<Vec<Invitation>> {
        self.pending_invitations(organization).await
    }

    async fn invitation(&self, token_hash: &str) -> StoreResult<Option<Invitation>> {
        self.invitation_by_token(token_hash).await
    }

    async fn revoke_invitation(
        &self,
        organization: OrganizationId,
        invitation_id: &str,
    ) -> StoreResult<()> {
        self.revoke(organization, invitation_id).await
    }

    async fn accept_invitation(
        &self,
        invitation: &Invitation,
        invitee: Invitee,
        now: OffsetDateTime,
    ) -> StoreResult<User> {
        self.accept(invitation, invitee, now).await
    }

    async fn set_role(
        &self,
        organization: OrganizationId,
        actor: UserId,
        member: UserId,
        role: OrgRole,
    ) -> StoreResult<()> {
        self.change_member(organization, actor, member, Some(role))
            .await
    }

    async fn remove_member(
        &self,
        organization: OrganizationId,
        actor: UserId,
        member: UserId,
    ) -> StoreResult<()> {
        self.change_member(organization, actor, member, None).await
    }

    async fn context_of(&self, owner: UserId, name: &ContextName) -> StoreResult<Option<Context>> {
        Ok(self.own_context(owner, name).await?.0)
    }

    // --- sessions ---

    async fn create_session(
        &self,
        session: NewSession,
        now: OffsetDateTime,
    ) -> StoreResult<Session> {
        self.put_session(session, now).await
    }

    async fn caller(&self, user_id: UserId, id: &SessionId) -> StoreResult<Caller> {
        self.read_caller(user_id, id).await
    }

    async fn rotate_session(
        &self,
        session: &Session,
        from: u64,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        self.rotate(session, from, now).await
    }

    async fn end_session(
        &self,
        user_id: UserId,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.end(user_id, id, now).await
    }

    async fn end_sessions(
        &self,
        user_id: UserId,
        except: Option<&SessionId>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.end_all(user_id, except, now).await
    }

    async fn list_sessions(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Session>> {
        self.live_sessions(user_id, now).await
    }

    // --- mail: one-time tokens, email verification, password changes ---

    async fn put_one_time(&self, token: NewOneTime) -> StoreResult<()> {
        self.put_one_time_token(token).await
    }

    async fn use_one_time(
        &self,
        digest: &str,
        purpose: Purpose,
        now: i64,
    ) -> StoreResult<Option<UsedOneTime>> {
        self.use_one_time_token(digest, purpose, now).await
    }

    async fn mark_email_verified(&self, user: UserId) -> StoreResult<()> {
        self.set_email_verified(user).await
    }

    async fn replace_password_hash(
        &self,
        email: &Email,
        current: &str,
        new: String,
    ) -> StoreResult<bool> {
        self.swap_password_hash(email, current, new).await
    }

    // --- oauth ---

    async fn register_client(&self, client: &OAuthClient) -> StoreResult<()> {
        self.put_client(client).await
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>> {
        self.read_client(client_id).await
    }

    async fn put_authorization_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        self.put_code(code).await
    }

    async fn use_authorization_code(
        &self,
        digest: &str,
        now: i64,
    ) -> StoreResult<Option<AuthorizationCode>> {
        self.take_code(digest, now).await
    }

    async fn create_grant(&self, grant: &Grant) -> StoreResult<()> {
        self.put_grant(grant).await
    }

    async fn grant_caller(
        &self,
        user_id: UserId,
        id: &GrantId,
    ) -> StoreResult<Option<(User, Grant)>> {
        self.read_grant_caller(user_id, id).await
    }

    async fn rotate_grant(
        &self,
        user_id: UserId,
        id: &GrantId,
        from: u64,
        now: i64,
    ) -> StoreResult<GrantRotation> {
        self.step_grant(user_id, id, from, now).await
    }

    async fn revoke_grant(&self, user_id: UserId, id: &GrantId, now: i64) -> StoreResult<bool> {
        self.end_grant(user_id, id, now).await
    }

    async fn list_grants(&self, user_id: UserId) -> StoreResult<Vec<Grant>> {
        self.live_grants(user_id).await
    }

    async fn touch_grant(&self, user_id: UserId, id: &GrantId, now: i64) -> StoreResult<()> {
        self.mark_grant_used(user_id, id, now).await
    }

    // --- activity ---

    async fn record_activity(&self, entry: &ActivityEntry) -> StoreResult<()> {
        self.put_activity(entry).await
    }

    async fn context_activity(
        &self,
        owner: UserId,
        name: &ContextName,
        limit: usize,
        before: Option<&str>,
    ) -> StoreResult<ActivityPage> {
        self.activity_page(activity::context_view(owner, name), limit, before)
            .await
    }

    async fn grant_activity(
        &self,
        user_id: UserId,
        grant_id: &GrantId,
        limit: usize,
        before: Option<&str>,
    ) -> StoreResult<ActivityPage> {
        self.activity_page(activity::grant_view(user_id, grant_id), limit, before)
            .await
    }
}
