//! The store speaks the domain: `create_user`, `put_memory`, `list_memories`, ... .
//! Two implementations share one conformance suite (`tests/conformance/mod.rs`):
//! DynamoDB for the deployed Lambdas and an embedded SQLite file for local-dev.

pub mod activity;
#[cfg(feature = "dynamodb")]
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod grant;
pub mod oauth;
pub mod onetime;
pub mod search;
pub mod session;
pub mod usage;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use activity::{ACTIVITY_RETENTION_SECONDS, ActivityEntry, ActivityPage, MAX_ACTIVITY_PAGE};
pub use domain::{
    Account, AccountType, Context, ContextName, ContextRef, Credentials, Description, DisplayName,
    Email, GrantContexts, Invitation, Invitee, Member, Membership, Memory, MemoryId, MemoryPage,
    MemoryText, NewContext, NewMemory, NewOrganization, NewUser, OrgRole, Organization,
    OrganizationDetail, OrganizationId, OrganizationProfile, ParseError, Role, Scope, Scopes, Tags,
    User, UserId, Viewer, Visibility,
};
pub use grant::{Grant, GrantId, MAX_LISTED_GRANTS};
pub use oauth::{AuthorizationCode, GrantRotation, OAuthClient};
pub use onetime::{NewOneTime, Purpose, UsedOneTime};
pub use session::{Caller, ClientDescription, NewSession, Session, SessionId};
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
    /// The invitation was used, revoked or has expired (or never was).
    #[error("the invitation is no longer valid")]
    InvitationGone,
    /// The user belongs to an organization already; one is the most a user has.
    #[error("the user belongs to an organization already")]
    InOrganization,
    /// The change would leave the organization without an admin.
    #[error("the organization's last admin")]
    LastAdmin,
    /// The one asking for the change is no longer an admin of the organization.
    #[error("not an admin of the organization")]
    NotAdmin,
    /// The member's role changed while the change was being made; nothing was written.
    #[error("the membership changed meanwhile")]
    Changed,
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

    // --- organizations ---

    /// The organization's profile.
    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<OrganizationProfile>>;

    /// The organization's members, by user id. Read from an index on DynamoDB, so a
    /// change may take a moment to show; authorization never reads this list.
    async fn members(&self, organization: OrganizationId) -> StoreResult<Vec<Member>>;

    /// Stores a pending invitation, findable by its token's digest and listed under its
    /// organization.
    async fn create_invitation(&self, invitation: &Invitation) -> StoreResult<()>;

    /// The organization's invitations not yet used or revoked (expired ones included
    /// until the store forgets them; the caller tells them apart).
    async fn invitations(&self, organization: OrganizationId) -> StoreResult<Vec<Invitation>>;

    /// The invitation whose token has this SHA-256 digest (hex), if not used or revoked.
    async fn invitation(&self, token_hash: &str) -> StoreResult<Option<Invitation>>;

    /// Revokes a pending invitation of the organization. `NotFound` when there is none
    /// with this id in this organization.
    async fn revoke_invitation(
        &self,
        organization: OrganizationId,
        invitation_id: &str,
    ) -> StoreResult<()>;

    /// Uses up `invitation` and makes `invitee` a member with its role, all or nothing:
    /// `InvitationGone` unless it is still there and unexpired at `now` (so of any number
    /// of concurrent acceptances one wins), `InOrganization` when an existing invitee
    /// belongs to an organization, `EmailTaken` when a new invitee's email has an
    /// account. A new invitee's account is for the invited email, already verified.
    async fn accept_invitation(
        &self,
        invitation: &Invitation,
        invitee: Invitee,
        now: OffsetDateTime,
    ) -> StoreResult<User>;

    /// Gives `member` of `organization` the `role`, decided atomically: `NotFound` if
    /// they are not a member, `NotAdmin` if `actor` is not (or no longer) an admin of it,
    /// `LastAdmin` if it would leave the organization without an admin.
    async fn set_role(
        &self,
        organization: OrganizationId,
        actor: UserId,
        member: UserId,
        role: OrgRole,
    ) -> StoreResult<()>;

    /// Takes `member` out of `organization` (they keep their account and private
    /// contexts): by an admin `actor`, or by the member themselves (`actor == member`,
    /// leaving). Errors as for `set_role`.
    async fn remove_member(
        &self,
        organization: OrganizationId,
        actor: UserId,
        member: UserId,
    ) -> StoreResult<()>;

    /// The live context `name` of `owner`, whoever asks: the caller decides who may see it.
    async fn context_of(&self, owner: UserId, name: &ContextName) -> StoreResult<Option<Context>>;

    /// The newest memories within `budget`, newest first: the candidates a search ranks.
    async fn recent_memories(
        &self,
        context: &Context,
        budget: Candidates,
    ) -> StoreResult<Vec<Memory>> {
        let mut read = CandidateRead::new(budget);
        while let Some(limit) = read.next_limit() {
            let page = self.list_memories(context, limit, read.after()).await?;
            read.take(page);
        }
        Ok(read.found)
    }

    // --- sessions (see `session`) ---

    /// Stores a new session, live from `now`.
    async fn create_session(
        &self,
        session: NewSession,
        now: OffsetDateTime,
    ) -> StoreResult<Session>;

    /// The user's account and their session `id`, in one read: the check every
    /// authenticated request makes. Strongly consistent, so a session ended on another
    /// instance is seen as ended.
    async fn caller(&self, user_id: UserId, id: &SessionId) -> StoreResult<Caller>;

    /// Moves the session from generation `from` to `from + 1` (and its last use and
    /// idle expiry to `now`), provided that it is still at `from` and live at `now`, in
    /// one conditional write. `None` when that condition failed: another refresh won,
    /// or the session ended or expired. However many calls race with one `from`, at
    /// most one gets `Some`.
    async fn rotate_session(
        &self,
        session: &Session,
        from: u64,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Session>>;

    /// Ends the user's session `id`. `false` if the user has no such live session.
    async fn end_session(
        &self,
        user_id: UserId,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Ends every live session of the user but `except` (e.g. the one changing the
    /// password). Sessions started while this runs may survive it.
    async fn end_sessions(
        &self,
        user_id: UserId,
        except: Option<&SessionId>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// The user's sessions live at `now`, newest first.
    async fn list_sessions(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Session>>;

    // --- mail: one-time tokens, email verification, password changes ---

    /// Keeps a one-time token (by its digest) until its `expires_at`.
    async fn put_one_time(&self, token: NewOneTime) -> StoreResult<()>;

    /// Uses up the token with this digest, provided it is for `purpose` and `now` (Unix
    /// seconds) is before its `expires_at`, in one atomic step: of any number of
    /// concurrent calls for one token, exactly one gets it. `None` for an unknown, used,
    /// expired or other-purpose token.
    async fn use_one_time(
        &self,
        digest: &str,
        purpose: Purpose,
        now: i64,
    ) -> StoreResult<Option<UsedOneTime>>;

    /// Marks the user's email as verified; verifying twice is fine. `NotFound` when
    /// there is no such user.
    async fn mark_email_verified(&self, user: UserId) -> StoreResult<()>;

    /// Replaces the password hash of the account with this email, provided it is still
    /// `current`, in one atomic step; `false` (and nothing changed) when it is not, e.g.
    /// a concurrent change won, or when there is no such account.
    async fn replace_password_hash(
        &self,
        email: &Email,
        current: &str,
        new: String,
    ) -> StoreResult<bool>;

    // --- oauth (see `oauth` and `grant`) ---

    /// Stores a client. `Conflict` if one with its `client_id` exists.
    async fn register_client(&self, client: &OAuthClient) -> StoreResult<()>;

    async fn client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>>;

    /// Keeps an authorization code (by its digest) until its `expires_at`.
    async fn put_authorization_code(&self, code: &AuthorizationCode) -> StoreResult<()>;

    /// Deletes the code atomically and returns it, once: `None` if unknown, already
    /// used, or expired (`expires_at <= now`). Of concurrent uses of one code exactly
    /// one gets `Some`.
    async fn use_authorization_code(
        &self,
        digest: &str,
        now: i64,
    ) -> StoreResult<Option<AuthorizationCode>>;

    /// Stores a new grant. `Conflict` if its id exists.
    async fn create_grant(&self, grant: &Grant) -> StoreResult<()>;

    /// The user and their grant `id`, in one strongly consistent read: `None` if either
    /// is missing. Revoked grants are returned (with `revoked_at`) so that the caller
    /// can tell; the API refuses them.
    async fn grant_caller(
        &self,
        user_id: UserId,
        id: &GrantId,
    ) -> StoreResult<Option<(User, Grant)>>;

    /// Moves the grant from generation `from` to `from + 1` (and `last_used_at` to
    /// `now`), provided it is at `from` and not revoked, in one conditional write. A
    /// live grant at another generation was refreshed with an old token: it is revoked
    /// and the answer is `Reused`. Of concurrent rotations with one `from` exactly one
    /// is `Rotated`; the others are `Reused` (or `Gone`, once another of them revoked
    /// the grant), and the grant ends revoked: a replayed refresh token ends the grant.
    async fn rotate_grant(
        &self,
        user_id: UserId,
        id: &GrantId,
        from: u64,
        now: i64,
    ) -> StoreResult<GrantRotation>;

    /// Sets `revoked_at` if the grant is live; `true` if this call revoked it.
    async fn revoke_grant(&self, user_id: UserId, id: &GrantId, now: i64) -> StoreResult<bool>;

    /// The user's live grants, newest first, at most [`MAX_LISTED_GRANTS`].
    async fn list_grants(&self, user_id: UserId) -> StoreResult<Vec<Grant>>;

    /// `last_used_at = now`, only if the stored value is older than
    /// `now - TOUCH_INTERVAL_SECONDS` (one cheap conditional write: at most one a
    /// minute per grant, whatever the request rate) and the grant is live. No error if
    /// the grant is gone.
    async fn touch_grant(&self, user_id: UserId, id: &GrantId, now: i64) -> StoreResult<()>;

    // --- activity (see `activity`) ---

    /// Records an entry in its grant's view and, if it names one, its context's view,
    /// both or neither.
    async fn record_activity(&self, entry: &ActivityEntry) -> StoreResult<()>;

    /// The entries on the context `name` of `owner` (whoever's grant made them), newest
    /// first, at most `limit` (capped at [`MAX_ACTIVITY_PAGE`], zero means one),
    /// strictly older than `before` (a `next` of an earlier page). Entries past
    /// retention are never returned.
    async fn context_activity(
        &self,
        owner: UserId,
        name: &ContextName,
        limit: usize,
        before: Option<&str>,
    ) -> StoreResult<ActivityPage>;

    /// The entries of the user's grant `grant_id`, paged as `context_activity`.
    async fn grant_activity(
        &self,
        user_id: UserId,
        grant_id: &GrantId,
        limit: usize,
        before: Option<&str>,
    ) -> StoreResult<ActivityPage>;
}

/// How much of a context a search reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidates {
    /// At most this many memories.
    pub memories: usize,
    /// At most this many bytes of text and tags in all (`memory_bytes`); the first memory
    /// that would go past it ends the read.
    pub bytes: usize,
    /// The most bytes one memory can hold. The default read sizes its pages by it, so
    /// that what is read stays within `bytes` (plus at most one memory), however large
    /// the memories are; DynamoDB's reads up to one of its 1 MB pages past `bytes`.
    pub largest_memory: usize,
}

/// The bytes of text and tags `memory` holds.
pub fn memory_bytes(memory: &Memory) -> usize {
    memory.tags.iter().fold(memory.text.len(), |total, tag| {
        total.saturating_add(tag.len())
    })
}

/// A read of the newest memories, page by page (newest first, like `list_memories`),
/// until the budget is spent or the memories run out.
struct CandidateRead {
    budget: Candidates,
    found: Vec<Memory>,
    bytes: usize,
    after: Option<MemoryId>,
    done: bool,
}

impl CandidateRead {
    fn new(budget: Candidates) -> Self {
        Self {
            budget,
            found: Vec::new(),
            bytes: 0,
            after: None,
            done: budget.memories == 0,
        }
    }

    /// How many memories to ask for next, or `None` when the read is over.
    fn next_limit(&self) -> Option<usize> {
        if self.done {
            return None;
        }
        let affordable =
            self.budget.bytes.saturating_sub(self.bytes) / self.budget.largest_memory.max(1);
        let left = self.budget.memories.saturating_sub(self.found.len());
        Some(affordable.clamp(1, MAX_PAGE).min(left))
    }

    fn after(&self) -> Option<&MemoryId> {
        self.after.as_ref()
    }

    fn take(&mut self, page: MemoryPage) {
        for memory in page.memories {
            if !self.offer(memory) {
                return;
            }
        }
        self.done = self.done || page.next.is_none();
        self.after = page.next;
    }

    /// Keeps `memory`, the next newest, if the budget has room for it; false when the
    /// read is over (this memory and every older one are left out).
    fn offer(&mut self, memory: Memory) -> bool {
        let total = self.bytes.saturating_add(memory_bytes(&memory));
        if total > self.budget.bytes || self.found.len() >= self.budget.memories {
            self.done = true;
            return false;
        }
        self.bytes = total;
        self.found.push(memory);
        self.done = self.found.len() >= self.budget.memories;
        true
    }
}

/// The newest memories within `budget` out of `newest_first`, read no further than the
/// first one left out: for a store that reads its memories one by one.
#[cfg_attr(not(feature = "embedded"), allow(dead_code))]
pub(crate) fn within_budget<E>(
    budget: Candidates,
    newest_first: impl IntoIterator<Item = Result<Memory, E>>,
) -> Result<Vec<Memory>, E> {
    let mut read = CandidateRead::new(budget);
    if !read.done {
        for memory in newest_first {
            if !read.offer(memory?) || read.done {
                break;
            }
        }
    }
    Ok(read.found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn memories(sizes: &[usize]) -> Vec<Memory> {
        sizes
            .iter()
            .map(|&size| Memory {
                id: MemoryId::generate(),
                text: "x".repeat(size),
                tags: Vec::new(),
                created_at: OffsetDateTime::now_utc(),
            })
            .collect()
    }

    /// Reads `all` (newest first) as a store would page it through a `CandidateRead`;
    /// returns what was found and how many bytes the pages carried.
    fn read(all: &[Memory], budget: Candidates) -> (Vec<Memory>, usize) {
        let mut read = CandidateRead::new(budget);
        let mut read_bytes = 0;
        while let Some(limit) = read.next_limit() {
            let start = read.after().map_or(0, |after| {
                all.iter()
                    .position(|memory| &memory.id == after)
                    .unwrap_or(0)
                    + 1
            });
            let end = (start + limit.min(MAX_PAGE)).min(all.len());
            let memories: Vec<Memory> = all[start..end].to_vec();
            read_bytes += memories.iter().map(memory_bytes).sum::<usize>();
            let next = (end < all.len()).then(|| all[end - 1].id.clone());
            read.take(MemoryPage { memories, next });
        }
        (read.found, read_bytes)
    }

    #[test]
    fn a_search_reads_no_more_than_its_byte_budget_of_large_memories() {
        let all = memories(&[64_000; 300]);
        let budget = Candidates {
            memories: 1_000,
            bytes: 1_000_000,
            largest_memory: 64_000,
        };
        let (found, read_bytes) = read(&all, budget);
        assert_eq!(found.len(), 15);
        assert_eq!(found[..], all[..15]);
        assert!(
            read_bytes <= budget.bytes + budget.largest_memory,
            "{read_bytes}"
        );
    }

    #[test]
    fn small_memories_are_read_a_full_page_at_a_time_up_to_the_count() {
        let all = memories(&[10; 250]);
        let budget = Candidates {
            memories: 120,
            bytes: 1_000_000,
            largest_memory: 1_000,
        };
        let (found, read_bytes) = read(&all, budget);
        assert_eq!(found[..], all[..120]);
        assert_eq!(read_bytes, 1_200);
    }

    #[test]
    fn the_read_stops_before_the_first_memory_that_would_go_over() {
        let all = memories(&[40, 40, 40, 5, 5]);
        let budget = Candidates {
            memories: 10,
            bytes: 100,
            largest_memory: 40,
        };
        let (found, _) = read(&all, budget);
        assert_eq!(found[..], all[..2]);
        let (nothing, _) = read(
            &all,
            Candidates {
                memories: 0,
                ..budget
            },
        );
        assert!(nothing.is_empty());
    }

    #[test]
    fn reading_one_by_one_keeps_what_reading_by_pages_keeps_and_stops_at_the_first_left_out() {
        let all = memories(&[40, 40, 40, 5, 5, 10, 10, 10]);
        for (memories, bytes) in [(10, 100), (3, 1_000), (0, 100), (10, 1_000), (10, 30)] {
            let budget = Candidates {
                memories,
                bytes,
                largest_memory: 40,
            };
            let mut pulled = 0;
            let one_by_one =
                within_budget::<()>(budget, all.iter().cloned().inspect(|_| pulled += 1).map(Ok))
                    .expect("no errors");
            assert_eq!(one_by_one, read(&all, budget).0, "{budget:?}");
            assert!(pulled <= one_by_one.len() + 1, "{budget:?}: read {pulled}");
        }
        let failed = within_budget(
            Candidates {
                memories: 10,
                bytes: 100,
                largest_memory: 40,
            },
            [Ok(all[0].clone()), Err("disk")],
        );
        assert_eq!(failed, Err("disk"));
    }

    #[test]
    fn windows_are_aligned_to_their_length() {
        let window = Window::containing(datetime!(2026-01-01 00:07:30 UTC), 600);
        assert_eq!(window.start % 600, 0);
        assert_eq!(window.end() - window.start, 600);
        assert!(window.start <= datetime!(2026-01-01 00:07:30 UTC).unix_timestamp());
        assert!(window.end() > datetime!(2026-01-01 00:07:30 UTC).unix_timestamp());
    }
}
