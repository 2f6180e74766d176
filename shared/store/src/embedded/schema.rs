//! The schema, as migrations run in order when a file is opened.

use rusqlite::{Connection, TransactionBehavior};

use crate::{StoreError, StoreResult};

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
    r#"
    ALTER TABLE users ADD COLUMN joined_at TEXT;
    UPDATE users SET joined_at = created_at WHERE organization_id IS NOT NULL;
    CREATE INDEX users_by_organization ON users (organization_id);

    -- Only the token's SHA-256 digest is kept; a row goes when it is used or revoked.
    CREATE TABLE invitations (
        id              TEXT PRIMARY KEY,
        token_hash      TEXT NOT NULL UNIQUE,
        organization_id INTEGER NOT NULL REFERENCES organizations (id),
        email           TEXT NOT NULL,
        role            TEXT NOT NULL,
        invited_by      INTEGER NOT NULL,
        created_at      TEXT NOT NULL,
        expires_at      TEXT NOT NULL
    );
    CREATE INDEX invitations_by_organization ON invitations (organization_id, created_at);
"#,
    r#"
    -- Login sessions (see store::session); times are Unix seconds.
    CREATE TABLE sessions (
        id               TEXT PRIMARY KEY,
        user_id          INTEGER NOT NULL,
        user_agent       TEXT,
        address          TEXT,
        created_at       INTEGER NOT NULL,
        last_used_at     INTEGER NOT NULL,
        expires_at       INTEGER NOT NULL,
        idle_expires_at  INTEGER NOT NULL,
        idle_seconds     INTEGER NOT NULL,
        counter          INTEGER NOT NULL,
        rotated_at       INTEGER,
        ended_at         INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_user ON sessions (user_id, id);
"#,
    r#"
    CREATE TABLE one_time_tokens (
        digest      TEXT PRIMARY KEY,
        purpose     TEXT NOT NULL,
        user_id     INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        stamp       TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX one_time_tokens_by_expiry ON one_time_tokens (expires_at);
"#,
    r#"
    -- The OAuth server (see store::oauth, store::grant); times are Unix seconds.
    CREATE TABLE oauth_clients (
        client_id      TEXT PRIMARY KEY,
        client_name    TEXT NOT NULL,
        redirect_uris  TEXT NOT NULL,
        created_at     INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- Only the code's SHA-256 digest is kept; a row goes when it is used, or expired.
    CREATE TABLE authorization_codes (
        digest          TEXT PRIMARY KEY,
        client_id       TEXT NOT NULL,
        redirect_uri    TEXT NOT NULL,
        code_challenge  TEXT NOT NULL,
        resource        TEXT NOT NULL,
        user_id         INTEGER NOT NULL,
        scopes          TEXT NOT NULL,
        contexts        TEXT NOT NULL,
        expires_at      INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);

    CREATE TABLE grants (
        id            TEXT PRIMARY KEY,
        user_id       INTEGER NOT NULL,
        client_id     TEXT NOT NULL,
        client_name   TEXT NOT NULL,
        scopes        TEXT NOT NULL,
        contexts      TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        last_used_at  INTEGER NOT NULL,
        generation    INTEGER NOT NULL,
        revoked_at    INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX grants_by_user ON grants (user_id, id);
    CREATE INDEX grants_revoked ON grants (revoked_at) WHERE revoked_at IS NOT NULL;

    -- The activity trail (see store::activity): one row, read by grant or by context.
    CREATE TABLE activity (
        id             TEXT PRIMARY KEY,
        user_id        INTEGER NOT NULL,
        grant_id       TEXT NOT NULL,
        client_name    TEXT NOT NULL,
        action         TEXT NOT NULL,
        context_owner  INTEGER,
        context_name   TEXT,
        count          INTEGER NOT NULL,
        at             INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX activity_by_grant ON activity (user_id, grant_id, id);
    CREATE INDEX activity_by_context ON activity (context_owner, context_name, id)
        WHERE context_owner IS NOT NULL;
    CREATE INDEX activity_by_time ON activity (at);
"#,
];

pub(super) fn migrate(connection: &mut Connection) -> StoreResult<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::EmbeddedStore;

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
}
