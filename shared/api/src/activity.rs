//! The activity trail: what connected apps did, newest first. `GET
//! /contexts/{name}/activity` for the context's owner (and the admins of the organization
//! it is shared with); `GET /auth/grants/{grant_id}/activity` for the user who granted.
//! An entry says who, what, where, how many and when; never a memory's text or a token.

use axum::extract::{FromRequestParts, State};
use http::request::Parts;
use serde::{Deserialize, Serialize};
use store::{ActivityEntry, ActivityPage, GrantId, MAX_ACTIVITY_PAGE, UserId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use crate::SharedApp;
use crate::contexts::{self, ContextPath};
use crate::error::{self, ApiError, ApiResult};
use crate::extract::{Authenticated, PathParams, query_param};
use crate::reply::{Reply, Succeeded};

/// Entries on a page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 20;

/// A page of the trail, newest first.
#[derive(Serialize, ToSchema)]
pub struct ActivityList {
    success: Succeeded,
    activity: Vec<EntryView>,
    /// Pass as `before` for the next (older) page; `null` on the last.
    next: Option<String>,
}

/// One thing a connected app did.
#[derive(Serialize, ToSchema)]
#[schema(as = ActivityEntry)]
pub struct EntryView {
    id: String,
    /// The app's name as it registered.
    client_name: String,
    /// The grant (connected app) it acted under, as `GET /auth/grants` lists it.
    grant_id: String,
    /// The tool (`recall`, `remember`, ...) or the route (`GET /contexts/{name}/memories`).
    #[schema(example = "recall")]
    action: String,
    /// The context it acted on, addressed as the caller addresses it: `name` for their
    /// own, `<owner_id>:<name>` for another member's; `null` for none (`list_contexts`).
    #[schema(example = "my-project")]
    context: Option<String>,
    /// Memories returned or changed.
    count: u32,
    #[schema(format = DateTime)]
    at: String,
}

impl EntryView {
    fn new(entry: ActivityEntry, caller: UserId) -> Self {
        let context = entry.context.map(|(owner, name)| {
            if owner == caller {
                name.to_string()
            } else {
                domain::shared_address(owner, &name)
            }
        });
        Self {
            id: entry.id,
            client_name: entry.client_name,
            grant_id: entry.grant_id.to_string(),
            action: entry.action,
            context,
            count: entry.count,
            at: OffsetDateTime::from_unix_timestamp(entry.at)
                .ok()
                .and_then(|at| at.format(&Rfc3339).ok())
                .unwrap_or_default(),
        }
    }
}

fn list(page: ActivityPage, caller: UserId) -> Reply<ActivityList> {
    Reply::ok(ActivityList {
        success: Succeeded,
        activity: page
            .entries
            .into_iter()
            .map(|entry| EntryView::new(entry, caller))
            .collect(),
        next: page.next,
    })
}

/// `?limit=&before=` of a page of the trail, parsed.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Entries per page, 1-100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: usize,
    /// `next` of the previous page: entries strictly older than it.
    #[param(value_type = Option<String>)]
    before: Option<String>,
}

impl<S: Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        Ok(Self {
            limit: parse_limit(query_param(parts, "limit"))?,
            before: query_param(parts, "before")
                .filter(|raw| !raw.is_empty())
                .map(parse_before)
                .transpose()?,
        })
    }
}

fn parse_limit(raw: Option<String>) -> ApiResult<usize> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => match raw.parse::<usize>() {
            Ok(limit @ 1..=MAX_ACTIVITY_PAGE) => Ok(limit),
            _ => Err(ApiError::invalid(format!(
                "limit must be a whole number from 1 to {MAX_ACTIVITY_PAGE}."
            ))),
        },
    }
}

/// A cursor is an entry's id as `next` handed it out: a canonical ULID.
fn parse_before(raw: String) -> ApiResult<String> {
    match ulid::Ulid::from_string(&raw) {
        Ok(id) if id.to_string() == raw => Ok(raw),
        _ => Err(ApiError::invalid(
            "before must be the next of an earlier page.",
        )),
    }
}

/// `{grant_id}` in a grant's route.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GrantPath {
    /// The grant's id, as `GET /auth/grants` lists it.
    grant_id: String,
}

/// What connected apps did in the context, newest first: its owner's view, and the
/// view of the admins of the organization it is shared with.
#[utoipa::path(get, path = "/contexts/{name}/activity", tag = "contexts",
    security(("bearer" = [])), params(ContextPath, Paging),
    responses(
        (status = 200, description = "A page of the trail", body = ActivityList),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden),
        (status = 404, response = error::NotFound),
    ))]
pub async fn context_activity(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<ContextPath>,
    paging: Paging,
) -> ApiResult<Reply<ActivityList>> {
    let context = contexts::find(&app, &caller.user, &path.name).await?;
    if !contexts::administers(&caller.user, &context) {
        return Err(ApiError::Forbidden(
            "Only the owner or an admin of the organization can read a shared context's activity."
                .into(),
        ));
    }
    let page = app
        .store
        .context_activity(
            context.owner_id,
            &context.name,
            paging.limit,
            paging.before.as_deref(),
        )
        .await?;
    Ok(list(page, caller.user.id))
}

/// What one connected app did, newest first; revoked apps' trails stay readable until
/// they expire.
#[utoipa::path(get, path = "/auth/grants/{grant_id}/activity", tag = "auth",
    security(("bearer" = [])), params(GrantPath, Paging),
    responses(
        (status = 200, description = "A page of the trail", body = ActivityList),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound),
    ))]
pub async fn grant_activity(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<GrantPath>,
    paging: Paging,
) -> ApiResult<Reply<ActivityList>> {
    let user = caller.user.id;
    let id = GrantId::parse(&path.grant_id).ok_or(ApiError::NotFound)?;
    if app.store.grant_caller(user, &id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let page = app
        .store
        .grant_activity(user, &id, paging.limit, paging.before.as_deref())
        .await?;
    Ok(list(page, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_one_to_a_hundred_are_refused() {
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some("100".into())).unwrap(), 100);
        for bad in ["0", "101", "-1", "ten", ""] {
            assert!(parse_limit(Some(bad.into())).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_cursor_that_is_no_entry_id_is_refused() {
        let id = ulid::Ulid::new().to_string();
        assert_eq!(parse_before(id.clone()).unwrap(), id);
        for bad in ["x", "' OR 1=1 --", &id.to_lowercase(), &format!("{id}0")] {
            assert!(parse_before(bad.to_owned()).is_err(), "{bad:?}");
        }
    }
}
