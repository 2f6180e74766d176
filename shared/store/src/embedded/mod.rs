//! The store as one SQLite file, for local-dev (and, in memory, for tests).
//!
//! One connection behind a mutex: SQLite serialises writers anyway, and every call
//! runs on the blocking pool so the async runtime never waits on disk.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::{
    Account, Budget, Candidates, Context, ContextName, Credentials, Email, Invitation, Invitee,
    MAX_PAGE, Member, Memory, MemoryId, MemoryPage, NewContext, NewMemory, NewOneTime,
    NewOrganization, NewUser, OrgRole, Organization, OrganizationDetail, OrganizationId,
    OrganizationProfile, Purpose, Reservation, Store, StoreError, StoreResult, UsedOneTime, User,
    UserId, Viewer, Visibility, Window,
};
use crate::{ActivityEntry, ActivityPage, AuthorizationCode, Grant, GrantId, GrantRotation};
use crate::{Caller, NewSession, OAuthClient, Session, SessionId};
use file::make_private;
use rows::{
    CONTEXT_COLUMNS, USER_COLUMNS, context_from_row, credentials_from_row, memory_from_row,
    timestamp,
};
use schema::migrate;

mod activity;
mod file;
mod oauth;
mod onetime;
mod orgs;
mod rows;
mod schema;
mod sessions;

/// How long a statement waits for another process (e.g. a second local-dev) to let go
/// of the file before giving up as `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Rate-limit windows that ended this long ago are deleted; the grace keeps a window
/// that a slow request computed just before it closed.
const PRUNE_AFTER_SECONDS: i64 = 3600;

#[derive(Clone, Debug)]
pub struct EmbeddedStore {
    connection: Arc<Mutex<Connection>>,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up
    /// to date.
    ///
    /// The file holds password hashes, so it is for its owner only: a missing parent
    /// directory is created 0700, and the file and its `-wal` and `-shm` companions are
    /// kept 0600 (SQLite creates the companions with the main file's mode).
    pub fn open(path: &Path) -> StoreResult<Self> {
        make_private(path).map_err(|e| {
            StoreError::unavailable(format!("cannot create {} privately: {e}", path.display()))
        })?;
        let connection = Connection::open(path)
            .map_err(|e| StoreError::unavailable(format!("cannot open {}: {e}", path.display())))?;
        // WAL lets readers proceed while a write commits; NORMAL sync is safe with WAL
        // (a crash may lose the last commits, never corrupt the file).
        let mode: String = connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(StoreError::unavailable)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::unavailable(format!(
                "{} refused WAL mode (journal_mode is {mode})",
                path.display()
            )));
        }
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(StoreError::unavailable)?;
        Self::prepare(connection)
    }

    /// A private, empty database that vanishes with the store; for tests.
    pub fn in_memory() -> StoreResult<Self> {
        Self::prepare(Connection::open_in_memory().map_err(StoreError::unavailable)?)
    }

    fn prepare(mut connection: Connection) -> StoreResult<Self> {
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(StoreError::unavailable)?;
        // Off by default and per connection; the cascade from contexts to memories needs it.
        connection
            .pragma_update(None, "foreign_keys", true)
            .map_err(StoreError::unavailable)?;
        migrate(&mut connection)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            let mut connection = connection
                .lock()
                .map_err(|_| StoreError::unavailable("a previous database call panicked"))?;
            work(&mut connection)
        })
        .await
        .map_err(StoreError::unavailable)?
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction: all of it commits, or (on any
    /// error, domain outcomes included) none of it.
    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.run(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::unavailable)?;
            let done = work(&transaction)?;
            transaction.commit().map_err(StoreError::unavailable)?;
            Ok(done)
        })
        .await
    }

    /// Runs `work` in one read transaction, so that its queries see one snapshot.
    async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.run(move |connection| {
            let transaction = connection.transaction().map_err(StoreError::unavailable)?;
            work(&transaction)
        })
        .await
    }
}

/// A `UNIQUE` or `PRIMARY KEY` constraint refused the write.
fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

fn inserted_id(transaction: &Transaction<'_>) -> StoreResult<u64> {
    u64::try_from(transaction.last_insert_rowid()).map_err(StoreError::unavailable)
}

/// The shared context of `viewer`'s organization called `name`, not owned by the
/// viewer; the oldest, should several members share one name.
fn shared_context(
    transaction: &Transaction<'_>,
    viewer: &Viewer,
    name: &str,
) -> rusqlite::Result<Option<Context>> {
    let Some(organization_id) = viewer.organization_id else {
        return Ok(None);
    };
    transaction
        .prepare_cached(&format!(
            "SELECT {CONTEXT_COLUMNS} FROM contexts
             WHERE organization_id = ?1 AND visibility = ?2 AND name = ?3 AND owner_id <> ?4
             ORDER BY created_at, id LIMIT 1"
        ))?
        .query_row(
            params![
                organization_id.0,
                Visibility::Organization.as_str(),
                name,
                viewer.user_id.0
            ],
            context_from_row,
        )
        .optional()
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn create_user(
        &self,
        user: NewUser,
        organization: Option<NewOrganization>,
    ) -> StoreResult<(User, Option<Organization>)> {
        self.write(move |transaction| {
            let created_at = OffsetDateTime::now_utc();
            let stamp = timestamp(created_at)?;
            let organization =
                match organization {
                    Some(organization) => {
                        transaction
                        .execute(
                            "INSERT INTO organizations (name, domain, size, industry, created_at)
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![
                                organization.name.as_str(),
                                organization.domain.as_ref().map(OrganizationDetail::as_str),
                                organization.size.as_ref().map(OrganizationDetail::as_str),
                                organization.industry.as_ref().map(OrganizationDetail::as_str),
                                stamp
                            ],
                        )
                        .map_err(StoreError::unavailable)?;
                        Some(Organization {
                            id: OrganizationId(inserted_id(transaction)?),
                            name: organization.name.as_str().to_owned(),
                        })
                    }
                    None => None,
                };
            let account = Account::for_signup(organization.as_ref().map(|created| created.id));
            let inserted = transaction.execute(
                "INSERT INTO users (email, name, password_hash, account_type, role,
                                    organization_id, email_verified, created_at, joined_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, CASE WHEN ?6 IS NULL THEN NULL ELSE ?7 END)",
                params![
                    user.email.as_str(),
                    user.name.as_str(),
                    user.password_hash,
                    account.account_type.as_str(),
                    account.role.as_str(),
                    account.organization_id.map(|id| id.0),
                    stamp
                ],
            );
            match inserted {
                // Returning the error drops the transaction, which takes the
                // organization row (and its id) back with it.
                Err(e) if is_unique_violation(&e) => return Err(StoreError::EmailTaken),
                Err(e) => return Err(StoreError::unavailable(e)),
                Ok(_) => {}
            }
            let user = User::create(
                UserId(inserted_id(transaction)?),
                user.email,
                user.name,
                account,
                created_at,
            );
            Ok((user, organization))
        })
        .await
    }

    async fn credentials(&self, email: &Email) -> StoreResult<Option<Credentials>> {
        let email = email.as_str().to_owned();
        self.run(move |connection| {
            connection
                .prepare_cached(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE email = ?1"
                ))
                .and_then(|mut statement| {
                    statement
                        .query_row([email], credentials_from_row)
                        .optional()
                })
                .map_err(StoreError::unavailable)
        })
        .await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        // SQLite integers are signed; no stored id is this large.
        let Ok(id) = i64::try_from(id.0) else {
            return Ok(None);
        };
        self.run(move |connection| {
            connection
                .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))
                .and_then(|mut statement| {
                    statement.query_row([id], credentials_from_row).optional()
                })
                .map(|found| found.map(|credentials| credentials.user))
                .map_err(StoreError::unavailable)
        })
        .await
    }

    async fn reserve(&self, budgets: &[Budget], window: Window) -> StoreResult<Reservation> {
        let budgets = budgets.to_vec();
        // One IMMEDIATE transaction holds the write lock from the first read, so no
        // concurrent reservation can slip between the check and the increment.
        self.write(move |transaction| {
            let horizon = OffsetDateTime::now_utc().unix_timestamp() - PRUNE_AFTER_SECONDS;
            transaction
                .execute("DELETE FROM rate_hits WHERE window_end < ?1", [horizon])
                .map_err(StoreError::unavailable)?;
            for budget in &budgets {
                let used: i64 = transaction
                    .query_row(
                        "SELECT count FROM rate_hits WHERE key = ?1 AND window_start = ?2",
                        params![budget.key, window.start],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(StoreError::unavailable)?
                    .unwrap_or(0);
                if used >= i64::from(budget.limit) {
                    return Ok(Reservation::Refused);
                }
            }
            for budget in &budgets {
                transaction
                    .execute(
                        "INSERT INTO rate_hits (key, window_start, window_end, count)
                         VALUES (?1, ?2, ?3, 1)
                         ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1",
                        params![budget.key, window.start, window.end()],
                    )
                    .map_err(StoreError::unavailable)?;
            }
            Ok(Reservation::Granted)
        })
        .await
    }

    async fn refund(&self, keys: &[&str], window: Window) -> StoreResult<()> {
        let keys: Vec<String> = keys.iter().map(|key| (*key).to_owned()).collect();
        self.write(move |transaction| {
            for key in &keys {
                transaction
                    .execute(
                        "UPDATE rate_hits SET count = count - 1
                         WHERE key = ?1 AND window_start = ?2 AND count > 0",
                        params![key, window.start],
                    )
                    .map_err(StoreError::unavailable)?;
            }
            Ok(())
        })
        .await
    }

    async fn reset(&self, key: &str, window: Window) -> StoreResult<()> {
        let key = key.to_owned();
        self.run(move |connection| {
            connection
                .execute(
                    "DELETE FROM rate_hits WHERE key = ?1 AND window_start = ?2",
                    params![key, window.start],
                )
                .map(drop)
                .map_err(StoreError::unavailable)
        })
        .await
    }

    async fn revoke_token(&self, token_id: &str, keep_until: i64) -> StoreResult<()> {
        let token_id = token_id.to_owned();
        self.write(move |transaction| {
            // Only records past their `keep_until` go: up to and including that second,
            // verification still accepts the token.
            transaction
                .execute(
                    "DELETE FROM revoked_tokens WHERE expires_at < ?1",
                    params![OffsetDateTime::now_utc().unix_timestamp()],
                )
                .map_err(StoreError::unavailable)?;
            transaction
                .execute(
                    "INSERT OR IGNORE INTO revoked_tokens (token_id, expires_at) VALUES (?1, ?2)",
                    params![token_id, keep_until],
                )
                .map_err(StoreError::unavailable)?;
            Ok(())
        })
        .await
    }

    async fn is_token_revoked(&self, token_id: &str) -> StoreResult<bool> {
        let token_id = token_id.to_owned();
        self.run(move |connection| {
            connection
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE token_id = ?1)",
                    params![token_id],
                    |row| row.get(0),
                )
                .map_err(StoreError::unavailable)
        })
        .await
    }

    async fn create_context(&self, viewer: &Viewer, context: NewContext) -> StoreResult<Context> {
        let viewer = *viewer;
        self.write(move |transaction| {
            let context = Context::create(&viewer, context, OffsetDateTime::now_utc());
            let inserted = transaction.execute(
                "INSERT INTO contexts (id, owner_id, organization_id, name, description,
                                       visibility, created_at, memory_count)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
                params![
                    context.id,
                    context.owner_id.0,
                    context.organization_id.map(|id| id.0),
                    context.name.as_str(),
                    context.description,
                    context.visibility.as_str(),
                    timestamp(context.created_at)?
                ],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict),
                Err(e) => Err(StoreError::unavailable(e)),
                Ok(_) => Ok(context),
            }
        })
        .await
    }

    async fn list_contexts(&self, viewer: &Viewer) -> StoreResult<Vec<Context>> {
        let viewer = *viewer;
        self.read(move |transaction| {
            let mut contexts = transaction
                .prepare_cached(&format!(
                    "SELECT {CONTEXT_COLUMNS} FROM contexts WHERE owner_id = ?1 ORDER BY name"
                ))
                .and_then(|mut statement| {
                    statement
                        .query_map([viewer.user_id.0], context_from_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(StoreError::unavailable)?;
            if let Some(organization_id) = viewer.organization_id {
                let shared = transaction
                    .prepare_cached(&format!(
                        "SELECT {CONTEXT_COLUMNS} FROM contexts
                         WHERE organization_id = ?1 AND visibility = ?2 AND owner_id <> ?3
                         ORDER BY name, created_at, id"
                    ))
                    .and_then(|mut statement| {
                        statement
                            .query_map(
                                params![
                                    organization_id.0,
                                    Visibility::Organization.as_str(),
                                    viewer.user_id.0
                                ],
                                context_from_row,
                            )?
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .map_err(StoreError::unavailable)?;
                contexts.extend(shared);
            }
            Ok(contexts)
        })
        .await
    }

    async fn find_context(
        &self,
        viewer: &Viewer,
        name: &ContextName,
    ) -> StoreResult<Option<Context>> {
        let viewer = *viewer;
        let name = name.as_str().to_owned();
        self.read(move |transaction| {
            let own = transaction
                .prepare_cached(&format!(
                    "SELECT {CONTEXT_COLUMNS} FROM contexts WHERE owner_id = ?1 AND name = ?2"
                ))
                .and_then(|mut statement| {
                    statement
                        .query_row(params![viewer.user_id.0, name], context_from_row)
                        .optional()
                })
                .map_err(StoreError::unavailable)?;
            match own {
                Some(context) => Ok(Some(context)),
                None => {
                    shared_context(transaction, &viewer, &name).map_err(StoreError::unavailable)
                }
            }
        })
        .await
    }

    async fn delete_context(&self, context: &Context) -> StoreResult<()> {
        let id = context.id.clone();
        // The memories go with it through ON DELETE CASCADE, in the same transaction:
        // a process killed midway leaves a journal that rolls the whole delete back, so
        // a context is either there with all its memories or gone with all of them.
        self.write(move |transaction| {
            match transaction
                .execute("DELETE FROM contexts WHERE id = ?1", [id])
                .map_err(StoreError::unavailable)?
            {
                0 => Err(StoreError::NotFound),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn put_memory(&self, context: &Context, memory: NewMemory) -> StoreResult<Memory> {
        let context_id = context.id.clone();
        self.write(move |transaction| {
            let counted = transaction
                .execute(
                    "UPDATE contexts SET memory_count = memory_count + 1 WHERE id = ?1",
                    [&context_id],
                )
                .map_err(StoreError::unavailable)?;
            if counted == 0 {
                return Err(StoreError::NotFound);
            }
            let memory = Memory::create(memory, OffsetDateTime::now_utc());
            let tags = serde_json::to_string(&memory.tags).map_err(StoreError::unavailable)?;
            transaction
                .execute(
                    "INSERT INTO memories (context_id, id, text, tags, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        context_id,
                        memory.id.as_str(),
                        memory.text,
                        tags,
                        timestamp(memory.created_at)?
                    ],
                )
                .map_err(StoreError::unavailable)?;
            Ok(memory)
        })
        .await
    }

    async fn list_memories(
        &self,
        context: &Context,
        limit: usize,
        after: Option<&MemoryId>,
    ) -> StoreResult<MemoryPage> {
        let limit = limit.clamp(1, MAX_PAGE);
        let context_id = context.id.clone();
        let after = after.map(|id| id.as_str().to_owned());
        self.run(move |connection| {
            // One row more than asked tells whether another page follows.
            let fetch = limit + 1;
            let mut memories = match after {
                None => connection
                    .prepare_cached(
                        "SELECT id, text, tags, created_at FROM memories
                         WHERE context_id = ?1 ORDER BY id DESC LIMIT ?2",
                    )
                    .and_then(|mut statement| {
                        statement
                            .query_map(params![context_id, fetch], memory_from_row)?
                            .collect::<rusqlite::Result<Vec<_>>>()
                    }),
                Some(after) => connection
                    .prepare_cached(
                        "SELECT id, text, tags, created_at FROM memories
                         WHERE context_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
                    )
                    .and_then(|mut statement| {
                        statement
                            .query_map(params![context_id, after, fetch], memory_from_row)?
                            .collect::<rusqlite::Result<Vec<_>>>()
                    }),
            }
            .map_err(StoreError::unavailable)?;
            let next = if memories.len() > limit {
                memories.truncate(limit);
                memories.last().map(|memory| memory.id.clone())
            } else {
                None
            };
            Ok(MemoryPage { memories, next })
        })
        .await
    }

    /// One statement stepped row by row, in one turn on the connection, instead of the
    /// default's page after page: a search's thousand candidates cost one store call.
    async fn recent_memories(
        &self,
        context: &Context,
        budget: Candidates,
    ) -> StoreResult<Vec<Memory>> {
        let context_id = context.id.clone();
        let most = i64::try_from(budget.memories).unwrap_or(i64::MAX);
        self.run(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, text, tags, created_at FROM memories
                     WHERE context_id = ?1 ORDER BY id DESC LIMIT ?2",
                )
                .map_err(StoreError::unavailable)?;
            let rows = statement
                .query_map(params![context_id, most], memory_from_row)
                .map_err(StoreError::unavailable)?;
            crate::within_budget(budget, rows).map_err(StoreError::unavailable)
        })
        .await
    }

    async fn delete_memory(&self, context: &Context, id: &MemoryId) -> StoreResult<()> {
        let context_id = context.id.clone();
        let id = id.as_str().to_owned();
        self.write(move |transaction| {
            let deleted = transaction
                .execute(
                    "DELETE FROM memories WHERE context_id = ?1 AND id = ?2",
                    params![context_id, id],
                )
                .map_err(StoreError::unavailable)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            transaction
                .execute(
                    "UPDATE contexts SET memory_count = max(memory_count - 1, 0) WHERE id = ?1",
                    [context_id],
                )
                .map_err(StoreError::unavailable)?;
            Ok(())
        })
        .await
    }

    // --- organizations ---

    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationProfile>> {
        self.read(move |transaction| orgs::organization(transaction, id))
            .await
    }

    async fn members(&self, organization: OrganizationId) -> StoreResult<Vec<Member>> {
        self.read(move |transaction| orgs::members(transaction, organization))
            .await
    }

    async fn create_invitation(&self, invitation: &Invitation) -> StoreResult<()> {
        let invitation = invitation.clone();
        self.write(move |transaction| orgs::create_invitation(transaction, &invitation))
            .await
    }

    async fn invitations(&self, organization: OrganizationId) -> StoreResult<Vec<Invitation>> {
        self.read(move |transaction| orgs::invitations(transaction, organization))
            .await
    }

    async fn invitation(&self, token_hash: &str) -> StoreResult<Option<Invitation>> {
        let token_hash = token_hash.to_owned();
        self.read(move |transaction| orgs::invitation(transaction, &token_hash))
            .await
    }

    async fn revoke_invitation(
        &self,
        organization: OrganizationId,
        invitation_id: &str,
    ) -> StoreResult<()> {
        let id = invitation_id.to_owned();
        self.write(move |transaction| orgs::revoke_invitation(transaction, organization, &id))
            .await
    }

    async fn accept_invitation(
        &self,
        invitation: &Invitation,
        invitee: Invitee,
        now: OffsetDateTime,
    ) -> StoreResult<User> {
        let invitation = invitation.clone();
        self.write(move |transaction| orgs::accept(transaction, &invitation, invitee, now))
            .await
    }

    async fn set_role(
        &self,
        organization: OrganizationId,
        actor: UserId,
        member: UserId,
        role: OrgRole,
    ) -> StoreResult<()> {
        self.write(move |transaction| {
            orgs::set_role(transaction, organization, actor, member, Some(role))
        })
        .await
    }

    async fn remove_member(
        &self,
        organization: OrganizationId,
        actor: UserId,
        member: UserId,
    ) -> StoreResult<()> {
        self.write(move |transaction| {
            orgs::set_role(transaction, organization, actor, member, None)
        })
        .await
    }

    async fn context_of(&self, owner: UserId, name: &ContextName) -> StoreResult<Option<Context>> {
        let name = name.as_str().to_owned();
        self.read(move |transaction| {
            transaction
                .prepare_cached(&format!(
                    "SELECT {CONTEXT_COLUMNS} FROM contexts WHERE owner_id = ?1 AND name = ?2"
                ))
                .and_then(|mut statement| {
                    statement
                        .query_row(params![owner.0, name], context_from_row)
                        .optional()
                })
                .map_err(StoreError::unavailable)
        })
        .await
    }

    // --- sessions ---

    async fn create_session(
        &self,
        session: NewSession,
        now: OffsetDateTime,
    ) -> StoreResult<Session> {
        let session = Session::start(session, now);
        self.write(move |transaction| {
            sessions::create(transaction, &session)?;
            Ok(session)
        })
        .await
    }

    async fn caller(&self, user_id: UserId, id: &SessionId) -> StoreResult<Caller> {
        let id = id.clone();
        self.run(move |connection| sessions::caller(connection, user_id, &id))
            .await
    }

    async fn rotate_session(
        &self,
        session: &Session,
        from: u64,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        let session = session.clone();
        self.write(move |transaction| {
            sessions::rotate(transaction, &session, from, now.unix_timestamp())
        })
        .await
    }

    async fn end_session(
        &self,
        user_id: UserId,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let id = id.clone();
        self.write(move |transaction| {
            sessions::end(transaction, user_id, &id, now.unix_timestamp())
        })
        .await
    }

    async fn end_sessions(
        &self,
        user_id: UserId,
        except: Option<&SessionId>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let except = except.cloned();
        self.write(move |transaction| {
            sessions::end_all(transaction, user_id, except.as_ref(), now.unix_timestamp())
        })
        .await
    }

    async fn list_sessions(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Session>> {
        self.run(move |connection| sessions::list(connection, user_id, now.unix_timestamp()))
            .await
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
        self.insert_client(client).await
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>> {
        self.find_client(client_id).await
    }

    async fn put_authorization_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        self.insert_code(code).await
    }

    async fn use_authorization_code(
        &self,
        digest: &str,
        now: i64,
    ) -> StoreResult<Option<AuthorizationCode>> {
        self.take_code(digest, now).await
    }

    async fn create_grant(&self, grant: &Grant) -> StoreResult<()> {
        self.insert_grant(grant).await
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
        self.insert_activity(entry).await
    }

    async fn context_activity(
        &self,
        owner: UserId,
        name: &ContextName,
        limit: usize,
        before: Option<&str>,
    ) -> StoreResult<ActivityPage> {
        self.activity_of_context(owner, name, limit, before).await
    }

    async fn grant_activity(
        &self,
        user_id: UserId,
        grant_id: &GrantId,
        limit: usize,
        before: Option<&str>,
    ) -> StoreResult<ActivityPage> {
        self.activity_of_grant(user_id, grant_id, limit, before)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_file_keeps_its_data_across_reopening() {
        let directory = std::env::temp_dir().join(format!("store-{}", ulid::Ulid::new()));
        let path = directory.join("nested").join("mem0.sqlite3");
        let email = Email::parse("keep@example.com").expect("valid email");
        let created = {
            let store = EmbeddedStore::open(&path).expect("open a new file");
            let user = NewUser {
                email: email.clone(),
                name: crate::DisplayName::parse("Keep", "name").expect("valid name"),
                password_hash: "hash".to_owned(),
            };
            store.create_user(user, None).await.expect("create").0
        };
        let reopened = EmbeddedStore::open(&path).expect("reopen the file");
        let found = reopened.credentials(&email).await.expect("read");
        assert_eq!(found.map(|credentials| credentials.user), Some(created));
        drop(reopened);
        std::fs::remove_dir_all(&directory).expect("clean up");
    }

    #[tokio::test]
    async fn a_refused_organization_signup_leaves_no_organization_behind() {
        let store = EmbeddedStore::in_memory().expect("open");
        let email = Email::parse("first@example.com").expect("valid email");
        let user = |name: &str| NewUser {
            email: email.clone(),
            name: crate::DisplayName::parse(name, "name").expect("valid name"),
            password_hash: "hash".to_owned(),
        };
        let organization = NewOrganization {
            name: crate::DisplayName::parse("Ghost Inc", "name").expect("valid name"),
            domain: None,
            size: None,
            industry: None,
        };
        store
            .create_user(user("First"), None)
            .await
            .expect("create");
        let again = store.create_user(user("Second"), Some(organization)).await;
        assert!(matches!(again, Err(StoreError::EmailTaken)), "{again:?}");

        let organizations: i64 = store
            .run(|connection| {
                connection
                    .query_row("SELECT count(*) FROM organizations", [], |row| row.get(0))
                    .map_err(StoreError::unavailable)
            })
            .await
            .expect("count");
        assert_eq!(organizations, 0);
    }
}
