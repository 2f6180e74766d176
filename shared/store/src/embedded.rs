//! The store as one SQLite file, for local-dev (and, in memory, for tests).
//!
//! One connection behind a mutex: SQLite serialises writers anyway, and every call
//! runs on the blocking pool so the async runtime never waits on disk.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::{
    AccountType, Budget, Context, ContextName, Credentials, Email, MAX_PAGE, Memory, MemoryId,
    MemoryPage, NewContext, NewMemory, NewOrganization, NewUser, Organization, OrganizationId,
    Reservation, Role, Store, StoreError, StoreResult, User, UserId, Viewer, Visibility, Window,
};

/// How long a statement waits for another process (e.g. a second local-dev) to let go
/// of the file before giving up as `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Rate-limit windows that ended this long ago are deleted; the grace keeps a window
/// that a slow request computed just before it closed.
const PRUNE_AFTER_SECONDS: i64 = 3600;

/// Fixed width (nine fractional digits) so that the text sorts as the instant does.
const TIMESTAMP: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");

/// Schema upgrades, one per version (`PRAGMA user_version`). Append; never edit one
/// that has shipped, since existing files have already run it.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE organizations (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT NOT NULL,
        domain      TEXT,
        size        TEXT,
        industry    TEXT,
        created_at  TEXT NOT NULL
    );

    CREATE TABLE users (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        email           TEXT NOT NULL UNIQUE,
        name            TEXT NOT NULL,
        password_hash   TEXT NOT NULL,
        account_type    TEXT NOT NULL,
        role            TEXT NOT NULL,
        organization_id INTEGER REFERENCES organizations (id),
        email_verified  INTEGER NOT NULL DEFAULT 0,
        created_at      TEXT NOT NULL
    );

    -- The owner is not a foreign key: the store trusts the Viewer, as DynamoDB does.
    CREATE TABLE contexts (
        id              TEXT PRIMARY KEY,
        owner_id        INTEGER NOT NULL,
        organization_id INTEGER,
        name            TEXT NOT NULL,
        description     TEXT NOT NULL,
        visibility      TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        memory_count    INTEGER NOT NULL DEFAULT 0,
        UNIQUE (owner_id, name)
    );
    CREATE INDEX contexts_shared ON contexts (organization_id, visibility, name);

    CREATE TABLE memories (
        context_id  TEXT NOT NULL REFERENCES contexts (id) ON DELETE CASCADE,
        id          TEXT NOT NULL,
        text        TEXT NOT NULL,
        tags        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (context_id, id)
    ) WITHOUT ROWID;

    CREATE TABLE rate_hits (
        key           TEXT NOT NULL,
        window_start  INTEGER NOT NULL,
        window_end    INTEGER NOT NULL,
        count         INTEGER NOT NULL,
        PRIMARY KEY (key, window_start)
    ) WITHOUT ROWID;
    CREATE INDEX rate_hits_by_end ON rate_hits (window_end);
"#,
    r#"
    CREATE TABLE revoked_tokens (
        token_id    TEXT PRIMARY KEY,
        expires_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
"#,
];

const USER_COLUMNS: &str = "id, email, name, account_type, role, organization_id, \
                            email_verified, created_at, password_hash";

const CONTEXT_COLUMNS: &str =
    "id, owner_id, organization_id, name, description, visibility, created_at, memory_count";

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
        #[cfg(unix)]
        fn make_private(path: &Path) -> std::io::Result<()> {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
            if let Some(parent) = path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
            {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)?;
            }
            // Created here because SQLite would create it 0644.
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)?;
            // Files from a build before this rule, or companions a crash left behind.
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                let mode = match std::fs::metadata(&file) {
                    Ok(metadata) => metadata.permissions().mode(),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(error),
                };
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))?;
                }
            }
            Ok(())
        }
        #[cfg(not(unix))]
        fn make_private(path: &Path) -> std::io::Result<()> {
            match path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
            {
                Some(parent) => std::fs::create_dir_all(parent),
                None => Ok(()),
            }
        }
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

fn migrate(connection: &mut Connection) -> StoreResult<()> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::unavailable)?;
    let version: usize = transaction
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(StoreError::unavailable)?;
    let Some(pending) = MIGRATIONS.get(version..) else {
        return Err(StoreError::unavailable(format!(
            "the database has schema version {version}, newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    };
    for migration in pending {
        transaction
            .execute_batch(migration)
            .map_err(StoreError::unavailable)?;
    }
    transaction
        .pragma_update(None, "user_version", MIGRATIONS.len())
        .map_err(StoreError::unavailable)?;
    transaction.commit().map_err(StoreError::unavailable)
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

fn timestamp(at: OffsetDateTime) -> StoreResult<String> {
    at.to_offset(UtcOffset::UTC)
        .format(TIMESTAMP)
        .map_err(StoreError::unavailable)
}

/// A stored value this build cannot read back; reported as `Unavailable`.
fn corrupt(column: usize, cause: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, cause.to_string().into())
}

fn timestamp_at(row: &Row<'_>, column: usize) -> rusqlite::Result<OffsetDateTime> {
    let raw: String = row.get(column)?;
    OffsetDateTime::parse(&raw, &Rfc3339).map_err(|e| corrupt(column, e))
}

fn inserted_id(transaction: &Transaction<'_>) -> StoreResult<u64> {
    u64::try_from(transaction.last_insert_rowid()).map_err(StoreError::unavailable)
}

fn credentials_from_row(row: &Row<'_>) -> rusqlite::Result<Credentials> {
    let email: String = row.get(1)?;
    let account_type: String = row.get(3)?;
    let role: String = row.get(4)?;
    let user = User {
        id: UserId(row.get(0)?),
        email: Email::parse(&email).map_err(|e| corrupt(1, e))?,
        name: row.get(2)?,
        account_type: AccountType::parse(&account_type)
            .ok_or_else(|| corrupt(3, format!("unknown account type {account_type:?}")))?,
        role: Role::parse(&role).ok_or_else(|| corrupt(4, format!("unknown role {role:?}")))?,
        organization_id: row.get::<_, Option<u64>>(5)?.map(OrganizationId),
        email_verified: row.get(6)?,
        created_at: timestamp_at(row, 7)?,
    };
    Ok(Credentials {
        user,
        password_hash: row.get(8)?,
    })
}

fn context_from_row(row: &Row<'_>) -> rusqlite::Result<Context> {
    let name: String = row.get(3)?;
    let visibility: String = row.get(5)?;
    Ok(Context {
        id: row.get(0)?,
        owner_id: UserId(row.get(1)?),
        organization_id: row.get::<_, Option<u64>>(2)?.map(OrganizationId),
        name: ContextName::parse(&name).map_err(|e| corrupt(3, e))?,
        description: row.get(4)?,
        visibility: Visibility::parse(&visibility).map_err(|e| corrupt(5, e))?,
        created_at: timestamp_at(row, 6)?,
        memory_count: row.get(7)?,
    })
}

fn memory_from_row(row: &Row<'_>) -> rusqlite::Result<Memory> {
    let id: String = row.get(0)?;
    let tags: String = row.get(2)?;
    Ok(Memory {
        id: MemoryId::parse(&id).map_err(|e| corrupt(0, e))?,
        text: row.get(1)?,
        tags: serde_json::from_str(&tags).map_err(|e| corrupt(2, e))?,
        created_at: timestamp_at(row, 3)?,
    })
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
            let organization = match organization {
                Some(organization) => {
                    transaction
                        .execute(
                            "INSERT INTO organizations (name, domain, size, industry, created_at)
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![
                                organization.name.as_str(),
                                organization.domain,
                                organization.size,
                                organization.industry,
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
            let (account_type, role) = match organization {
                Some(_) => (AccountType::OrganizationAdmin, Role::Admin),
                None => (AccountType::Individual, Role::User),
            };
            let organization_id = organization.as_ref().map(|organization| organization.id);
            let inserted = transaction.execute(
                "INSERT INTO users (email, name, password_hash, account_type, role,
                                    organization_id, email_verified, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
                params![
                    user.email.as_str(),
                    user.name.as_str(),
                    user.password_hash,
                    account_type.as_str(),
                    role.as_str(),
                    organization_id.map(|id| id.0),
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
            let user = User {
                id: UserId(inserted_id(transaction)?),
                email: user.email,
                name: user.name.as_str().to_owned(),
                account_type,
                role,
                organization_id,
                email_verified: false,
                created_at,
            };
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
            let memory = Memory {
                id: MemoryId::generate(),
                text: memory.text,
                tags: memory.tags,
                created_at: OffsetDateTime::now_utc(),
            };
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

    #[test]
    fn a_file_from_a_newer_build_is_refused() {
        let directory = std::env::temp_dir().join(format!("store-{}", ulid::Ulid::new()));
        let path = directory.join("mem0.sqlite3");
        drop(EmbeddedStore::open(&path).expect("create"));
        Connection::open(&path)
            .and_then(|connection| connection.pragma_update(None, "user_version", 99))
            .expect("bump the version");
        assert!(matches!(
            EmbeddedStore::open(&path),
            Err(StoreError::Unavailable(_))
        ));
        std::fs::remove_dir_all(&directory).expect("clean up");
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_and_its_wal_files_are_readable_by_their_owner_only() {
        let directory = std::env::temp_dir().join(format!("store-{}", ulid::Ulid::new()));
        let path = directory.join("nested").join("mem0.sqlite3");
        let store = EmbeddedStore::open(&path).expect("open a new file");
        let user = NewUser {
            email: Email::parse("private@example.com").expect("valid email"),
            name: crate::DisplayName::parse("Private", "name").expect("valid name"),
            password_hash: "hash".to_owned(),
        };
        store.create_user(user, None).await.expect("create");
        assert_eq!(mode(&directory.join("nested")), 0o700, "the new directory");
        for name in ["mem0.sqlite3", "mem0.sqlite3-wal", "mem0.sqlite3-shm"] {
            assert_eq!(mode(&directory.join("nested").join(name)), 0o600, "{name}");
        }
        drop(store);
        std::fs::remove_dir_all(&directory).expect("clean up");
    }

    #[cfg(unix)]
    #[test]
    fn opening_a_world_readable_database_makes_it_private() {
        use std::os::unix::fs::PermissionsExt;
        let directory = std::env::temp_dir().join(format!("store-{}", ulid::Ulid::new()));
        let path = directory.join("mem0.sqlite3");
        drop(EmbeddedStore::open(&path).expect("create"));
        // As an earlier build left them, companions included (a crash keeps those).
        let wal = directory.join("mem0.sqlite3-wal");
        std::fs::write(&wal, b"").expect("stale wal");
        for file in [&path, &wal] {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let store = EmbeddedStore::open(&path).expect("reopen");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&wal), 0o600);
        drop(store);
        std::fs::remove_dir_all(&directory).expect("clean up");
    }

    #[test]
    fn timestamps_sort_as_text_in_time_order() {
        let whole = time::macros::datetime!(2026-01-01 00:00:05 UTC);
        let later = whole + time::Duration::milliseconds(500);
        let (whole, later) = (
            timestamp(whole).expect("format"),
            timestamp(later).expect("format"),
        );
        assert!(whole < later, "{whole} should sort before {later}");
        assert_eq!(
            OffsetDateTime::parse(&later, &Rfc3339).expect("RFC 3339"),
            time::macros::datetime!(2026-01-01 00:00:05.5 UTC)
        );
    }
}
