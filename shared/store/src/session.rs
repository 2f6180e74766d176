//! Login sessions: what a login (or signup) starts and every token born of it names.
//!
//! A session is one record: its user, when it was created and last refreshed, the
//! client that started it (user agent, address), an absolute expiry and an idle expiry,
//! and `counter`, the generation of its refresh token. A refresh moves `counter` on by
//! one with a conditional write (condition: it still has the value the token names, and
//! the session is live), so however many instances refresh one token at once, exactly
//! one of them wins and the session cannot fork. Ending a session (logout, reuse of an
//! old refresh token, `end_sessions` after a password change) sets `ended_at`; an ended
//! or expired session is refused at the next request on any instance, since every
//! authenticated request reads it (`Store::caller`).
//!
//! Times are whole Unix seconds. `last_used_at` moves on refresh only, not on every
//! request, which would be a write per read; so idle expiry means no refresh for
//! `idle` seconds.

use time::OffsetDateTime;

use crate::{User, UserId};

/// Most sessions `list_sessions` returns (the newest).
pub const MAX_LISTED_SESSIONS: usize = 100;

/// Most characters of a user agent a session keeps.
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// A session's id: a ULID (time-ordered, 80 random bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    pub fn generate() -> Self {
        Self(ulid::Ulid::new().to_string())
    }

    /// A session id as a client sends it back; `None` unless it is a canonical ULID.
    pub fn parse(raw: &str) -> Option<Self> {
        let id = ulid::Ulid::from_string(raw).ok()?;
        (id.to_string() == raw).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The client a session was started from, as it described itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientDescription {
    pub user_agent: Option<String>,
    pub address: Option<String>,
}

impl ClientDescription {
    /// Keeps at most [`MAX_USER_AGENT_CHARS`] characters of the user agent, without
    /// control characters; blank values are none.
    pub fn new(user_agent: Option<&str>, address: Option<&str>) -> Self {
        let clean = |raw: &str, chars: usize| {
            let kept: String = raw
                .chars()
                .filter(|c| !c.is_control())
                .take(chars)
                .collect();
            let kept = kept.trim().to_owned();
            (!kept.is_empty()).then_some(kept)
        };
        Self {
            user_agent: user_agent.and_then(|raw| clean(raw, MAX_USER_AGENT_CHARS)),
            address: address.and_then(|raw| clean(raw, 64)),
        }
    }
}

/// A session to start.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: UserId,
    pub client: ClientDescription,
    /// Seconds from creation after which the session ends, refreshed or not.
    pub lifetime_seconds: u32,
    /// Seconds without a refresh after which the session ends.
    pub idle_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub client: ClientDescription,
    pub created_at: i64,
    /// The last refresh, or the creation.
    pub last_used_at: i64,
    /// The absolute end: `created_at + lifetime`.
    pub expires_at: i64,
    /// The end if no refresh comes first: the last use plus the idle lifetime (never
    /// past `expires_at`).
    pub idle_expires_at: i64,
    pub idle_seconds: u32,
    /// The generation of the current refresh token: 0 at login, one more per refresh.
    pub counter: u64,
    /// When `counter` last moved.
    pub rotated_at: Option<i64>,
    pub ended_at: Option<i64>,
}

impl Session {
    /// A fresh session, not yet stored.
    pub fn start(new: NewSession, now: OffsetDateTime) -> Self {
        let now = now.unix_timestamp();
        let expires_at = now.saturating_add(i64::from(new.lifetime_seconds));
        Self {
            id: SessionId::generate(),
            user_id: new.user_id,
            client: new.client,
            created_at: now,
            last_used_at: now,
            expires_at,
            idle_expires_at: now
                .saturating_add(i64::from(new.idle_seconds))
                .min(expires_at),
            idle_seconds: new.idle_seconds,
            counter: 0,
            rotated_at: None,
            ended_at: None,
        }
    }

    /// Neither ended nor expired at `now` (Unix seconds).
    pub fn is_live(&self, now: i64) -> bool {
        self.ended_at.is_none() && now < self.expires_at && now < self.idle_expires_at
    }

    /// This session as a refresh at `now` leaves it: one generation on, used now.
    pub fn rotated(&self, now: i64) -> Self {
        Self {
            counter: self.counter.saturating_add(1),
            last_used_at: now,
            rotated_at: Some(now),
            idle_expires_at: now
                .saturating_add(i64::from(self.idle_seconds))
                .min(self.expires_at),
            ..self.clone()
        }
    }
}

/// What one authenticated request needs from the store, read in one round trip: the
/// caller's account as it is now, and the session its token names (if it is the
/// user's).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user: Option<User>,
    pub session: Option<Session>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_description_is_cut_to_size_without_control_characters() {
        let long = format!("Mozilla\u{0}/5.0\n{}", "x".repeat(1000));
        let client = ClientDescription::new(Some(&long), Some("  "));
        let agent = client.user_agent.expect("kept");
        assert_eq!(agent.chars().count(), MAX_USER_AGENT_CHARS);
        assert!(agent.starts_with("Mozilla/5.0x"));
        assert_eq!(client.address, None);
    }

    #[test]
    fn only_canonical_ulids_are_session_ids() {
        let id = SessionId::generate();
        assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(SessionId::parse(&id.as_str().to_lowercase()), None);
        assert_eq!(SessionId::parse("../../etc"), None);
        assert_eq!(SessionId::parse(""), None);
    }

    #[test]
    fn a_session_ends_at_its_idle_or_absolute_expiry_whichever_comes_first() {
        let start = OffsetDateTime::from_unix_timestamp(1_000_000).expect("time");
        let session = Session::start(
            NewSession {
                user_id: UserId(1),
                client: ClientDescription::default(),
                lifetime_seconds: 100,
                idle_seconds: 30,
            },
            start,
        );
        assert!(session.is_live(1_000_029));
        assert!(!session.is_live(1_000_030));
        let refreshed = session.rotated(1_000_020);
        assert_eq!(refreshed.counter, 1);
        assert!(refreshed.is_live(1_000_049));
        assert_eq!(refreshed.rotated(1_000_090).idle_expires_at, 1_000_100);
    }
}
