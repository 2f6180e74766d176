//! The user's connected apps: `GET /auth/grants`, `DELETE /auth/grants/{grant_id}`.

use axum::extract::State;
use domain::GrantContexts;
use serde::Serialize;
use store::{Grant, GrantId, UserId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::SharedApp;
use crate::error::{self, ApiError, ApiResult};
use crate::extract::{Authenticated, PathParams};
use crate::reply::{Done, Reply, Succeeded};

#[derive(Serialize, ToSchema)]
pub struct GrantList {
    success: Succeeded,
    grants: Vec<GrantView>,
}

/// A connected app as its user sees it.
#[derive(Serialize, ToSchema)]
pub struct GrantView {
    grant_id: String,
    client_id: String,
    client_name: String,
    scopes: Vec<&'static str>,
    /// `"all"`, or the contexts: `name` for the user's own, `<owner_id>:<name>` for
    /// another member's.
    #[schema(value_type = Object)]
    contexts: serde_json::Value,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_used_at: String,
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_default()
}

impl GrantView {
    fn new(grant: Grant, user: UserId) -> Self {
        let contexts = match &grant.contexts {
            GrantContexts::All => serde_json::Value::from("all"),
            GrantContexts::Only(contexts) => contexts
                .iter()
                .map(|context| {
                    if context.owner == user {
                        context.name.to_string()
                    } else {
                        domain::shared_address(context.owner, &context.name)
                    }
                })
                .collect(),
        };
        Self {
            grant_id: grant.id.to_string(),
            client_id: grant.client_id,
            client_name: grant.client_name,
            scopes: grant.scopes.iter().map(domain::Scope::as_str).collect(),
            contexts,
            created_at: rfc3339(grant.created_at),
            last_used_at: rfc3339(grant.last_used_at),
        }
    }
}

/// The apps the user connected (live grants), newest first.
#[utoipa::path(get, path = "/auth/grants", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The live grants", body = GrantList),
        (status = 401, response = error::Unauthorized),
    ))]
pub async fn list_grants(
    State(app): State<SharedApp>,
    caller: Authenticated,
) -> ApiResult<Reply<GrantList>> {
    let user = caller.user().id;
    let grants = app
        .store
        .list_grants(user)
        .await?
        .into_iter()
        .map(|grant| GrantView::new(grant, user))
        .collect();
    Ok(Reply::ok(GrantList {
        success: Succeeded,
        grants,
    }))
}

/// Disconnects an app: its tokens are refused from the next request on.
#[utoipa::path(delete, path = "/auth/grants/{grant_id}", tag = "auth",
    security(("bearer" = [])),
    params(("grant_id" = String, Path, description = "From `GET /auth/grants`")),
    responses(
        (status = 200, description = "The grant is revoked", body = Done),
        (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound),
    ))]
pub async fn revoke_grant(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(grant_id): PathParams<String>,
) -> ApiResult<Reply<Done>> {
    let id = GrantId::parse(&grant_id).ok_or(ApiError::NotFound)?;
    if !app
        .store
        .revoke_grant(caller.user().id, &id, app.now().unix_timestamp())
        .await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(Reply::ok(Done { success: Succeeded }))
}
