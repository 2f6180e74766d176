//! OAuth clients, authorization codes and grants on DynamoDB.
//!
//! | item | `PK` | `SK` | attributes |
//! |---|---|---|---|
//! | client | `CLIENT#<client_id>` | `CLIENT` | `client_name`, `redirect_uris` (list of strings), `created_at` |
//! | authorization code | `AUTHCODE#<sha-256 of the code, hex>` | `AUTHCODE` | `client_id`, `redirect_uri`, `code_challenge`, `resource`, `user_id`, `scopes`, `contexts`, `expires_at` (time to live) |
//! | grant | `GRANT#<user_id>` | `<grant_id>` | `client_id`, `client_name`, `scopes` (the space-separated `scope`), `contexts` (list of strings: `*`, or `<owner>/<name>` each), `created_at`, `last_used_at`, `generation`, `revoked_at`?, `expires_at` (time to live, once revoked) |
//!
//! Times are Unix seconds (numbers), so that conditions can compare them.
//!
//! - A code is used up by a `DeleteItem` conditioned on its expiry, returning the old
//!   item: of concurrent uses exactly one deletes it. Time to live removes codes never
//!   used (DynamoDB may take days, hence the condition).
//! - All of a user's grants share one partition, so listing them is one strongly
//!   consistent query. A refresh is one `UpdateItem` conditioned on the generation
//!   and on the grant being live; when that fails, a strongly consistent read tells a
//!   replayed token (a live grant at another generation: revoked by a conditional
//!   write) from a grant that is gone.
//! - A grant has no time to live until it is revoked; then [`KEEP_REVOKED_SECONDS`].
//! - The check of every request at `/mcp` is one strongly consistent `BatchGetItem` of
//!   the profile and the grant (2 read units, one round trip), as for sessions.
//! - `touch_grant` is an `UpdateItem` conditioned on `last_used_at` being over a
//!   minute old: a write (1 unit) at most once a minute per grant; the refused ones
//!   cost a write unit each too, but no item change.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoStore;
use super::calls::{TOTAL, charged_writes, unavailable};
use super::item::{Item, Read, key, n, s, user_from, user_key};
use super::schema::{TABLE_KEY, TTL_ATTRIBUTE, partition};
use crate::grant::{
    KEEP_REVOKED_SECONDS, MAX_LISTED_GRANTS, TOUCH_INTERVAL_SECONDS, contexts_from_strings,
    contexts_to_strings,
};
use crate::{
    AuthorizationCode, Grant, GrantContexts, GrantId, GrantRotation, OAuthClient, Scopes,
    StoreError, StoreResult, User, UserId,
};

pub(super) fn client_key(client_id: &str) -> Item {
    key(
        format!("{}{client_id}", partition::CLIENT),
        "CLIENT".to_owned(),
    )
}

pub(super) fn code_key(digest: &str) -> Item {
    key(
        format!("{}{digest}", partition::AUTHORIZATION_CODE),
        "AUTHCODE".to_owned(),
    )
}

fn grant_partition(user_id: UserId) -> String {
    format!("{}{user_id}", partition::GRANT)
}

pub(super) fn grant_key(user_id: UserId, id: &GrantId) -> Item {
    key(grant_partition(user_id), id.as_str().to_owned())
}

fn strings(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(s).collect())
}

fn contexts_value(contexts: &GrantContexts) -> AttributeValue {
    strings(&contexts_to_strings(contexts))
}

fn grant_access(read: &Read<'_>) -> StoreResult<(Scopes, GrantContexts)> {
    let scopes = read.parsed("scopes", |raw| Scopes::parse(raw).ok())?;
    let contexts = contexts_from_strings(&read.strings("contexts")?)
        .ok_or_else(|| StoreError::unavailable("corrupt item: a grant's contexts"))?;
    Ok((scopes, contexts))
}

fn client_item(client: &OAuthClient) -> Item {
    let mut item = client_key(&client.client_id);
    item.extend([
        ("client_name".to_owned(), s(&client.client_name)),
        ("redirect_uris".to_owned(), strings(&client.redirect_uris)),
        ("created_at".to_owned(), n(client.created_at)),
    ]);
    item
}

fn client_from(client_id: &str, item: &Item) -> StoreResult<OAuthClient> {
    let read = Read::new("client", item);
    Ok(OAuthClient {
        client_id: client_id.to_owned(),
        client_name: read.s("client_name")?.to_owned(),
        redirect_uris: read.strings("redirect_uris")?,
        created_at: read.n("created_at")?,
    })
}

fn code_item(code: &AuthorizationCode) -> Item {
    let mut item = code_key(&code.digest);
    item.extend([
        ("client_id".to_owned(), s(&code.client_id)),
        ("redirect_uri".to_owned(), s(&code.redirect_uri)),
        ("code_challenge".to_owned(), s(&code.code_challenge)),
        ("resource".to_owned(), s(&code.resource)),
        ("user_id".to_owned(), n(code.user_id)),
        ("scopes".to_owned(), s(code.scopes.to_scope_string())),
        ("contexts".to_owned(), contexts_value(&code.contexts)),
        (TTL_ATTRIBUTE.to_owned(), n(code.expires_at)),
    ]);
    item
}

fn code_from(digest: &str, item: &Item) -> StoreResult<AuthorizationCode> {
    let read = Read::new("authorization code", item);
    let (scopes, contexts) = grant_access(&read)?;
    Ok(AuthorizationCode {
        digest: digest.to_owned(),
        client_id: read.s("client_id")?.to_owned(),
        redirect_uri: read.s("redirect_uri")?.to_owned(),
        code_challenge: read.s("code_challenge")?.to_owned(),
        resource: read.s("resource")?.to_owned(),
        user_id: UserId(read.n("user_id")?),
        scopes,
        contexts,
        expires_at: read.n(TTL_ATTRIBUTE)?,
    })
}

/// When a revoked grant's record may go.
fn revoked_expiry(revoked_at: i64) -> AttributeValue {
    n(revoked_at.saturating_add(KEEP_REVOKED_SECONDS))
}

fn grant_item(grant: &Grant) -> Item {
    let mut item = grant_key(grant.user_id, &grant.id);
    item.extend([
        ("client_id".to_owned(), s(&grant.client_id)),
        ("client_name".to_owned(), s(&grant.client_name)),
        ("scopes".to_owned(), s(grant.scopes.to_scope_string())),
        ("contexts".to_owned(), contexts_value(&grant.contexts)),
        ("created_at".to_owned(), n(grant.created_at)),
        ("last_used_at".to_owned(), n(grant.last_used_at)),
        ("generation".to_owned(), n(grant.generation)),
    ]);
    if let Some(revoked_at) = grant.revoked_at {
        item.insert("revoked_at".to_owned(), n(revoked_at));
        item.insert(TTL_ATTRIBUTE.to_owned(), revoked_expiry(revoked_at));
    }
    item
}

fn grant_from(item: &Item) -> StoreResult<Grant> {
    let read = Read::new("grant", item);
    let user_id = read
        .s(TABLE_KEY.partition)?
        .strip_prefix(partition::GRANT)
        .and_then(|id| id.parse().ok())
        .map(UserId);
    let id = GrantId::parse(read.s(TABLE_KEY.sort)?);
    let (Some(user_id), Some(id)) = (user_id, id) else {
        return Err(StoreError::unavailable("corrupt item: grant key"));
    };
    let (scopes, contexts) = grant_access(&read)?;
    Ok(Grant {
        id,
        user_id,
        client_id: read.s("client_id")?.to_owned(),
        client_name: read.s("client_name")?.to_owned(),
        scopes,
        contexts,
        created_at: read.n("created_at")?,
        last_used_at: read.n("last_used_at")?,
        generation: read.n("generation")?,
        revoked_at: read.opt_n("revoked_at")?,
    })
}

fn put_refused(error: &SdkError<PutItemError>) -> bool {
    matches!(
        error.as_service_error(),
        Some(PutItemError::ConditionalCheckFailedException(_))
    )
}

fn update_refused(error: &SdkError<UpdateItemError>) -> bool {
    matches!(
        error.as_service_error(),
        Some(UpdateItemError::ConditionalCheckFailedException(_))
    )
}

impl DynamoStore {
    /// Puts an item that must be new: `Conflict` if its key is taken.
    async fn put_new(&self, item: Item) -> StoreResult<()> {
        let put = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .return_consumed_capacity(TOTAL)
            .send()
            .await;
        match put {
            Ok(output) => {
                charged_writes(output.consumed_capacity.as_ref());
                Ok(())
            }
            Err(e) if put_refused(&e) => Err(StoreError::Conflict),
            Err(e) => Err(unavailable("PutItem", e)),
        }
    }

    /// One conditional `UpdateItem`; `false` when its condition refused it.
    async fn update_if(
        &self,
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> StoreResult<bool> {
        match update.return_consumed_capacity(TOTAL).send().await {
            Ok(output) => {
                charged_writes(output.consumed_capacity.as_ref());
                Ok(true)
            }
            Err(e) if update_refused(&e) => Ok(false),
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }

    pub(super) async fn put_client(&self, client: &OAuthClient) -> StoreResult<()> {
        self.put_new(client_item(client)).await
    }

    pub(super) async fn read_client(&self, client_id: &str) -> StoreResult<Option<OAuthClient>> {
        self.get(client_key(client_id))
            .await?
            .map(|item| client_from(client_id, &item))
            .transpose()
    }

    pub(super) async fn put_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        self.put_new(code_item(code)).await
    }

    pub(super) async fn take_code(
        &self,
        digest: &str,
        now: i64,
    ) -> StoreResult<Option<AuthorizationCode>> {
        self.take_live(code_key(digest), now, "", Vec::new())
            .await?
            .map(|old| code_from(digest, &old))
            .transpose()
    }

    pub(super) async fn put_grant(&self, grant: &Grant) -> StoreResult<()> {
        self.put_new(grant_item(grant)).await
    }

    /// One strongly consistent `BatchGetItem` of the profile and the grant. Keys it
    /// leaves unprocessed (throttling) are asked for again, a bounded number of times.
    pub(super) async fn read_grant_caller(
        &self,
        user_id: UserId,
        id: &GrantId,
    ) -> StoreResult<Option<(User, Grant)>> {
        let items = self
            .get_consistently(
                "the grant caller's keys",
                vec![user_key(user_id), grant_key(user_id, id)],
            )
            .await?;
        let (mut user, mut grant) = (None, None);
        for item in &items {
            let pk = Read::new("grant caller", item).s(TABLE_KEY.partition)?;
            if pk.starts_with(partition::GRANT) {
                grant = Some(grant_from(item)?);
            } else {
                user = Some(user_from(item)?);
            }
        }
        Ok(user.zip(grant))
    }

    pub(super) async fn step_grant(
        &self,
        user_id: UserId,
        id: &GrantId,
        from: u64,
        now: i64,
    ) -> StoreResult<GrantRotation> {
        // No grant ever reaches the last generation, so a token naming it is an old one.
        let Some(next) = from.checked_add(1) else {
            return self.refuse_rotation(user_id, id, now).await;
        };
        let updated = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(grant_key(user_id, id)))
            .update_expression("SET generation = :next, last_used_at = :now")
            .condition_expression(
                "attribute_exists(PK) AND generation = :from AND attribute_not_exists(revoked_at)",
            )
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":from", n(from))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .return_consumed_capacity(TOTAL)
            .send()
            .await;
        match updated {
            Ok(output) => {
                charged_writes(output.consumed_capacity.as_ref());
                grant_from(&output.attributes.unwrap_or_default()).map(GrantRotation::Rotated)
            }
            Err(e) if update_refused(&e) => self.refuse_rotation(user_id, id, now).await,
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }

    /// A rotation whose condition failed: a strongly consistent read tells a grant that
    /// is gone from one at another generation, which this revokes.
    async fn refuse_rotation(
        &self,
        user_id: UserId,
        id: &GrantId,
        now: i64,
    ) -> StoreResult<GrantRotation> {
        let Some(item) = self.get(grant_key(user_id, id)).await? else {
            return Ok(GrantRotation::Gone);
        };
        if !grant_from(&item)?.is_live() {
            return Ok(GrantRotation::Gone);
        }
        // Live at another generation: an old refresh token. If a concurrent call
        // revoked it first, it is revoked all the same.
        self.end_grant(user_id, id, now).await?;
        Ok(GrantRotation::Reused)
    }

    pub(super) async fn end_grant(
        &self,
        user_id: UserId,
        id: &GrantId,
        now: i64,
    ) -> StoreResult<bool> {
        self.update_if(
            self.client
                .update_item()
                .table_name(self.table.as_ref())
                .set_key(Some(grant_key(user_id, id)))
                .update_expression("SET revoked_at = :now, #ttl = :ttl")
                .condition_expression("attribute_exists(PK) AND attribute_not_exists(revoked_at)")
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":ttl", revoked_expiry(now)),
        )
        .await
    }

    /// The user's live grants, newest first: a strongly consistent query of their
    /// partition, page by page until enough are found.
    pub(super) async fn live_grants(&self, user_id: UserId) -> StoreResult<Vec<Grant>> {
        let mut pages = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .key_condition_expression("PK = :pk")
            .filter_expression("attribute_not_exists(revoked_at)")
            .expression_attribute_values(":pk", s(grant_partition(user_id)))
            .scan_index_forward(false)
            .consistent_read(true)
            .return_consumed_capacity(TOTAL)
            .into_paginator()
            .send();
        let mut grants = Vec::new();
        while grants.len() < MAX_LISTED_GRANTS {
            let Some(page) = pages.next().await else {
                break;
            };
            let page = page.map_err(|e| unavailable("Query", e))?;
            super::calls::charged_reads(page.consumed_capacity.as_ref());
            for item in page.items() {
                grants.push(grant_from(item)?);
            }
        }
        grants.truncate(MAX_LISTED_GRANTS);
        Ok(grants)
    }

    pub(super) async fn mark_grant_used(
        &self,
        user_id: UserId,
        id: &GrantId,
        now: i64,
    ) -> StoreResult<()> {
        self.update_if(
            self.client
                .update_item()
                .table_name(self.table.as_ref())
                .set_key(Some(grant_key(user_id, id)))
                .update_expression("SET last_used_at = :now")
                .condition_expression(
                    "attribute_exists(PK) AND attribute_not_exists(revoked_at) \
                     AND last_used_at < :stale",
                )
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(
                    ":stale",
                    n(now.saturating_sub(TOUCH_INTERVAL_SECONDS)),
                ),
        )
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ContextName, ContextRef};

    #[test]
    fn oauth_items_read_back_as_what_was_stored() {
        let contexts = GrantContexts::only(vec![ContextRef {
            owner: UserId(9),
            name: ContextName::parse("notes").expect("name"),
        }])
        .expect("contexts");
        let grant = Grant {
            id: GrantId::generate(),
            user_id: UserId(42),
            client_id: "https://agent.example/client.json".to_owned(),
            client_name: "Agent".to_owned(),
            scopes: Scopes::all(),
            contexts: contexts.clone(),
            created_at: 1_700_000_000,
            last_used_at: 1_700_000_100,
            generation: 3,
            revoked_at: Some(1_700_000_200),
        };
        assert_eq!(grant_from(&grant_item(&grant)).expect("read"), grant);
        let code = AuthorizationCode {
            digest: "ab".repeat(32),
            client_id: "01J".to_owned(),
            redirect_uri: "http://127.0.0.1:9/cb".to_owned(),
            code_challenge: "challenge".to_owned(),
            resource: "https://mem0.example/mcp".to_owned(),
            user_id: UserId(42),
            scopes: Scopes::parse("memories:read").expect("scope"),
            contexts,
            expires_at: 1_700_000_060,
        };
        assert_eq!(
            code_from(&code.digest, &code_item(&code)).expect("read"),
            code
        );
        let client = OAuthClient {
            client_id: "01J".to_owned(),
            client_name: "Agent".to_owned(),
            redirect_uris: vec!["http://127.0.0.1:9/cb".to_owned()],
            created_at: 1_700_000_000,
        };
        assert_eq!(
            client_from(&client.client_id, &client_item(&client)).expect("read"),
            client
        );
    }
}
