//! One-time tokens, email verification and password changes on DynamoDB.
//!
//! | item | `PK` | `SK` | attributes |
//! |---|---|---|---|
//! | one-time token | `ONETIME#<sha-256 of the token, hex>` | `ONETIME` | `purpose`, `user_id`, `stamp`, `expires_at` (time to live) |
//!
//! A token is used up by a `DeleteItem` conditioned on its purpose and expiry: of
//! concurrent uses exactly one deletes it and gets its attributes back. Time to live
//! removes the ones never used (DynamoDB may take days, hence the expiry condition).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoStore;
use super::calls::{TOTAL, charged_writes, unavailable};
use super::item::{Item, Read, email_key, n, s, user_key};
use super::schema::{TABLE_KEY, TTL_ATTRIBUTE, partition};
use crate::{Email, NewOneTime, Purpose, StoreError, StoreResult, UsedOneTime, UserId};

pub(super) fn one_time_key(digest: &str) -> Item {
    HashMap::from([
        (
            TABLE_KEY.partition.to_owned(),
            s(format!("{}{digest}", partition::ONE_TIME)),
        ),
        (TABLE_KEY.sort.to_owned(), s("ONETIME")),
    ])
}

impl DynamoStore {
    pub(super) async fn put_one_time_token(&self, token: NewOneTime) -> StoreResult<()> {
        let mut item = one_time_key(&token.digest);
        item.extend([
            ("purpose".to_owned(), s(token.purpose.as_str())),
            ("user_id".to_owned(), n(token.user_id)),
            ("stamp".to_owned(), s(token.stamp)),
            (TTL_ATTRIBUTE.to_owned(), n(token.expires_at)),
        ]);
        let output = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            // 256 random bits never collide; a collision would be a bug, not a retry.
            .condition_expression("attribute_not_exists(PK)")
            .return_consumed_capacity(TOTAL)
            .send()
            .await
            .map_err(|e| unavailable("PutItem", e))?;
        charged_writes(output.consumed_capacity.as_ref());
        Ok(())
    }

    pub(super) async fn use_one_time_token(
        &self,
        digest: &str,
        purpose: Purpose,
        now: i64,
    ) -> StoreResult<Option<UsedOneTime>> {
        let taken = self
            .take_live(
                one_time_key(digest),
                now,
                "purpose = :purpose",
                vec![(":purpose", s(purpose.as_str()))],
            )
            .await?;
        let Some(old) = taken else {
            return Ok(None);
        };
        let read = Read::new("one-time token", &old);
        Ok(Some(UsedOneTime {
            user_id: UserId(read.n("user_id")?),
            stamp: read.s("stamp")?.to_owned(),
            expires_at: read.n(TTL_ATTRIBUTE)?,
        }))
    }

    pub(super) async fn set_email_verified(&self, user: UserId) -> StoreResult<()> {
        let updated = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(user_key(user)))
            .update_expression("SET email_verified = :yes")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .return_consumed_capacity(TOTAL)
            .send()
            .await;
        match updated {
            Ok(output) => {
                charged_writes(output.consumed_capacity.as_ref());
                Ok(())
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }

    pub(super) async fn swap_password_hash(
        &self,
        email: &Email,
        current: &str,
        new: String,
    ) -> StoreResult<bool> {
        let updated = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(email_key(email)))
            .update_expression("SET password_hash = :new")
            .condition_expression("attribute_exists(PK) AND password_hash = :current")
            .expression_attribute_values(":new", s(new))
            .expression_attribute_values(":current", s(current))
            .return_consumed_capacity(TOTAL)
            .send()
            .await;
        match updated {
            Ok(output) => {
                charged_writes(output.consumed_capacity.as_ref());
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }
}
