//! The activity trail on DynamoDB: one item per view of an entry.
//!
//! | item | `PK` | `SK` | attributes |
//! |---|---|---|---|
//! | entry, context view | `ACTIVITY#CTX#<owner_id>#<name>` | `<entry id>` | `user_id`, `grant_id`, `client_name`, `action`, `context_owner`?, `context_name`?, `count`, `at`, `expires_at` (time to live) |
//! | entry, grant view | `ACTIVITY#GRANT#<user_id>#<grant_id>` | `<entry id>` | the same |
//!
//! Both items of an entry are written in one `TransactWriteItems` (an entry on no
//! context has the grant view's alone). A page is one `Query` of the view's partition,
//! newest first (`ScanIndexForward = false`), `SK < before` for the next page, and a
//! `Limit` of one more than the page (entries are well under 1 KB, so a page is one
//! small read) to tell whether more follow. Time to live is `at` plus the retention;
//! DynamoDB removes items lazily, so a read drops those past it. Entry ids are ULIDs
//! made at `at`, so the first entry past retention ends the page.
//!
//! Costs (on-demand, entries well under 1 KB): recording is 4 write units (a
//! transaction of two items; 2 for an entry on no context), one round trip. A page is
//! one eventually consistent `Query` (an entry recorded a moment ago may show a moment
//! later) of at most 101 small items: a few read units.

use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoStore;
use super::calls::{TOTAL, charged_reads, transact, unavailable};
use super::item::{Item, Read, key, n, s};
use super::schema::{TTL_ATTRIBUTE, partition};
use crate::activity::retained;
use crate::{
    ACTIVITY_RETENTION_SECONDS, ActivityEntry, ActivityPage, ContextName, GrantId, StoreError,
    StoreResult, UserId,
};

pub(super) fn context_view(owner: UserId, name: &ContextName) -> String {
    format!("{}CTX#{owner}#{name}", partition::ACTIVITY)
}

pub(super) fn grant_view(user_id: UserId, grant_id: &GrantId) -> String {
    format!("{}GRANT#{user_id}#{grant_id}", partition::ACTIVITY)
}

fn entry_item(view: String, entry: &ActivityEntry) -> Item {
    let mut item = key(view, entry.id.clone());
    item.extend([
        ("user_id".to_owned(), n(entry.user_id)),
        ("grant_id".to_owned(), s(entry.grant_id.as_str())),
        ("client_name".to_owned(), s(&entry.client_name)),
        ("action".to_owned(), s(&entry.action)),
        ("count".to_owned(), n(entry.count)),
        ("at".to_owned(), n(entry.at)),
        (
            TTL_ATTRIBUTE.to_owned(),
            n(entry.at.saturating_add(ACTIVITY_RETENTION_SECONDS)),
        ),
    ]);
    if let Some((owner, name)) = &entry.context {
        item.insert("context_owner".to_owned(), n(owner));
        item.insert("context_name".to_owned(), s(name.as_str()));
    }
    item
}

fn entry_from(item: &Item) -> StoreResult<ActivityEntry> {
    let read = Read::new("activity entry", item);
    let owner = read.opt_n("context_owner")?.map(UserId);
    let name = read
        .opt_s("context_name")?
        .map(|raw| {
            ContextName::parse(raw)
                .map_err(|_| StoreError::unavailable("corrupt item: activity context name"))
        })
        .transpose()?;
    let context = match (owner, name) {
        (Some(owner), Some(name)) => Some((owner, name)),
        (None, None) => None,
        _ => return Err(StoreError::unavailable("corrupt item: activity context")),
    };
    Ok(ActivityEntry {
        id: read.s("SK")?.to_owned(),
        user_id: UserId(read.n("user_id")?),
        grant_id: read.parsed("grant_id", GrantId::parse)?,
        client_name: read.s("client_name")?.to_owned(),
        action: read.s("action")?.to_owned(),
        context,
        count: read.n("count")?,
        at: read.n("at")?,
    })
}

impl DynamoStore {
    pub(super) async fn put_activity(&self, entry: &ActivityEntry) -> StoreResult<()> {
        let condition = "attribute_not_exists(PK)";
        let mut items = vec![self.put(
            entry_item(grant_view(entry.user_id, &entry.grant_id), entry),
            condition,
        )?];
        if let Some((owner, name)) = &entry.context {
            items.push(self.put(entry_item(context_view(*owner, name), entry), condition)?);
        }
        match transact(&self.client, "TransactWriteItems", items).await? {
            super::calls::Transaction::Committed => Ok(()),
            super::calls::Transaction::Refused { .. } => Err(StoreError::Conflict),
        }
    }

    /// A page of the view whose partition is `view`.
    pub(super) async fn activity_page(
        &self,
        view: String,
        limit: usize,
        before: Option<&str>,
    ) -> StoreResult<ActivityPage> {
        let mut query = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .expression_attribute_values(":pk", s(view))
            .scan_index_forward(false)
            .limit(i32::try_from(ActivityPage::read_size(limit)).map_err(StoreError::unavailable)?)
            .return_consumed_capacity(TOTAL);
        query = match before {
            Some(before) => query
                .key_condition_expression("PK = :pk AND SK < :before")
                .expression_attribute_values(":before", AttributeValue::S(before.to_owned())),
            None => query.key_condition_expression("PK = :pk"),
        };
        let output = query.send().await.map_err(|e| unavailable("Query", e))?;
        charged_reads(output.consumed_capacity.as_ref());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut entries = Vec::new();
        for item in output.items() {
            let entry = entry_from(item)?;
            if !retained(entry.at, now) {
                break;
            }
            entries.push(entry);
        }
        Ok(ActivityPage::from_read(entries, limit))
    }
}
