//! The store speaks the domain: `create_user`, `put_memory`, `list_memories`, ... .
//! Two implementations share one conformance suite (`tests/conformance/mod.rs`):
//! DynamoDB for the deployed Lambdas and an embedded SQLite file for local-dev.

pub mod domain;
#[cfg(feature = "dynamodb")]
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod search;
pub mod usage;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use domain::*;
pub use usage::Usage;

/// Largest page `list_memories` returns; callers ask for at most this many.
pub const MAX_PAGE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the email already has an account")]
    EmailTaken,
    #[error("a context with this name already exists")]
    Conflict,
    #[error("not found")]
    NotFound,
    /// The backing store failed or could not be reached. The cause is for logs only.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        Self::Unavailable(cause.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A fixed rate-limit window: `[start, start + seconds)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub seconds: u32,
}

impl Window {
    pub fn containing(now: OffsetDateTime, seconds: u32) -> Self {
        let now = now.unix_timestamp();
        let length = i64::from(seconds.max(1));
        Self {
            start: now - now.rem_euclid(length),
            seconds: seconds.max(1),
        }
    }

    pub fn end(&self) -> i64 {
        self.start + i64::from(self.seconds)
    }
}

/// At most `limit` attempts of `key` per window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub key: String,
    pub limit: u32,
}

/// The outcome of [`Store::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Granted,
    /// At least one budget was spent; nothing was taken from any of them.
    Refused,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a user, and for organization signups its organization with the user as
    /// admin, all or nothing. Allocates the numeric ids atomically. However many
    /// concurrent calls race for one email, exactly one succeeds; the others get
    /// `EmailTaken` and change nothing.
    async fn create_user(
        &self,
        user: NewUser,
        organization: Option<NewOrganization>,
    ) -> StoreResult<(User, Option<Organization>)>;

    /// The user with this (already normalised) email and their password hash.
    async fn credentials(&self, email: &Email) -> StoreResult<Option<Credentials>>;

    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;

    /// Takes one attempt from every budget in `window`, all or none, decided by the
    /// store in one atomic step: `Granted` only if each budget had room. However many
    /// concurrent calls race for a budget, at most `limit` of them are granted.
    async fn reserve(&self, budgets: &[Budget], window: Window) -> StoreResult<Reservation>;

    /// Gives back one attempt of each budget named in `keys` (e.g. the attempt a
    /// successful login reserved, since only failures should count). Never below zero.
    async fn refund(&self, keys: &[&str], window: Window) -> StoreResult<()>;

    /// Forgets every attempt of the budget `key` in `window`.
    async fn reset(&self, key: &str, window: Window) -> StoreResult<()>;

    /// Refuses the token with this id (its `jti`) from now on. `keep_until` is the last
    /// Unix second at which verification would still accept the token (its `exp` plus
    /// the verifier's clock-skew leeway, `Claims::accepted_until`): the record is kept at
    /// least through that second and may be forgotten after it, when the token is dead
    /// anyway. Revoking twice is fine.
    async fn revoke_token(&self, token_id: &str, keep_until: i64) -> StoreResult<()>;

    /// Whether the token with this id has been revoked: always, through the `keep_until`
    /// it was revoked with.
    async fn is_token_revoked(&self, token_id: &str) -> StoreResult<bool>;

    /// Creates a context owned by `viewer`. `Conflict` when the owner already has one
    /// with this name.
    async fn create_context(&self, viewer: &Viewer, context: NewContext) -> StoreResult<Context>;

    /// The viewer's own contexts, then the contexts other members shared with the
    /// viewer's organization; each group sorted by name.
    async fn list_contexts(&self, viewer: &Viewer) -> StoreResult<Vec<Context>>;

    /// The viewer's own context with this name, else one shared with the viewer's
    /// organization (the oldest, should several members share the same name).
    async fn find_context(
        &self,
        viewer: &Viewer,
        name: &ContextName,
    ) -> StoreResult<Option<Context>>;

    /// Deletes the context and all its memories. `NotFound` if it is already gone.
    async fn delete_context(&self, context: &Context) -> StoreResult<()>;

    /// Adds a memory and counts it in the context's `memory_count`, atomically.
    /// `NotFound` if the context has been deleted meanwhile.
    async fn put_memory(&self, context: &Context, memory: NewMemory) -> StoreResult<Memory>;

    /// Newest first, at most `limit` (capped at `MAX_PAGE`), continuing after `after`.
    /// `next` is set only when more memories follow.
    async fn list_memories(
        &self,
        context: &Context,
        limit: usize,
        after: Option<&MemoryId>,
    ) -> StoreResult<MemoryPage>;

    /// Removes one memory and uncounts it, atomically. `NotFound` if it is not in this
    /// context.
    async fn delete_memory(&self, context: &Context, id: &MemoryId) -> StoreResult<()>;

    /// Up to `max` newest memories, the candidates a search ranks.
    async fn recent_memories(&self, context: &Context, max: usize) -> StoreResult<Vec<Memory>> {
        let mut found = Vec::new();
        let mut after = None;
        while found.len() < max {
            let page = self
                .list_memories(context, (max - found.len()).min(MAX_PAGE), after.as_ref())
                .await?;
            found.extend(page.memories);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn windows_are_aligned_to_their_length() {
        let window = Window::containing(datetime!(2026-01-01 00:07:30 UTC), 600);
        assert_eq!(window.start % 600, 0);
        assert_eq!(window.end() - window.start, 600);
        assert!(window.start <= datetime!(2026-01-01 00:07:30 UTC).unix_timestamp());
        assert!(window.end() > datetime!(2026-01-01 00:07:30 UTC).unix_timestamp());
    }
}
