//! The activity trail on SQLite: one row per entry, read through an index per view.
//! Entries past retention are filtered out of every read and deleted when the next
//! entry is recorded.

use rusqlite::{Row, params};

use super::EmbeddedStore;
use super::is_unique_violation;
use super::rows::corrupt;
use crate::{
    ACTIVITY_RETENTION_SECONDS, ActivityEntry, ActivityPage, ContextName, GrantId, StoreError,
    StoreResult, UserId,
};

/// What `entry_from_row` reads, in its order.
const ENTRY_COLUMNS: &str =
    "id, user_id, grant_id, client_name, action, context_owner, context_name, count, at";

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<ActivityEntry> {
    let grant_id: String = row.get(2)?;
    let owner: Option<u64> = row.get(5)?;
    let name: Option<String> = row.get(6)?;
    let context = match (owner, name) {
        (Some(owner), Some(name)) => Some((
            UserId(owner),
            ContextName::parse(&name).map_err(|e| corrupt(6, e))?,
        )),
        (None, None) => None,
        _ => return Err(corrupt(5, "a context owner without a name, or the reverse")),
    };
    Ok(ActivityEntry {
        id: row.get(0)?,
        user_id: UserId(row.get(1)?),
        grant_id: GrantId::parse(&grant_id)
            .ok_or_else(|| corrupt(2, format!("not a grant id: {grant_id:?}")))?,
        client_name: row.get(3)?,
        action: row.get(4)?,
        context,
        count: row.get(7)?,
        at: row.get(8)?,
    })
}

fn user_param(user_id: UserId) -> StoreResult<i64> {
    i64::try_from(user_id.0).map_err(StoreError::unavailable)
}

/// The oldest `at` still shown: entries at or before the returned second are past
/// retention.
fn cutoff() -> i64 {
    time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .saturating_sub(ACTIVITY_RETENTION_SECONDS)
}

impl EmbeddedStore {
    pub(super) async fn insert_activity(&self, entry: &ActivityEntry) -> StoreResult<()> {
        let entry = entry.clone();
        let user_id = user_param(entry.user_id)?;
        let owner = entry
            .context
            .as_ref()
            .map(|(owner, _)| user_param(*owner))
            .transpose()?;
        self.write(move |transaction| {
            transaction
                .execute("DELETE FROM activity WHERE at <= ?1", [cutoff()])
                .map_err(StoreError::unavailable)?;
            let inserted = transaction.execute(
                &format!(
                    "INSERT INTO activity ({ENTRY_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                ),
                params![
                    entry.id,
                    user_id,
                    entry.grant_id.as_str(),
                    entry.client_name,
                    entry.action,
                    owner,
                    entry.context.as_ref().map(|(_, name)| name.as_str()),
                    entry.count,
                    entry.at,
                ],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict),
                Err(e) => Err(StoreError::unavailable(e)),
                Ok(_) => Ok(()),
            }
        })
        .await
    }

    /// A page of the view that `view` (an SQL condition on `?1` and `?2`) selects.
    async fn activity_page(
        &self,
        view: &'static str,
        keys: (i64, String),
        limit: usize,
        before: Option<&str>,
    ) -> StoreResult<ActivityPage> {
        let read_size = ActivityPage::read_size(limit);
        let before = before.map(str::to_owned);
        self.run(move |connection| {
            connection
                .prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM activity
                     WHERE {view} AND at > ?3 AND (?4 IS NULL OR id < ?4)
                     ORDER BY id DESC LIMIT ?5"
                ))
                .and_then(|mut statement| {
                    statement
                        .query_map(
                            params![keys.0, keys.1, cutoff(), before, read_size],
                            entry_from_row,
                        )?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map(|entries| ActivityPage::from_read(entries, limit))
                .map_err(StoreError::unavailable)
        })
        .await
    }

    pub(super) async fn activity_of_context(
        &self,
        owner: UserId,
        name: &ContextName,
        limit: usize,
        before: Option<&str>,
    ) -> StoreResult<ActivityPage> {
        let keys = (user_param(owner)?, name.as_str().to_owned());
        self.activity_page(
            "context_owner = ?1 AND context_name = ?2",
            keys,
            limit,
            before,
        )
        .await
    }

    pub(super) async fn activity_of_grant(
        &self,
        user_id: UserId,
        grant_id: &GrantId,
        limit: usize,
        before: Option<&str>,
    ) -> StoreResult<ActivityPage> {
        let keys = (user_param(user_id)?, grant_id.as_str().to_owned());
        self.activity_page("user_id = ?1 AND grant_id = ?2", keys, limit, before)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[tokio::test]
    async fn entries_past_retention_are_deleted_when_the_next_is_recorded() {
        let store = EmbeddedStore::in_memory().expect("open");
        let entry = |at: i64| ActivityEntry {
            id: ulid::Ulid::new().to_string(),
            user_id: UserId(1),
            grant_id: GrantId::generate(),
            client_name: "Agent".to_owned(),
            action: "list_contexts".to_owned(),
            context: None,
            count: 0,
            at,
        };
        store
            .record_activity(&entry(cutoff() - 5))
            .await
            .expect("record");
        store
            .record_activity(&entry(cutoff() + 60))
            .await
            .expect("record");
        let rows: i64 = store
            .run(|connection| {
                connection
                    .query_row("SELECT COUNT(*) FROM activity", [], |row| row.get(0))
                    .map_err(StoreError::unavailable)
            })
            .await
            .expect("count");
        assert_eq!(rows, 1);
    }
}
