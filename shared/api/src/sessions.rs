//! Login sessions: `POST /auth/refresh`, `POST /auth/logout`, `GET /auth/sessions`,
//! `DELETE /auth/sessions/{session_id}`, and the session every login and signup starts.
//!
//! A login starts a session (`store::session`) and answers an access token naming it
//! (`sid`) and its first refresh token (`claims::refresh`: `<user>.<session>.<counter>.
//! <mac>`, the store keeping only the counter). A refresh:
//! 1. checks the token's MAC (constant time), then reads the session and the account
//!    in one store call;
//! 2. the token's generation is the session's: one conditional write moves the counter
//!    on (condition: still that generation, session live), and the child is minted;
//! 3. it is the generation just before, rotated at most the grace window ago (two tabs,
//!    a retried request): the current child is derived again and handed out, no write;
//! 4. anything older, or the previous one after the grace window, is a stolen or
//!    replayed token: the session is ended, so every token born of that login is 401
//!    from the next request on, on every instance.
//!
//! Losing the conditional write to a concurrent refresh of the same token re-reads the
//! session once and applies rule 3: both refreshes succeed with the same child, and the
//! counter moved once. `last_used_at` moves on refresh only (a write per request would
//! double the cost of every read); the idle lifetime counts from the last refresh.

use axum::extract::{FromRequestParts, State};
use bytes::Bytes;
use claims::refresh::RefreshToken;
use http::Uri;
use http::request::Parts;
use serde::{Deserialize, Serialize};
use store::{ClientDescription, NewSession, Session, SessionId, User, UserId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::error::{self, ApiError, ApiResult};
use crate::extract::{Authenticated, ClientAddr, JsonBody, PathParams, parse_json};
use crate::reply::{Done, Reply, Said, Succeeded};
use crate::throttle::FailedRefresh;
use crate::{App, SharedApp, summary};

/// The `User-Agent` a client sent, if any; a session keeps it to be recognised by.
pub struct UserAgent(Option<String>);

impl<S: Sync> FromRequestParts<S> for UserAgent {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(http::header::USER_AGENT).map(
            |value| String::from_utf8_lossy(value.as_bytes()).into_owned(),
        )))
    }
}

/// What a login, signup or refresh hands out besides the user.
pub(crate) struct Issued {
    pub(crate) jwt_token: String,
    pub(crate) refresh_token: String,
    pub(crate) expires_in: u64,
}

impl App {
    fn issue(&self, user: &User, session: &Session) -> ApiResult<Issued> {
        Ok(Issued {
            jwt_token: self.issue_token(user, session)?,
            refresh_token: self
                .tokens
                .refresh_token(user.id.0, session.id.as_str(), session.counter)
                .ok_or(ApiError::Internal)?,
            expires_in: self.tokens.lifetime().as_secs(),
        })
    }
}

/// Starts a session for `user`, who just logged in or signed up from this client.
pub(crate) async fn start(
    app: &App,
    user: &User,
    client: &ClientAddr,
    agent: UserAgent,
) -> ApiResult<Issued> {
    let address = (client.0 != "unknown").then_some(client.0.as_str());
    let new = NewSession {
        user_id: user.id,
        client: ClientDescription::new(agent.0.as_deref(), address),
        lifetime_seconds: app.sessions.lifetime_seconds,
        idle_seconds: app.sessions.idle_seconds,
    };
    let session = app.store.create_session(new, app.now()).await?;
    app.issue(user, &session)
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshBody {
    /// The refresh token of the last login or refresh.
    refresh_token: String,
}

/// A new access token and the refresh token that replaces the one presented.
#[derive(Serialize, ToSchema)]
pub struct Refreshed {
    success: Succeeded,
    jwt_token: String,
    /// Use it for the next refresh; the one presented no longer works (but for a few
    /// seconds' grace for concurrent refreshes).
    refresh_token: String,
    /// Seconds until `jwt_token` expires.
    expires_in: u64,
}

/// What a presented refresh token means for its session.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// The current generation: rotate.
    Rotate,
    /// The previous generation within the grace window: hand out the current child.
    Current,
    /// An older generation, or the previous one too late: a replay, end the session.
    Reuse,
    /// The session is over (or the token is of a generation it never had).
    Dead,
}

fn judge(session: &Session, presented: u64, now: i64, grace_seconds: u32) -> Verdict {
    if !session.is_live(now) || presented > session.counter {
        return Verdict::Dead;
    }
    if presented == session.counter {
        return Verdict::Rotate;
    }
    let within_grace = session
        .rotated_at
        .is_some_and(|at| now.saturating_sub(at) <= i64::from(grace_seconds));
    if presented.saturating_add(1) == session.counter && within_grace {
        Verdict::Current
    } else {
        Verdict::Reuse
    }
}

/// Exchanges a refresh token for a new access token and the next refresh token.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "New tokens", body = Refreshed),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
        (status = 429, response = error::RateLimited),
    ))]
pub async fn refresh(
    State(app): State<SharedApp>,
    client: ClientAddr,
    JsonBody(body): JsonBody<RefreshBody>,
) -> ApiResult<Reply<Refreshed>> {
    let failure = FailedRefresh::new(&client.0, &app.limits, app.now());
    let Some(token) = app.tokens.verify_refresh(&body.refresh_token) else {
        tracing::info!("refresh with a token that is not ours");
        return failure.refuse(&*app.store).await;
    };
    let Some((user, session)) = session_of(&app, &token).await? else {
        return failure.refuse(&*app.store).await;
    };
    summary::identify(user.id);
    let now = app.now();
    let grace = app.sessions.grace_seconds;
    let current = match judge(&session, token.counter, now.unix_timestamp(), grace) {
        Verdict::Rotate => match app
            .store
            .rotate_session(&session, token.counter, now)
            .await?
        {
            Some(rotated) => rotated,
            // Another refresh of this token won (or the session ended meanwhile):
            // judge again on what it left.
            None => match session_of(&app, &token).await? {
                Some((_, after))
                    if judge(&after, token.counter, now.unix_timestamp(), grace)
                        == Verdict::Current =>
                {
                    after
                }
                _ => return failure.refuse(&*app.store).await,
            },
        },
        Verdict::Current => session,
        Verdict::Reuse => {
            tracing::warn!(
                user_id = user.id.0,
                "a rotated refresh token was presented again; its session is ended"
            );
            app.store.end_session(user.id, &session.id, now).await?;
            return failure.refuse(&*app.store).await;
        }
        Verdict::Dead => return failure.refuse(&*app.store).await,
    };
    let issued = app.issue(&user, &current)?;
    Ok(Reply::ok(Refreshed {
        success: Succeeded,
        jwt_token: issued.jwt_token,
        refresh_token: issued.refresh_token,
        expires_in: issued.expires_in,
    }))
}

/// The account and the session a genuine refresh token names, if both are there.
async fn session_of(app: &App, token: &RefreshToken) -> ApiResult<Option<(User, Session)>> {
    let Some(id) = SessionId::parse(&token.session_id) else {
        return Ok(None);
    };
    let caller = app.store.caller(UserId(token.user_id), &id).await?;
    Ok(caller.user.zip(caller.session))
}

#[derive(Deserialize, ToSchema)]
pub struct LogoutBody {
    /// The session's refresh token; optional, since the access token names the session.
    refresh_token: Option<String>,
}

/// Ends the session the access token was born of (`?scope=all`: every session of the
/// user); its access and refresh tokens are 401 from the next request on.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    params(("scope" = Option<String>, Query, description = "`all` ends every session of the user")),
    request_body(content = Option<LogoutBody>, description = "Optional"),
    responses(
        (status = 200, description = "The session (or every session) has ended", body = Said),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
    ))]
pub async fn logout(
    State(app): State<SharedApp>,
    caller: Authenticated,
    uri: Uri,
    body: Bytes,
) -> ApiResult<Reply<Said>> {
    let everywhere = match query_value(&uri, "scope").as_deref() {
        None => false,
        Some("all") => true,
        Some(_) => return Err(ApiError::invalid("scope is either absent or `all`.")),
    };
    let presented = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        parse_json::<LogoutBody>(&body)?.refresh_token
    };
    let user = caller.user().id;
    let now = app.now();
    if everywhere {
        app.store.end_sessions(user, None, now).await?;
        return Ok(Reply::ok(Said {
            success: Succeeded,
            message: "Logged out everywhere. Every session of this account has ended.",
        }));
    }
    app.store
        .end_session(user, caller.session_id(), now)
        .await?;
    // A refresh token of another of the user's sessions (a client that kept two) goes too.
    let other = presented
        .and_then(|token| app.tokens.verify_refresh(&token))
        .filter(|token| token.user_id == user.0)
        .and_then(|token| SessionId::parse(&token.session_id))
        .filter(|id| id != caller.session_id());
    if let Some(other) = other {
        app.store.end_session(user, &other, now).await?;
    }
    Ok(Reply::ok(Said {
        success: Succeeded,
        message: "Logged out. This session no longer works.",
    }))
}

fn query_value(uri: &Uri, key: &str) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes())
        .filter(|(name, _)| name == key)
        .last()
        .map(|(_, value)| value.into_owned())
}

/// One live session of the user.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    session_id: String,
    /// RFC 3339.
    created_at: String,
    /// The last refresh, or the login. RFC 3339.
    last_used_at: String,
    /// RFC 3339: when the session ends even if it keeps being refreshed.
    expires_at: String,
    /// The client's `User-Agent` at login (at most 256 characters).
    user_agent: Option<String>,
    /// The client's network address at login.
    address: Option<String>,
    /// Whether this is the session of the token making the request.
    current: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    success: Succeeded,
    /// Live sessions, newest first (at most 100).
    sessions: Vec<SessionView>,
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// The user's live sessions, newest first.
#[utoipa::path(get, path = "/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The live sessions", body = SessionList),
        (status = 401, response = error::Unauthorized),
    ))]
pub async fn list(
    State(app): State<SharedApp>,
    caller: Authenticated,
) -> ApiResult<Reply<SessionList>> {
    let sessions = app
        .store
        .list_sessions(caller.user().id, app.now())
        .await?
        .into_iter()
        .map(|session| SessionView {
            current: &session.id == caller.session_id(),
            session_id: session.id.to_string(),
            created_at: rfc3339(session.created_at),
            last_used_at: rfc3339(session.last_used_at),
            expires_at: rfc3339(session.expires_at),
            user_agent: session.client.user_agent,
            address: session.client.address,
        })
        .collect();
    Ok(Reply::ok(SessionList {
        success: Succeeded,
        sessions,
    }))
}

/// Ends one of the user's sessions (another device, or this one).
#[utoipa::path(delete, path = "/auth/sessions/{session_id}", tag = "auth",
    security(("bearer" = [])),
    params(("session_id" = String, Path, description = "From `GET /auth/sessions`")),
    responses(
        (status = 200, description = "The session has ended", body = Done),
        (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound),
    ))]
pub async fn end(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(session_id): PathParams<String>,
) -> ApiResult<Reply<Done>> {
    let id = SessionId::parse(&session_id).ok_or(ApiError::NotFound)?;
    if !app
        .store
        .end_session(caller.user().id, &id, app.now())
        .await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(Reply::ok(Done { success: Succeeded }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(counter: u64, rotated_at: Option<i64>) -> Session {
        let start = OffsetDateTime::from_unix_timestamp(1_000).expect("time");
        let mut session = Session::start(
            NewSession {
                user_id: UserId(1),
                client: ClientDescription::default(),
                lifetime_seconds: 10_000,
                idle_seconds: 5_000,
            },
            start,
        );
        session.counter = counter;
        session.rotated_at = rotated_at;
        session
    }

    #[test]
    fn the_current_generation_rotates() {
        assert_eq!(
            judge(&session(3, Some(1_100)), 3, 1_200, 10),
            Verdict::Rotate
        );
    }

    #[test]
    fn the_previous_generation_gets_the_current_child_only_within_the_grace_window() {
        let rotated = session(3, Some(1_100));
        assert_eq!(judge(&rotated, 2, 1_110, 10), Verdict::Current);
        assert_eq!(judge(&rotated, 2, 1_111, 10), Verdict::Reuse);
        assert_eq!(judge(&rotated, 1, 1_101, 10), Verdict::Reuse, "older still");
    }

    #[test]
    fn nothing_works_on_an_ended_or_expired_session_and_no_generation_is_from_the_future() {
        let mut ended = session(0, None);
        ended.ended_at = Some(1_050);
        assert_eq!(judge(&ended, 0, 1_100, 10), Verdict::Dead);
        assert_eq!(
            judge(&session(0, None), 0, 6_000, 10),
            Verdict::Dead,
            "idle"
        );
        assert_eq!(judge(&session(0, None), 1, 1_100, 10), Verdict::Dead);
    }
}
