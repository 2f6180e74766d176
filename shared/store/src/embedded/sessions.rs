//! Sessions in the `sessions` table. The refresh's compare-and-set is one `UPDATE ...
//! WHERE counter = ?`: SQLite runs it atomically, so of concurrent refreshes of one
//! generation exactly one changes a row.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::rows::{USER_COLUMNS, credentials_from_row};
use crate::session::MAX_LISTED_SESSIONS;
use crate::{Caller, ClientDescription, Session, SessionId, StoreError, StoreResult, UserId};

/// Ended or expired sessions are kept this long (for nothing but a tidy table), then
/// deleted when their user next logs in.
const KEEP_DEAD_SECONDS: i64 = 24 * 60 * 60;

/// What `session_from_row` reads, in its order.
const SESSION_COLUMNS: &str = "id, user_id, user_agent, address, created_at, last_used_at, \
     expires_at, idle_expires_at, idle_seconds, counter, rotated_at, ended_at";

/// The session in the row's columns from `at` on, if the row has one there.
fn session_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<Option<Session>> {
    let Some(id) = row.get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    let id = SessionId::parse(&id).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            at,
            rusqlite::types::Type::Text,
            format!("not a session id: {id:?}").into(),
        )
    })?;
    Ok(Some(Session {
        id,
        user_id: UserId(row.get(at + 1)?),
        client: ClientDescription {
            user_agent: row.get(at + 2)?,
            address: row.get(at + 3)?,
        },
        created_at: row.get(at + 4)?,
        last_used_at: row.get(at + 5)?,
        expires_at: row.get(at + 6)?,
        idle_expires_at: row.get(at + 7)?,
        idle_seconds: row.get(at + 8)?,
        counter: row.get(at + 9)?,
        rotated_at: row.get(at + 10)?,
        ended_at: row.get(at + 11)?,
    }))
}

fn user_param(user_id: UserId) -> StoreResult<i64> {
    i64::try_from(user_id.0).map_err(StoreError::unavailable)
}

fn counter_param(counter: u64) -> StoreResult<i64> {
    i64::try_from(counter).map_err(StoreError::unavailable)
}

pub(super) fn create(transaction: &Transaction<'_>, session: &Session) -> StoreResult<()> {
    let user_id = user_param(session.user_id)?;
    transaction
        .execute(
            "DELETE FROM sessions WHERE user_id = ?1
             AND (min(expires_at, idle_expires_at) < ?2 OR ended_at < ?2)",
            params![
                user_id,
                session.created_at.saturating_sub(KEEP_DEAD_SECONDS)
            ],
        )
        .map_err(StoreError::unavailable)?;
    transaction
        .execute(
            &format!(
                "INSERT INTO sessions ({SESSION_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ),
            params![
                session.id.as_str(),
                user_id,
                session.client.user_agent,
                session.client.address,
                session.created_at,
                session.last_used_at,
                session.expires_at,
                session.idle_expires_at,
                session.idle_seconds,
                counter_param(session.counter)?,
                session.rotated_at,
                session.ended_at,
            ],
        )
        .map_err(StoreError::unavailable)?;
    Ok(())
}

/// One query: the user row, joined with the session row if it is that user's.
pub(super) fn caller(
    connection: &Connection,
    user_id: UserId,
    id: &SessionId,
) -> StoreResult<Caller> {
    // SQLite integers are signed; no stored id is this large.
    let Ok(user_id) = i64::try_from(user_id.0) else {
        return Ok(Caller::default());
    };
    connection
        .prepare_cached(&format!(
            "SELECT u.*, s.* FROM (SELECT {USER_COLUMNS} FROM users WHERE id = ?1) AS u
             LEFT JOIN (SELECT {SESSION_COLUMNS} FROM sessions
                        WHERE id = ?2 AND user_id = ?1) AS s ON 1"
        ))
        .and_then(|mut statement| {
            statement
                .query_row(params![user_id, id.as_str()], |row| {
                    Ok(Caller {
                        user: Some(credentials_from_row(row)?.user),
                        session: session_from_row(row, 9)?,
                    })
                })
                .optional()
        })
        .map(Option::unwrap_or_default)
        .map_err(StoreError::unavailable)
}

pub(super) fn rotate(
    transaction: &Transaction<'_>,
    session: &Session,
    from: u64,
    now: i64,
) -> StoreResult<Option<Session>> {
    let rotated = Session {
        counter: from,
        ..session.clone()
    }
    .rotated(now);
    let changed = transaction
        .execute(
            "UPDATE sessions SET counter = ?1, last_used_at = ?2, rotated_at = ?2,
                 idle_expires_at = ?3
             WHERE id = ?4 AND user_id = ?5 AND counter = ?6 AND ended_at IS NULL
               AND expires_at > ?2 AND idle_expires_at > ?2",
            params![
                counter_param(rotated.counter)?,
                now,
                rotated.idle_expires_at,
                session.id.as_str(),
                user_param(session.user_id)?,
                counter_param(from)?,
            ],
        )
        .map_err(StoreError::unavailable)?;
    if changed == 0 {
        return Ok(None);
    }
    transaction
        .query_row(
            &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"),
            [session.id.as_str()],
            |row| session_from_row(row, 0),
        )
        .map_err(StoreError::unavailable)
}

pub(super) fn end(
    transaction: &Transaction<'_>,
    user_id: UserId,
    id: &SessionId,
    now: i64,
) -> StoreResult<bool> {
    transaction
        .execute(
            "UPDATE sessions SET ended_at = ?1
             WHERE id = ?2 AND user_id = ?3 AND ended_at IS NULL
               AND expires_at > ?1 AND idle_expires_at > ?1",
            params![now, id.as_str(), user_param(user_id)?],
        )
        .map(|changed| changed > 0)
        .map_err(StoreError::unavailable)
}

pub(super) fn end_all(
    transaction: &Transaction<'_>,
    user_id: UserId,
    except: Option<&SessionId>,
    now: i64,
) -> StoreResult<()> {
    transaction
        .execute(
            "UPDATE sessions SET ended_at = ?1
             WHERE user_id = ?2 AND ended_at IS NULL AND id IS NOT ?3",
            params![now, user_param(user_id)?, except.map(SessionId::as_str)],
        )
        .map(drop)
        .map_err(StoreError::unavailable)
}

pub(super) fn list(
    connection: &Connection,
    user_id: UserId,
    now: i64,
) -> StoreResult<Vec<Session>> {
    let user_id = user_param(user_id)?;
    connection
        .prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions
             WHERE user_id = ?1 AND ended_at IS NULL AND expires_at > ?2
               AND idle_expires_at > ?2
             ORDER BY id DESC LIMIT {MAX_LISTED_SESSIONS}"
        ))
        .and_then(|mut statement| {
            statement
                .query_map(params![user_id, now], |row| session_from_row(row, 0))?
                .filter_map(Result::transpose)
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(StoreError::unavailable)
}
