//! OAuth clients, authorization codes and grants on SQLite.
//!
//! Using a code is one `DELETE ... RETURNING`, and a refresh reads the grant and
//! writes it in one `BEGIN IMMEDIATE` transaction, so neither can be raced. Revoked
//! grants are kept [`KEEP_REVOKED_SECONDS`], then deleted when a grant is next created;
//! expired codes are deleted when a code is next stored.

use rusqlite::{OptionalExtension, Row, params};

use super::EmbeddedStore;
use super::is_unique_violation;
use super::rows::{USER_COLUMNS, corrupt, credentials_from_row};
use crate::grant::{
    KEEP_REVOKED_SECONDS, MAX_LISTED_GRANTS, TOUCH_INTERVAL_SECONDS, contexts_from_strings,
    contexts_to_strings,
};
use crate::{
    AuthorizationCode, Grant, GrantContexts, GrantId, GrantRotation, OAuthClient, Scopes,
    StoreError, StoreResult, User, UserId,
};

/// What `grant_from_row` reads, in its order.
const GRANT_COLUMNS: &str = "id, user_id, client_id, client_name, scopes, contexts, created_at, \
     last_used_at, generation, revoked_at";

/// What `code_from_row` reads, in its order.
const CODE_COLUMNS: &str = "digest, client_id, redirect_uri, code_challenge, resource, user_id, \
     scopes, contexts, expires_at";

fn user_param(user_id: UserId) -> StoreResult<i64> {
    i64::try_from(user_id.0).map_err(StoreError::unavailable)
}

fn generation_param(generation: u64) -> StoreResult<i64> {
    i64::try_from(generation).map_err(StoreError::unavailable)
}

fn contexts_param(contexts: &GrantContexts) -> StoreResult<String> {
    serde_json::to_string(&contexts_to_strings(contexts)).map_err(StoreError::unavailable)
}

fn scopes_at(row: &Row<'_>, column: usize) -> rusqlite::Result<Scopes> {
    let raw: String = row.get(column)?;
    Scopes::parse(&raw).map_err(|e| corrupt(column, e))
}

fn contexts_at(row: &Row<'_>, column: usize) -> rusqlite::Result<GrantContexts> {
    let raw: String = row.get(column)?;
    let stored: Vec<String> = serde_json::from_str(&raw).map_err(|e| corrupt(column, e))?;
    contexts_from_strings(&stored).ok_or_else(|| corrupt(column, "not a grant's contexts"))
}

/// The grant in the row's columns from `at` on.
fn grant_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<Grant> {
    let id: String = row.get(at)?;
    Ok(Grant {
        id: GrantId::parse(&id).ok_or_else(|| corrupt(at, format!("not a grant id: {id:?}")))?,
        user_id: UserId(row.get(at + 1)?),
        client_id: row.get(at + 2)?,
        client_name: row.get(at + 3)?,
        scopes: scopes_at(row, at + 4)?,
        contexts: contexts_at(row, at + 5)?,
        created_at: row.get(at + 6)?,
        last_used_at: row.get(at + 7)?,
        generation: row.get(at + 8)?,
        revoked_at: row.get(at + 9)?,
    })
}

fn code_from_row(row: &Row<'_>) -> rusqlite::Result<AuthorizationCode> {
    Ok(AuthorizationCode {
        digest: row.get(0)?,
        client_id: row.get(1)?,
        redirect_uri: row.get(2)?,
        code_challenge: row.get(3)?,
        resource: row.get(4)?,
        user_id: UserId(row.get(5)?),
        scopes: scopes_at(row, 6)?,
        contexts: contexts_at(row, 7)?,
        expires_at: row.get(8)?,
    })
}

fn client_from_row(row: &Row<'_>) -> rusqlite::Result<OAuthClient> {
    let uris: String = row.get(2)?;
    Ok(OAuthClient {
        client_id: row.get(0)?,
        client_name: row.get(1)?,
        redirect_uris: serde_json::from_str(&uris).map_err(|e| corrupt(2, e))?,
        created_at: row.get(3)?,
    })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl EmbeddedStore {
    pub(super) async fn insert_client(&self, client: &OAuthClient) -> StoreResult<()> {
        let client = client.clone();
        let uris = serde_json::to_string(&client.redirect_uris).map_err(StoreError::unavailable)?;
        self.write(move |transaction| {
            let inserted = transaction.execute(
                "INSERT INTO oauth_clients (client_id, client_name, redirect_uris, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    client.client_id,
                    client.client_name,
                    uris,
                    client.created_at
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

    pub(super) async fn find_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>> {
        let client_id = client_id.to_owned();
        self.run(move |connection| {
            connection
                .prepare_cached(
                    "SELECT client_id, client_name, redirect_uris, created_at
                     FROM oauth_clients WHERE client_id = ?1",
                )
                .and_then(|mut statement| {
                    statement.query_row([client_id], client_from_row).optional()
                })
                .map_err(StoreError::unavailable)
        })
        .await
    }

    pub(super) async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        let code = code.clone();
        let user_id = user_param(code.user_id)?;
        let contexts = contexts_param(&code.contexts)?;
        self.write(move |transaction| {
            // Expired codes are of no use to anyone; keep the table small.
            transaction
                .execute(
                    "DELETE FROM authorization_codes WHERE expires_at <= ?1",
                    [now()],
                )
                .map_err(StoreError::unavailable)?;
            let inserted = transaction.execute(
                &format!(
                    "INSERT INTO authorization_codes ({CODE_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                ),
                params![
                    code.digest,
                    code.client_id,
                    code.redirect_uri,
                    code.code_challenge,
                    code.resource,
                    user_id,
                    code.scopes.to_scope_string(),
                    contexts,
                    code.expires_at,
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

    pub(super) async fn take_code(
        &self,
        digest: &str,
        now: i64,
    ) -> StoreResult<Option<AuthorizationCode>> {
        let digest = digest.to_owned();
        // The check and the use are one statement, so two uses cannot both find it.
        self.write(move |transaction| {
            transaction
                .prepare_cached(&format!(
                    "DELETE FROM authorization_codes WHERE digest = ?1 AND expires_at > ?2
                     RETURNING {CODE_COLUMNS}"
                ))
                .and_then(|mut statement| {
                    statement
                        .query_row(params![digest, now], code_from_row)
                        .optional()
                })
                .map_err(StoreError::unavailable)
        })
        .await
    }

    pub(super) async fn insert_grant(&self, grant: &Grant) -> StoreResult<()> {
        let grant = grant.clone();
        let user_id = user_param(grant.user_id)?;
        let generation = generation_param(grant.generation)?;
        let contexts = contexts_param(&grant.contexts)?;
        self.write(move |transaction| {
            transaction
                .execute(
                    "DELETE FROM grants WHERE revoked_at <= ?1",
                    [now().saturating_sub(KEEP_REVOKED_SECONDS)],
                )
                .map_err(StoreError::unavailable)?;
            let inserted = transaction.execute(
                &format!(
                    "INSERT INTO grants ({GRANT_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ),
                params![
                    grant.id.as_str(),
                    user_id,
                    grant.client_id,
                    grant.client_name,
                    grant.scopes.to_scope_string(),
                    contexts,
                    grant.created_at,
                    grant.last_used_at,
                    generation,
                    grant.revoked_at,
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

    /// One query: the user row joined with the grant row, if it is that user's.
    pub(super) async fn read_grant_caller(
        &self,
        user_id: UserId,
        id: &GrantId,
    ) -> StoreResult<Option<(User, Grant)>> {
        // SQLite integers are signed; no stored id is this large.
        let Ok(user_id) = i64::try_from(user_id.0) else {
            return Ok(None);
        };
        let id = id.clone();
        self.run(move |connection| {
            connection
                .prepare_cached(&format!(
                    "SELECT u.*, g.* FROM (SELECT {USER_COLUMNS} FROM users WHERE id = ?1) AS u
                     JOIN (SELECT {GRANT_COLUMNS} FROM grants
                           WHERE id = ?2 AND user_id = ?1) AS g ON 1"
                ))
                .and_then(|mut statement| {
                    statement
                        .query_row(params![user_id, id.as_str()], |row| {
                            Ok((credentials_from_row(row)?.user, grant_from_row(row, 9)?))
                        })
                        .optional()
                })
                .map_err(StoreError::unavailable)
        })
        .await
    }

    pub(super) async fn step_grant(
        &self,
        user_id: UserId,
        id: &GrantId,
        from: u64,
        now: i64,
    ) -> StoreResult<GrantRotation> {
        let user_id = user_param(user_id)?;
        let id = id.clone();
        // IMMEDIATE holds the write lock from the read on, so no other refresh can come
        // between the generation read here and the write below.
        self.write(move |transaction| {
            let read = |transaction: &rusqlite::Transaction<'_>| {
                transaction
                    .query_row(
                        &format!(
                            "SELECT {GRANT_COLUMNS} FROM grants WHERE id = ?1 AND user_id = ?2"
                        ),
                        params![id.as_str(), user_id],
                        |row| grant_from_row(row, 0),
                    )
                    .optional()
                    .map_err(StoreError::unavailable)
            };
            let Some(grant) = read(transaction)?.filter(Grant::is_live) else {
                return Ok(GrantRotation::Gone);
            };
            if grant.generation != from {
                transaction
                    .execute(
                        "UPDATE grants SET revoked_at = ?1 WHERE id = ?2",
                        params![now, id.as_str()],
                    )
                    .map_err(StoreError::unavailable)?;
                return Ok(GrantRotation::Reused);
            }
            let next = from
                .checked_add(1)
                .ok_or_else(|| StoreError::unavailable("a grant's generation overflowed"))?;
            transaction
                .execute(
                    "UPDATE grants SET generation = ?1, last_used_at = ?2 WHERE id = ?3",
                    params![generation_param(next)?, now, id.as_str()],
                )
                .map_err(StoreError::unavailable)?;
            match read(transaction)? {
                Some(rotated) => Ok(GrantRotation::Rotated(rotated)),
                None => Err(StoreError::unavailable("a rotated grant vanished")),
            }
        })
        .await
    }

    pub(super) async fn end_grant(
        &self,
        user_id: UserId,
        id: &GrantId,
        now: i64,
    ) -> StoreResult<bool> {
        let user_id = user_param(user_id)?;
        let id = id.clone();
        self.write(move |transaction| {
            transaction
                .execute(
                    "UPDATE grants SET revoked_at = ?1
                     WHERE id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
                    params![now, id.as_str(), user_id],
                )
                .map(|changed| changed > 0)
                .map_err(StoreError::unavailable)
        })
        .await
    }

    pub(super) async fn live_grants(&self, user_id: UserId) -> StoreResult<Vec<Grant>> {
        let user_id = user_param(user_id)?;
        self.run(move |connection| {
            connection
                .prepare_cached(&format!(
                    "SELECT {GRANT_COLUMNS} FROM grants
                     WHERE user_id = ?1 AND revoked_at IS NULL
                     ORDER BY id DESC LIMIT {MAX_LISTED_GRANTS}"
                ))
                .and_then(|mut statement| {
                    statement
                        .query_map([user_id], |row| grant_from_row(row, 0))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(StoreError::unavailable)
        })
        .await
    }

    pub(super) async fn mark_grant_used(
        &self,
        user_id: UserId,
        id: &GrantId,
        now: i64,
    ) -> StoreResult<()> {
        let user_id = user_param(user_id)?;
        let id = id.clone();
        self.write(move |transaction| {
            transaction
                .execute(
                    "UPDATE grants SET last_used_at = ?1
                     WHERE id = ?2 AND user_id = ?3 AND revoked_at IS NULL
                       AND last_used_at < ?4",
                    params![
                        now,
                        id.as_str(),
                        user_id,
                        now.saturating_sub(TOUCH_INTERVAL_SECONDS)
                    ],
                )
                .map(drop)
                .map_err(StoreError::unavailable)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn grant(revoked_at: Option<i64>) -> Grant {
        Grant {
            id: GrantId::generate(),
            user_id: UserId(1),
            client_id: "01J".to_owned(),
            client_name: "Agent".to_owned(),
            scopes: Scopes::all(),
            contexts: GrantContexts::All,
            created_at: 1,
            last_used_at: 1,
            generation: 0,
            revoked_at,
        }
    }

    #[tokio::test]
    async fn revoked_grants_are_kept_for_their_retention_then_deleted_on_the_next_grant() {
        let store = EmbeddedStore::in_memory().expect("open");
        let long_ago = grant(Some(now() - KEEP_REVOKED_SECONDS - 1));
        let lately = grant(Some(now() - 60));
        for old in [&long_ago, &lately] {
            store.create_grant(old).await.expect("create");
        }
        store.create_grant(&grant(None)).await.expect("create");
        let kept: Vec<String> = store
            .run(|connection| {
                connection
                    .prepare("SELECT id FROM grants")
                    .and_then(|mut statement| {
                        statement
                            .query_map([], |row| row.get(0))?
                            .collect::<rusqlite::Result<Vec<String>>>()
                    })
                    .map_err(StoreError::unavailable)
            })
            .await
            .expect("read");
        assert!(!kept.contains(&long_ago.id.to_string()));
        assert!(kept.contains(&lately.id.to_string()));
        assert_eq!(kept.len(), 2);
    }
}
