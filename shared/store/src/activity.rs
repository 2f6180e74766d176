//! The activity trail: what agents did under their grants, for the context's owner
//! (the context view) and for the user who granted (the per-app view).
//!
//! An entry says who, what and how many, never what: no memory text, no token. Entries
//! are kept [`ACTIVITY_RETENTION_SECONDS`] and are never returned past that, whether or
//! not the store has removed them yet. Deleting a context leaves its entries until they
//! expire (a context re-created under the name shows them: they were about that name).

use crate::{ContextName, GrantId, UserId};

/// How long an entry is kept and shown.
pub const ACTIVITY_RETENTION_SECONDS: i64 = 90 * 24 * 60 * 60;

/// Most entries one page holds.
pub const MAX_ACTIVITY_PAGE: usize = 100;

/// One thing an agent did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityEntry {
    /// A ULID made at `at`: entries are ordered by it, newest first.
    pub id: String,
    /// Whose grant it was done under.
    pub user_id: UserId,
    pub grant_id: GrantId,
    pub client_name: String,
    /// The tool's name (`recall`, `remember`, ...) or the route
    /// (`GET /contexts/{name}/memories`).
    pub action: String,
    /// The context it was done on (owner and name); `None` for e.g. `list_contexts`.
    pub context: Option<(UserId, ContextName)>,
    /// Memories returned or changed.
    pub count: u32,
    pub at: i64,
}

/// Entries newest first, and the cursor of the next page (`before` of the next call)
/// when more follow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityPage {
    pub entries: Vec<ActivityEntry>,
    /// The last entry's id, set only when older entries follow.
    pub next: Option<String>,
}

#[cfg(any(feature = "dynamodb", feature = "embedded"))]
impl ActivityPage {
    /// How many entries a store reads for a page of `limit`: one more than the page
    /// (capped at [`MAX_ACTIVITY_PAGE`], zero meaning one), to tell whether more follow.
    pub(crate) fn read_size(limit: usize) -> usize {
        limit.clamp(1, MAX_ACTIVITY_PAGE) + 1
    }

    /// The page of `limit` entries out of what a store read (newest first, at most
    /// `read_size(limit)`).
    pub(crate) fn from_read(mut entries: Vec<ActivityEntry>, limit: usize) -> Self {
        let limit = limit.clamp(1, MAX_ACTIVITY_PAGE);
        let more = entries.len() > limit;
        entries.truncate(limit);
        let next = more
            .then(|| entries.last().map(|entry| entry.id.clone()))
            .flatten();
        Self { entries, next }
    }
}

/// Whether an entry made at `at` is still shown at `now`.
#[cfg(any(feature = "dynamodb", feature = "embedded"))]
pub(crate) fn retained(at: i64, now: i64) -> bool {
    at.saturating_add(ACTIVITY_RETENTION_SECONDS) > now
}
