//! Organizations on the table.
//!
//! | item | `PK` | `SK` | attributes |
//! |---|---|---|---|
//! | organization | `ORG#<org_id>` | `PROFILE` | as in `mod.rs`, plus `admin_count` |
//! | invitation | `INVITE#<sha256(token) hex>` | `INVITE` | `invitation_id`, `token_hash`, `organization_id`, `email`, `role`, `invited_by`, `created_at`, `valid_until` (Unix s), `expires_at` (time to live, a day later) |
//! | invitation, as listed | `ORG#<org_id>` | `INVITE#<invitation_id>` | the same attributes |
//! | member | the user profile (`USER#<user_id>`) with `organization_id`, `role`, `joined_at` | | `GSI1PK = ORG#<org_id>`, `GSI1SK = MEMBER#<user_id>` |
//!
//! Why it holds under concurrency: using an invitation deletes its item on condition
//! that it is there and unexpired, in the transaction that makes the member, so one
//! acceptance wins. The organization's `admin_count` moves in the same transaction as
//! the role on the profile, and a demotion or removal of an admin is conditioned on
//! `admin_count > 1` (and on the member's role being what was read, and the actor still
//! being an admin), so however many admins demote each other at once, one stays.

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::calls::{Transaction, transact, unavailable};
use super::item::{
    INVITATION_PREFIX, Item, MEMBER_PREFIX, Read, email_key, invitation_key,
    invitation_listing_key, member_index, n, organization_key, organization_partition, s,
    timestamp, user_from, user_item, user_key,
};
use super::schema::{GSI1, TTL_ATTRIBUTE};
use super::{DynamoStore, now};
use crate::{
    Account, Invitation, Invitee, Member, OrgRole, OrganizationId, OrganizationProfile, Role,
    Store, StoreError, StoreResult, User, UserId,
};

/// How long past its expiry DynamoDB may keep an invitation before it forgets it; the
/// expiry itself is checked by every read and by the acceptance's condition.
const FORGET_AFTER_SECONDS: i64 = 86_400;

/// How often a role change is tried again when the member changed between its read and
/// its write.
const ROLE_ATTEMPTS: usize = 3;

fn org_role(role: Role) -> OrgRole {
    match role {
        Role::Admin => OrgRole::Admin,
        Role::Viewer => OrgRole::Viewer,
        Role::Member | Role::User => OrgRole::Member,
    }
}

fn invitation_attributes(invitation: &Invitation) -> StoreResult<Item> {
    Ok(Item::from([
        ("invitation_id".to_owned(), s(&invitation.id)),
        ("token_hash".to_owned(), s(&invitation.token_hash)),
        ("organization_id".to_owned(), n(invitation.organization_id)),
        ("email".to_owned(), s(invitation.email.as_str())),
        ("role".to_owned(), s(invitation.role.as_str())),
        ("invited_by".to_owned(), n(invitation.invited_by)),
        ("created_at".to_owned(), timestamp(invitation.created_at)?),
        (
            "valid_until".to_owned(),
            n(invitation.expires_at.unix_timestamp()),
        ),
        (
            TTL_ATTRIBUTE.to_owned(),
            n(invitation
                .expires_at
                .unix_timestamp()
                .saturating_add(FORGET_AFTER_SECONDS)),
        ),
    ]))
}

fn invitation_from(item: &Item) -> StoreResult<Invitation> {
    let read = Read::new("invitation", item);
    let valid_until: i64 = read.n("valid_until")?;
    Ok(Invitation {
        id: read.s("invitation_id")?.to_owned(),
        token_hash: read.s("token_hash")?.to_owned(),
        organization_id: OrganizationId(read.n("organization_id")?),
        email: read.parsed("email", |raw| crate::Email::parse(raw).ok())?,
        role: read.parsed("role", |raw| OrgRole::parse(raw).ok())?,
        invited_by: UserId(read.n("invited_by")?),
        created_at: read.timestamp("created_at")?,
        expires_at: OffsetDateTime::from_unix_timestamp(valid_until).map_err(|_| {
            StoreError::unavailable("corrupt item: invitation `valid_until` out of range")
        })?,
    })
}

fn member_from(item: &Item) -> StoreResult<Member> {
    let user = user_from(item)?;
    let read = Read::new("member", item);
    let joined_at = match read.opt_s("joined_at")? {
        Some(_) => read.timestamp("joined_at")?,
        None => user.created_at,
    };
    Ok(Member {
        user_id: user.id,
        email: user.email,
        name: user.name,
        role: org_role(user.role),
        joined_at,
    })
}

impl DynamoStore {
    fn transaction_error(e: impl std::error::Error) -> StoreError {
        unavailable("TransactWriteItems", e)
    }

    fn delete_item(&self, key: Item) -> StoreResult<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(key))
            .build()
            .map_err(Self::transaction_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Moves the organization's `admin_count` by `delta`; a decrease only while another
    /// admin is left.
    fn count_admins(
        &self,
        organization: OrganizationId,
        delta: i64,
    ) -> StoreResult<TransactWriteItem> {
        let condition = if delta < 0 {
            "admin_count > :one"
        } else {
            "attribute_exists(PK)"
        };
        let mut update = Update::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(organization_key(organization)))
            .update_expression("ADD admin_count :delta")
            .condition_expression(condition)
            .expression_attribute_values(":delta", n(delta));
        if delta < 0 {
            update = update.expression_attribute_values(":one", n(1));
        }
        let update = update.build().map_err(Self::transaction_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Holds the transaction to `actor` still being an admin of `organization`.
    fn still_admin(
        &self,
        organization: OrganizationId,
        actor: UserId,
    ) -> StoreResult<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(user_key(actor)))
            .condition_expression("organization_id = :org AND #role = :admin")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":org", n(organization))
            .expression_attribute_values(":admin", s(Role::Admin.as_str()))
            .build()
            .map_err(Self::transaction_error)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Uses up the invitation: its item (on condition that it is there and unexpired)
    /// and its listing.
    fn use_invitation(
        &self,
        invitation: &Invitation,
        now: OffsetDateTime,
    ) -> StoreResult<[TransactWriteItem; 2]> {
        let delete = Delete::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(invitation_key(&invitation.token_hash)))
            .condition_expression("attribute_exists(PK) AND valid_until > :now")
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .build()
            .map_err(Self::transaction_error)?;
        Ok([
            TransactWriteItem::builder().delete(delete).build(),
            self.delete_item(invitation_listing_key(
                invitation.organization_id,
                &invitation.id,
            ))?,
        ])
    }

    pub(super) async fn organization_profile(
        &self,
        id: OrganizationId,
    ) -> StoreResult<Option<OrganizationProfile>> {
        let Some(item) = self.get(organization_key(id)).await? else {
            return Ok(None);
        };
        let read = Read::new("organization", &item);
        Ok(Some(OrganizationProfile {
            id,
            name: read.s("name")?.to_owned(),
            domain: read.opt_s("domain")?.map(str::to_owned),
            size: read.opt_s("size")?.map(str::to_owned),
            industry: read.opt_s("industry")?.map(str::to_owned),
        }))
    }

    pub(super) async fn organization_members(
        &self,
        organization: OrganizationId,
    ) -> StoreResult<Vec<Member>> {
        let query = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .index_name(GSI1.name)
            .key_condition_expression("GSI1PK = :pk AND begins_with(GSI1SK, :prefix)")
            .expression_attribute_values(":pk", s(organization_partition(organization)))
            .expression_attribute_values(":prefix", s(MEMBER_PREFIX));
        let mut members = self
            .query_all(query)
            .await?
            .iter()
            .map(member_from)
            .collect::<StoreResult<Vec<_>>>()?;
        // The index may lag a removal; the profile's own organization is the truth.
        members.sort_by_key(|member| member.user_id);
        Ok(members)
    }

    pub(super) async fn put_invitation(&self, invitation: &Invitation) -> StoreResult<()> {
        let attributes = invitation_attributes(invitation)?;
        let mut by_token = invitation_key(&invitation.token_hash);
        by_token.extend(attributes.clone());
        let mut listed = invitation_listing_key(invitation.organization_id, &invitation.id);
        listed.extend(attributes);
        let items = vec![
            self.put(by_token, "attribute_not_exists(PK)")?,
            self.put(listed, "attribute_not_exists(PK)")?,
        ];
        match transact(&self.client, "TransactWriteItems (invite)", items).await? {
            Transaction::Committed => Ok(()),
            Transaction::Refused { .. } => Err(StoreError::unavailable(
                "invite refused: a fresh invitation token or id is already in use",
            )),
        }
    }

    pub(super) async fn pending_invitations(
        &self,
        organization: OrganizationId,
    ) -> StoreResult<Vec<Invitation>> {
        let query = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(organization_partition(organization)))
            .expression_attribute_values(":prefix", s(INVITATION_PREFIX))
            .consistent_read(true);
        self.query_all(query)
            .await?
            .iter()
            .map(invitation_from)
            .collect()
    }

    pub(super) async fn invitation_by_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<Invitation>> {
        self.get(invitation_key(token_hash))
            .await?
            .as_ref()
            .map(invitation_from)
            .transpose()
    }

    pub(super) async fn revoke(&self, organization: OrganizationId, id: &str) -> StoreResult<()> {
        let Some(listed) = self.get(invitation_listing_key(organization, id)).await? else {
            return Err(StoreError::NotFound);
        };
        let invitation = invitation_from(&listed)?;
        let remove_listing = Delete::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(invitation_listing_key(organization, id)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(Self::transaction_error)?;
        let items = vec![
            TransactWriteItem::builder().delete(remove_listing).build(),
            self.delete_item(invitation_key(&invitation.token_hash))?,
        ];
        match transact(&self.client, "TransactWriteItems (revoke)", items).await? {
            Transaction::Committed => Ok(()),
            Transaction::Refused { .. } => Err(StoreError::NotFound),
        }
    }

    pub(super) async fn accept(
        &self,
        invitation: &Invitation,
        invitee: Invitee,
        at: OffsetDateTime,
    ) -> StoreResult<User> {
        let organization = invitation.organization_id;
        let account = Account::member(organization, invitation.role);
        let admin_delta = i64::from(invitation.role == OrgRole::Admin);
        let mut items = self.use_invitation(invitation, at)?.to_vec();
        let user_id = match invitee {
            Invitee::Existing(id) => {
                let update = Update::builder()
                    .table_name(self.table.as_ref())
                    .set_key(Some(user_key(id)))
                    .update_expression(
                        "SET organization_id = :org, #role = :role, account_type = :type, \
                         joined_at = :joined, GSI1PK = :gpk, GSI1SK = :gsk",
                    )
                    .condition_expression(
                        "attribute_exists(PK) AND attribute_not_exists(organization_id)",
                    )
                    .expression_attribute_names("#role", "role")
                    .expression_attribute_values(":org", n(organization))
                    .expression_attribute_values(":role", s(account.role.as_str()))
                    .expression_attribute_values(":type", s(account.account_type.as_str()))
                    .expression_attribute_values(":joined", timestamp(at)?);
                let [(_, gpk), (_, gsk)] = member_index(organization, id);
                let update = update
                    .expression_attribute_values(":gpk", gpk)
                    .expression_attribute_values(":gsk", gsk)
                    .build()
                    .map_err(Self::transaction_error)?;
                items.push(TransactWriteItem::builder().update(update).build());
                id
            }
            Invitee::New {
                name,
                password_hash,
            } => {
                // Spares an id for the common case; the transaction decides races.
                if self.get(email_key(&invitation.email)).await?.is_some() {
                    return Err(StoreError::EmailTaken);
                }
                let mut user = User::create(
                    UserId(self.next_id("user").await?),
                    invitation.email.clone(),
                    name,
                    account,
                    now(),
                );
                // The invitation went to this address: following its link proves it.
                user.email_verified = true;
                let mut email = email_key(&user.email);
                email.extend([
                    ("user_id".to_owned(), n(user.id)),
                    ("password_hash".to_owned(), s(password_hash)),
                ]);
                items.push(self.put(email, "attribute_not_exists(PK)")?);
                items.push(self.put(user_item(&user)?, "attribute_not_exists(PK)")?);
                user.id
            }
        };
        let new_account = items.len() == 5;
        items.push(self.count_admins(organization, admin_delta)?);
        match transact(
            &self.client,
            "TransactWriteItems (accept invitation)",
            items,
        )
        .await?
        {
            Transaction::Committed => {}
            refused if refused.refused_item(0) => return Err(StoreError::InvitationGone),
            refused if new_account && refused.refused_item(2) => {
                return Err(StoreError::EmailTaken);
            }
            refused if !new_account && refused.refused_item(2) => {
                return Err(StoreError::InOrganization);
            }
            _ => return Err(StoreError::NotFound),
        }
        self.user(user_id).await?.ok_or_else(|| {
            StoreError::unavailable(format!("user {user_id} missing right after joining"))
        })
    }

    /// Gives `member` the `role`, or takes them out (`None`); see `Store::set_role`.
    pub(super) async fn change_member(
        &self,
        organization: OrganizationId,
        actor: UserId,
        member: UserId,
        role: Option<OrgRole>,
    ) -> StoreResult<()> {
        for _ in 0..ROLE_ATTEMPTS {
            let Some(user) = self.user(member).await? else {
                return Err(StoreError::NotFound);
            };
            let Some(current) = user
                .membership()
                .filter(|m| m.organization_id == organization)
            else {
                return Err(StoreError::NotFound);
            };
            let leaving = role.is_none() && actor == member;
            if actor == member && !leaving && current.role != OrgRole::Admin {
                return Err(StoreError::NotAdmin);
            }
            if role == Some(current.role) {
                return Ok(());
            }
            let was_admin = current.role == OrgRole::Admin;
            let admin_after = role == Some(OrgRole::Admin);
            let update = Update::builder()
                .table_name(self.table.as_ref())
                .set_key(Some(user_key(member)))
                .condition_expression("organization_id = :org AND #role = :old")
                .expression_attribute_names("#role", "role")
                .expression_attribute_values(":org", n(organization))
                .expression_attribute_values(":old", s(user.role.as_str()));
            let update = match role {
                Some(role) => {
                    let account = Account::member(organization, role);
                    update
                        .update_expression("SET #role = :role, account_type = :type")
                        .expression_attribute_values(":role", s(account.role.as_str()))
                        .expression_attribute_values(":type", s(account.account_type.as_str()))
                }
                None => {
                    let account = Account::individual();
                    update
                        .update_expression(
                            "SET #role = :role, account_type = :type \
                             REMOVE organization_id, joined_at, GSI1PK, GSI1SK",
                        )
                        .expression_attribute_values(":role", s(account.role.as_str()))
                        .expression_attribute_values(":type", s(account.account_type.as_str()))
                }
            }
            .build()
            .map_err(Self::transaction_error)?;
            let mut items = vec![TransactWriteItem::builder().update(update).build()];
            let counted = was_admin != admin_after;
            if counted {
                items.push(self.count_admins(organization, if admin_after { 1 } else { -1 })?);
            }
            let checked = actor != member;
            if checked {
                items.push(self.still_admin(organization, actor)?);
            }
            match transact(&self.client, "TransactWriteItems (membership)", items).await? {
                Transaction::Committed => return Ok(()),
                refused if checked && refused.refused_item(items_len(counted)) => {
                    return Err(StoreError::NotAdmin);
                }
                refused if counted && refused.refused_item(1) => {
                    return Err(StoreError::LastAdmin);
                }
                // The member changed between the read and the write: read again.
                _ => continue,
            }
        }
        Err(StoreError::Changed)
    }
}

/// The index of the actor's check among a membership change's items.
fn items_len(counted: bool) -> usize {
    1 + usize::from(counted)
}
