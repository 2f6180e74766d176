//! The SDK calls that need more than one line: error mapping, transactions that tell
//! which condition failed, and batched deletes.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConsumedCapacity, DeleteRequest, ReturnConsumedCapacity, TransactWriteItem, WriteRequest,
};
use futures::stream::{self, StreamExt};

use super::item::Item;
use crate::{StoreError, StoreResult, usage};

/// Every call asks what it cost, so that each request can report its request units.
pub(super) const TOTAL: ReturnConsumedCapacity = ReturnConsumedCapacity::Total;

/// DynamoDB's limit on the requests of one `BatchWriteItem`.
pub(super) const BATCH_WRITE_LIMIT: usize = 25;

/// How many `BatchWriteItem` calls `delete_all` keeps in flight: a purge is bound by
/// round trips, and a few at once stay well under a table's write throughput.
const PARALLEL_BATCHES: usize = 4;

/// How often a throttled or conflicting write is tried again before giving up.
pub(super) const RETRIES: u32 = 8;

/// A failure that is not a domain outcome; the cause (with the SDK's error chain) is
/// for the logs only.
pub(super) fn unavailable(operation: &str, error: impl std::error::Error) -> StoreError {
    StoreError::Unavailable(format!(
        "DynamoDB {operation} failed: {}",
        DisplayErrorContext(error)
    ))
}

fn units(capacity: Option<&ConsumedCapacity>) -> f64 {
    capacity
        .and_then(ConsumedCapacity::capacity_units)
        .unwrap_or_default()
}

/// Records a call and the read request units DynamoDB reports for it.
pub(super) fn charged_reads(capacity: Option<&ConsumedCapacity>) {
    usage::record(units(capacity), 0.0);
}

/// Records a call and the write request units DynamoDB reports for it.
pub(super) fn charged_writes(capacity: Option<&ConsumedCapacity>) {
    usage::record(0.0, units(capacity));
}

/// Records a call that reports its read request units per table.
pub(super) fn charged_reads_per_table(capacities: &[ConsumedCapacity]) {
    usage::record(capacities.iter().map(|c| units(Some(c))).sum(), 0.0);
}

/// Records a call that reports its write request units per table.
fn charged_writes_per_table(capacities: &[ConsumedCapacity]) {
    usage::record(0.0, capacities.iter().map(|c| units(Some(c))).sum());
}

/// Short, growing pauses between retries: about 20 ms, 40 ms, 80 ms, ..., each
/// shortened by a random part, so that writers that conflicted do not retry in step.
pub(super) fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let ceiling = 20u64 << attempt.min(6);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_millis(ceiling / 2 + random % (ceiling / 2 + 1))
}

/// How a transaction ended.
pub(super) enum Transaction {
    Committed,
    /// A condition refused the write; `failed[i]` tells whether item `i`'s did.
    Refused {
        failed: Vec<bool>,
    },
}

impl Transaction {
    pub(super) fn refused_item(&self, index: usize) -> bool {
        match self {
            Self::Committed => false,
            Self::Refused { failed } => failed.get(index).copied().unwrap_or(false),
        }
    }
}

/// Runs `items` as one `TransactWriteItems`. A cancellation caused by a failed
/// condition is an answer (`Refused`); one caused only by a concurrent transaction on
/// the same items (`TransactionConflict`) is retried, since those conflicts are
/// normal when many writers touch one counter.
pub(super) async fn transact(
    client: &Client,
    operation: &str,
    items: Vec<TransactWriteItem>,
) -> StoreResult<Transaction> {
    let mut attempt = 0;
    loop {
        let error = match client
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .return_consumed_capacity(TOTAL)
            .send()
            .await
        {
            Ok(output) => {
                charged_writes_per_table(output.consumed_capacity());
                return Ok(Transaction::Committed);
            }
            Err(error) => error,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.as_service_error()
        {
            let codes: Vec<&str> = cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().unwrap_or("None"))
                .collect();
            if codes.contains(&"ConditionalCheckFailed") {
                let failed = codes
                    .iter()
                    .map(|code| *code == "ConditionalCheckFailed")
                    .collect();
                return Ok(Transaction::Refused { failed });
            }
            if codes.contains(&"TransactionConflict") && attempt < RETRIES {
                attempt += 1;
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
        }
        return Err(unavailable(operation, error));
    }
}

/// Deletes the items with these keys, in batches DynamoDB accepts, a few batches at a
/// time, retrying the requests it leaves unprocessed a bounded number of times. Returns
/// how many items could not be deleted.
pub(super) async fn delete_all(client: &Client, table: &str, keys: Vec<Item>) -> usize {
    let mut left = 0;
    let mut requests = Vec::with_capacity(keys.len());
    for key in keys {
        match DeleteRequest::builder().set_key(Some(key)).build() {
            Ok(delete) => requests.push(WriteRequest::builder().delete_request(delete).build()),
            Err(error) => {
                tracing::warn!(error = %error, "cannot build a delete request");
                left += 1;
            }
        }
    }
    let batches: Vec<Vec<WriteRequest>> = requests
        .chunks(BATCH_WRITE_LIMIT)
        .map(<[WriteRequest]>::to_vec)
        .collect();
    let unprocessed: usize = stream::iter(batches)
        .map(|batch| delete_batch(client, table, batch))
        .buffer_unordered(PARALLEL_BATCHES)
        .collect::<Vec<usize>>()
        .await
        .into_iter()
        .sum();
    left + unprocessed
}

/// One `BatchWriteItem` of at most `BATCH_WRITE_LIMIT` requests, and its retries.
async fn delete_batch(client: &Client, table: &str, mut requests: Vec<WriteRequest>) -> usize {
    let mut attempt = 0;
    while !requests.is_empty() {
        if attempt > RETRIES {
            break;
        }
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        attempt += 1;
        match client
            .batch_write_item()
            .request_items(table, requests.clone())
            .return_consumed_capacity(TOTAL)
            .send()
            .await
        {
            Ok(output) => {
                charged_writes_per_table(output.consumed_capacity());
                requests = output
                    .unprocessed_items
                    .and_then(|mut unprocessed| unprocessed.remove(table))
                    .unwrap_or_default();
            }
            Err(error) => {
                tracing::warn!(
                    error = %DisplayErrorContext(&error),
                    "batch delete failed; trying again"
                );
            }
        }
    }
    requests.len()
}
