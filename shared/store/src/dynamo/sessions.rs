//! Sessions on DynamoDB.
//!
//! | item | `PK` | `SK` | attributes |
//! |---|---|---|---|
//! | session | `SESSION#<user_id>` | `<session_id>` | `user_agent`?, `address`?, `created_at`, `last_used_at`, `session_expires_at`, `idle_expires_at`, `idle_seconds`, `counter`, `rotated_at`?, `ended_at`?, `expires_at` (TTL) |
//!
//! All of a user's sessions share one partition, so listing them and ending them all
//! are strongly consistent queries of it; times are Unix seconds (numbers), so the
//! refresh's condition can compare them. The time to live is the earlier expiry plus a
//! day: DynamoDB removes items lazily, so liveness is always decided from the
//! attributes, never from the item's presence.
//!
//! Costs (on-demand, items well under 1 KB): the check of every authenticated request
//! is one `BatchGetItem` of the profile and the session, strongly consistent: 2 read
//! request units, one round trip. A refresh is that read plus one conditional
//! `UpdateItem` (1 write unit); a grace-window refresh is the read alone.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use futures::stream::{self, StreamExt};
use time::OffsetDateTime;

use super::DynamoStore;
use super::calls::{TOTAL, charged_writes, unavailable};
use super::item::{Item, Read, key, n, s, user_from, user_key};
use super::schema::{TABLE_KEY, TTL_ATTRIBUTE, partition};
use crate::session::MAX_LISTED_SESSIONS;
use crate::{
    Caller, ClientDescription, NewSession, Session, SessionId, StoreError, StoreResult, UserId,
};

/// Dead sessions stay this long past their expiry before DynamoDB may remove them.
const KEEP_DEAD_SECONDS: i64 = 24 * 60 * 60;

/// How many sessions `end_sessions` ends at once.
const PARALLEL_ENDS: usize = 8;

pub(super) fn session_partition(user_id: UserId) -> String {
    format!("{}{user_id}", partition::SESSION)
}

pub(super) fn session_key(user_id: UserId, id: &SessionId) -> Item {
    key(session_partition(user_id), id.as_str().to_owned())
}

fn time_to_live(session: &Session) -> AttributeValue {
    n(session
        .expires_at
        .min(session.idle_expires_at)
        .saturating_add(KEEP_DEAD_SECONDS))
}

fn session_item(session: &Session) -> Item {
    let mut item = session_key(session.user_id, &session.id);
    item.extend([
        ("created_at".to_owned(), n(session.created_at)),
        ("last_used_at".to_owned(), n(session.last_used_at)),
        ("session_expires_at".to_owned(), n(session.expires_at)),
        ("idle_expires_at".to_owned(), n(session.idle_expires_at)),
        ("idle_seconds".to_owned(), n(session.idle_seconds)),
        ("counter".to_owned(), n(session.counter)),
        (TTL_ATTRIBUTE.to_owned(), time_to_live(session)),
    ]);
    for (attribute, value) in [
        ("user_agent", &session.client.user_agent),
        ("address", &session.client.address),
    ] {
        if let Some(value) = value {
            item.insert(attribute.to_owned(), s(value));
        }
    }
    item
}

fn session_from(item: &Item) -> StoreResult<Session> {
    let read = Read::new("session", item);
    let user_id = read
        .s(TABLE_KEY.partition)?
        .strip_prefix(partition::SESSION)
        .and_then(|id| id.parse().ok())
        .map(UserId);
    let id = SessionId::parse(read.s(TABLE_KEY.sort)?);
    let (Some(user_id), Some(id)) = (user_id, id) else {
        return Err(StoreError::unavailable("corrupt item: session key"));
    };
    Ok(Session {
        id,
        user_id,
        client: ClientDescription {
            user_agent: read.opt_s("user_agent")?.map(str::to_owned),
            address: read.opt_s("address")?.map(str::to_owned),
        },
        created_at: read.n("created_at")?,
        last_used_at: read.n("last_used_at")?,
        expires_at: read.n("session_expires_at")?,
        idle_expires_at: read.n("idle_expires_at")?,
        idle_seconds: read.n("idle_seconds")?,
        counter: read.n("counter")?,
        rotated_at: read.opt_n("rotated_at")?,
        ended_at: read.opt_n("ended_at")?,
    })
}

fn is_condition_failure(error: &aws_sdk_dynamodb::error::SdkError<UpdateItemError>) -> bool {
    matches!(
        error.as_service_error(),
        Some(UpdateItemError::ConditionalCheckFailedException(_))
    )
}

impl DynamoStore {
    pub(super) async fn put_session(
        &self,
        new: NewSession,
        now: OffsetDateTime,
    ) -> StoreResult<Session> {
        let session = Session::start(new, now);
        let output = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(session_item(&session)))
            // A fresh ULID; the condition only makes a collision an error, not a takeover.
            .condition_expression("attribute_not_exists(PK)")
            .return_consumed_capacity(TOTAL)
            .send()
            .await
            .map_err(|e| unavailable("PutItem", e))?;
        charged_writes(output.consumed_capacity.as_ref());
        Ok(session)
    }

    /// One strongly consistent `BatchGetItem` of the profile and the session. Keys it
    /// leaves unprocessed (throttling) are asked for again, a bounded number of times.
    pub(super) async fn read_caller(&self, user_id: UserId, id: &SessionId) -> StoreResult<Caller> {
        let items = self
            .get_consistently(
                "the caller's keys",
                vec![user_key(user_id), session_key(user_id, id)],
            )
            .await?;
        let mut caller = Caller::default();
        for item in &items {
            let pk = Read::new("caller", item).s(TABLE_KEY.partition)?;
            if pk.starts_with(partition::SESSION) {
                caller.session = Some(session_from(item)?);
            } else {
                caller.user = Some(user_from(item)?);
            }
        }
        Ok(caller)
    }

    pub(super) async fn rotate(
        &self,
        session: &Session,
        from: u64,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        let now = now.unix_timestamp();
        let rotated = Session {
            counter: from,
            ..session.clone()
        }
        .rotated(now);
        let updated = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(session_key(session.user_id, &session.id)))
            .update_expression(
                "SET #counter = :next, last_used_at = :now, rotated_at = :now, \
                 idle_expires_at = :idle, #ttl = :ttl",
            )
            .condition_expression(
                "#counter = :from AND attribute_not_exists(ended_at) \
                 AND session_expires_at > :now AND idle_expires_at > :now",
            )
            .expression_attribute_names("#counter", "counter")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":next", n(rotated.counter))
            .expression_attribute_values(":from", n(from))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":idle", n(rotated.idle_expires_at))
            .expression_attribute_values(":ttl", time_to_live(&rotated))
            .return_values(ReturnValue::AllNew)
            .return_consumed_capacity(TOTAL)
            .send()
            .await;
        match updated {
            Ok(output) => {
                charged_writes(output.consumed_capacity.as_ref());
                session_from(&output.attributes.unwrap_or_default()).map(Some)
            }
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }

    pub(super) async fn end(
        &self,
        user_id: UserId,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let updated = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(session_key(user_id, id)))
            .update_expression("SET ended_at = :now")
            .condition_expression(
                "attribute_exists(PK) AND attribute_not_exists(ended_at) \
                 AND session_expires_at > :now AND idle_expires_at > :now",
            )
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .return_consumed_capacity(TOTAL)
            .send()
            .await;
        match updated {
            Ok(output) => {
                charged_writes(output.consumed_capacity.as_ref());
                Ok(true)
            }
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }

    /// Every session item of the user, newest first (strongly consistent).
    async fn sessions_of(&self, user_id: UserId) -> StoreResult<Vec<Session>> {
        let query = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(session_partition(user_id)))
            .scan_index_forward(false)
            .consistent_read(true);
        self.query_all(query)
            .await?
            .iter()
            .map(session_from)
            .collect()
    }

    pub(super) async fn end_all(
        &self,
        user_id: UserId,
        except: Option<&SessionId>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let live: Vec<SessionId> = self
            .sessions_of(user_id)
            .await?
            .into_iter()
            .filter(|session| session.is_live(now.unix_timestamp()))
            .map(|session| session.id)
            .filter(|id| Some(id) != except)
            .collect();
        let ended: Vec<StoreResult<bool>> = stream::iter(live)
            .map(|id| async move { self.end(user_id, &id, now).await })
            .buffer_unordered(PARALLEL_ENDS)
            .collect()
            .await;
        // A session that ended or expired meanwhile is as good as ended.
        ended.into_iter().try_for_each(|outcome| outcome.map(drop))
    }

    pub(super) async fn live_sessions(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Session>> {
        let now = now.unix_timestamp();
        Ok(self
            .sessions_of(user_id)
            .await?
            .into_iter()
            .filter(|session| session.is_live(now))
            .take(MAX_LISTED_SESSIONS)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_item_reads_back_as_the_session() {
        let start = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        let session = Session::start(
            NewSession {
                user_id: UserId(42),
                client: ClientDescription::new(Some("curl/8"), Some("192.0.2.1")),
                lifetime_seconds: 3600,
                idle_seconds: 60,
            },
            start,
        );
        let rotated = session.rotated(1_700_000_010);
        assert_eq!(
            session_from(&session_item(&session)).expect("read"),
            session
        );
        let mut item = session_item(&rotated);
        item.insert("rotated_at".to_owned(), n(1_700_000_010));
        assert_eq!(session_from(&item).expect("read"), rotated);
    }
}
