//! One-time tokens, email verification and password changes on SQLite.

use rusqlite::{OptionalExtension, params};

use super::EmbeddedStore;
use crate::{Email, NewOneTime, Purpose, StoreError, StoreResult, UsedOneTime, UserId};

impl EmbeddedStore {
    pub(super) async fn put_one_time_token(&self, token: NewOneTime) -> StoreResult<()> {
        self.write(move |transaction| {
            // Expired tokens are of no use to anyone; keep the table small.
            transaction
                .execute(
                    "DELETE FROM one_time_tokens WHERE expires_at <= ?1",
                    [time::OffsetDateTime::now_utc().unix_timestamp()],
                )
                .map_err(StoreError::unavailable)?;
            transaction
                .execute(
                    "INSERT INTO one_time_tokens (digest, purpose, user_id, expires_at, stamp)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        token.digest,
                        token.purpose.as_str(),
                        token.user_id.0,
                        token.expires_at,
                        token.stamp
                    ],
                )
                .map_err(StoreError::unavailable)?;
            Ok(())
        })
        .await
    }

    pub(super) async fn use_one_time_token(
        &self,
        digest: &str,
        purpose: Purpose,
        now: i64,
    ) -> StoreResult<Option<UsedOneTime>> {
        let digest = digest.to_owned();
        // One DELETE ... RETURNING: the check and the use are one statement, so two
        // uses of one token cannot both find it.
        self.write(move |transaction| {
            transaction
                .prepare_cached(
                    "DELETE FROM one_time_tokens
                     WHERE digest = ?1 AND purpose = ?2 AND expires_at > ?3
                     RETURNING user_id, stamp, expires_at",
                )
                .and_then(|mut statement| {
                    statement
                        .query_row(params![digest, purpose.as_str(), now], |row| {
                            Ok(UsedOneTime {
                                user_id: UserId(row.get(0)?),
                                stamp: row.get(1)?,
                                expires_at: row.get(2)?,
                            })
                        })
                        .optional()
                })
                .map_err(StoreError::unavailable)
        })
        .await
    }

    pub(super) async fn set_email_verified(&self, user: UserId) -> StoreResult<()> {
        let Ok(id) = i64::try_from(user.0) else {
            return Err(StoreError::NotFound);
        };
        self.write(move |transaction| {
            let changed = transaction
                .execute("UPDATE users SET email_verified = 1 WHERE id = ?1", [id])
                .map_err(StoreError::unavailable)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    pub(super) async fn swap_password_hash(
        &self,
        email: &Email,
        current: &str,
        new: String,
    ) -> StoreResult<bool> {
        let email = email.as_str().to_owned();
        let current = current.to_owned();
        self.write(move |transaction| {
            transaction
                .execute(
                    "UPDATE users SET password_hash = ?1 WHERE email = ?2 AND password_hash = ?3",
                    params![new, email, current],
                )
                .map(|changed| changed == 1)
                .map_err(StoreError::unavailable)
        })
        .await
    }
}
