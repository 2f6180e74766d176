//! Organizations in the SQLite file: members are the users rows that name the
//! organization; invitations have a table of their own. Every change runs inside the
//! caller's `BEGIN IMMEDIATE` transaction, so its checks and writes are one step.

use rusqlite::{OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;

use super::rows::{corrupt, timestamp, timestamp_at};
use super::{inserted_id, is_unique_violation};
use crate::{
    Account, Email, Invitation, Invitee, Member, OrgRole, OrganizationId, OrganizationProfile,
    Role, StoreError, StoreResult, User, UserId,
};

const INVITATION_COLUMNS: &str =
    "id, token_hash, organization_id, email, role, invited_by, created_at, expires_at";

fn org_role_at(row: &Row<'_>, column: usize) -> rusqlite::Result<OrgRole> {
    let raw: String = row.get(column)?;
    match Role::parse(&raw) {
        Some(Role::Admin) => Ok(OrgRole::Admin),
        Some(Role::Viewer) => Ok(OrgRole::Viewer),
        Some(Role::Member | Role::User) => Ok(OrgRole::Member),
        None => Err(corrupt(column, format!("unknown role {raw:?}"))),
    }
}

fn email_at(row: &Row<'_>, column: usize) -> rusqlite::Result<Email> {
    let raw: String = row.get(column)?;
    Email::parse(&raw).map_err(|e| corrupt(column, e))
}

fn invitation_from_row(row: &Row<'_>) -> rusqlite::Result<Invitation> {
    Ok(Invitation {
        id: row.get(0)?,
        token_hash: row.get(1)?,
        organization_id: OrganizationId(row.get(2)?),
        email: email_at(row, 3)?,
        role: org_role_at(row, 4)?,
        invited_by: UserId(row.get(5)?),
        created_at: timestamp_at(row, 6)?,
        expires_at: timestamp_at(row, 7)?,
    })
}

pub(super) fn organization(
    transaction: &Transaction<'_>,
    id: OrganizationId,
) -> StoreResult<Option<OrganizationProfile>> {
    transaction
        .query_row(
            "SELECT id, name, domain, size, industry FROM organizations WHERE id = ?1",
            [id.0],
            |row| {
                Ok(OrganizationProfile {
                    id: OrganizationId(row.get(0)?),
                    name: row.get(1)?,
                    domain: row.get(2)?,
                    size: row.get(3)?,
                    industry: row.get(4)?,
                })
            },
        )
        .optional()
        .map_err(StoreError::unavailable)
}

pub(super) fn members(
    transaction: &Transaction<'_>,
    organization: OrganizationId,
) -> StoreResult<Vec<Member>> {
    transaction
        .prepare_cached(
            "SELECT id, email, name, role, coalesce(joined_at, created_at) FROM users
             WHERE organization_id = ?1 ORDER BY id",
        )
        .and_then(|mut statement| {
            statement
                .query_map([organization.0], |row| {
                    Ok(Member {
                        user_id: UserId(row.get(0)?),
                        email: email_at(row, 1)?,
                        name: row.get(2)?,
                        role: org_role_at(row, 3)?,
                        joined_at: timestamp_at(row, 4)?,
                    })
                })?
                .collect()
        })
        .map_err(StoreError::unavailable)
}

pub(super) fn create_invitation(
    transaction: &Transaction<'_>,
    invitation: &Invitation,
) -> StoreResult<()> {
    transaction
        .execute(
            &format!("INSERT INTO invitations ({INVITATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                invitation.id,
                invitation.token_hash,
                invitation.organization_id.0,
                invitation.email.as_str(),
                invitation.role.as_str(),
                invitation.invited_by.0,
                timestamp(invitation.created_at)?,
                timestamp(invitation.expires_at)?
            ],
        )
        .map(drop)
        .map_err(StoreError::unavailable)
}

pub(super) fn invitations(
    transaction: &Transaction<'_>,
    organization: OrganizationId,
) -> StoreResult<Vec<Invitation>> {
    transaction
        .prepare_cached(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE organization_id = ?1
             ORDER BY created_at, id"
        ))
        .and_then(|mut statement| {
            statement
                .query_map([organization.0], invitation_from_row)?
                .collect()
        })
        .map_err(StoreError::unavailable)
}

pub(super) fn invitation(
    transaction: &Transaction<'_>,
    token_hash: &str,
) -> StoreResult<Option<Invitation>> {
    transaction
        .prepare_cached(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = ?1"
        ))
        .and_then(|mut statement| {
            statement
                .query_row([token_hash], invitation_from_row)
                .optional()
        })
        .map_err(StoreError::unavailable)
}

pub(super) fn revoke_invitation(
    transaction: &Transaction<'_>,
    organization: OrganizationId,
    id: &str,
) -> StoreResult<()> {
    match transaction
        .execute(
            "DELETE FROM invitations WHERE id = ?1 AND organization_id = ?2",
            params![id, organization.0],
        )
        .map_err(StoreError::unavailable)?
    {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub(super) fn accept(
    transaction: &Transaction<'_>,
    invitation: &Invitation,
    invitee: Invitee,
    now: OffsetDateTime,
) -> StoreResult<User> {
    // Deleting the row is what uses the invitation up: a second acceptance finds none.
    let used = transaction
        .execute(
            "DELETE FROM invitations WHERE token_hash = ?1 AND expires_at > ?2",
            params![invitation.token_hash, timestamp(now)?],
        )
        .map_err(StoreError::unavailable)?;
    if used == 0 {
        return Err(StoreError::InvitationGone);
    }
    let account = Account::member(invitation.organization_id, invitation.role);
    let stamp = timestamp(now)?;
    let user_id = match invitee {
        Invitee::Existing(id) => {
            let joined = transaction
                .execute(
                    "UPDATE users SET organization_id = ?1, role = ?2, account_type = ?3,
                                      joined_at = ?4
                     WHERE id = ?5 AND organization_id IS NULL",
                    params![
                        invitation.organization_id.0,
                        account.role.as_str(),
                        account.account_type.as_str(),
                        stamp,
                        id.0
                    ],
                )
                .map_err(StoreError::unavailable)?;
            if joined == 0 {
                return Err(StoreError::InOrganization);
            }
            id
        }
        Invitee::New {
            name,
            password_hash,
        } => {
            let inserted = transaction.execute(
                "INSERT INTO users (email, name, password_hash, account_type, role,
                                    organization_id, email_verified, created_at, joined_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7)",
                params![
                    invitation.email.as_str(),
                    name.as_str(),
                    password_hash,
                    account.account_type.as_str(),
                    account.role.as_str(),
                    invitation.organization_id.0,
                    stamp
                ],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(StoreError::EmailTaken),
                Err(e) => return Err(StoreError::unavailable(e)),
                Ok(_) => UserId(inserted_id(transaction)?),
            }
        }
    };
    transaction
        .query_row(
            &format!(
                "SELECT {} FROM users WHERE id = ?1",
                super::rows::USER_COLUMNS
            ),
            [user_id.0],
            super::rows::credentials_from_row,
        )
        .map(|credentials| credentials.user)
        .map_err(StoreError::unavailable)
}

/// The role of `user` in `organization`, if they are a member of it.
fn role_in(
    transaction: &Transaction<'_>,
    organization: OrganizationId,
    user: UserId,
) -> StoreResult<Option<OrgRole>> {
    transaction
        .query_row(
            "SELECT role FROM users WHERE id = ?1 AND organization_id = ?2",
            params![user.0, organization.0],
            |row| org_role_at(row, 0),
        )
        .optional()
        .map_err(StoreError::unavailable)
}

/// Gives `member` the `role`, or takes them out of the organization (`None`).
pub(super) fn set_role(
    transaction: &Transaction<'_>,
    organization: OrganizationId,
    actor: UserId,
    member: UserId,
    role: Option<OrgRole>,
) -> StoreResult<()> {
    let Some(old) = role_in(transaction, organization, member)? else {
        return Err(StoreError::NotFound);
    };
    let leaving = role.is_none() && actor == member;
    if !leaving && role_in(transaction, organization, actor)? != Some(OrgRole::Admin) {
        return Err(StoreError::NotAdmin);
    }
    if old == OrgRole::Admin && role != Some(OrgRole::Admin) {
        let admins: i64 = transaction
            .query_row(
                "SELECT count(*) FROM users WHERE organization_id = ?1 AND role = ?2",
                params![organization.0, Role::Admin.as_str()],
                |row| row.get(0),
            )
            .map_err(StoreError::unavailable)?;
        if admins <= 1 {
            return Err(StoreError::LastAdmin);
        }
    }
    let (account, joined_at) = match role {
        Some(role) => (Account::member(organization, role), "joined_at"),
        None => (Account::individual(), "NULL"),
    };
    transaction
        .execute(
            &format!(
                "UPDATE users SET role = ?1, account_type = ?2, organization_id = ?3,
                                  joined_at = {joined_at}
                 WHERE id = ?4"
            ),
            params![
                account.role.as_str(),
                account.account_type.as_str(),
                account.organization_id.map(|id| id.0),
                member.0
            ],
        )
        .map(drop)
        .map_err(StoreError::unavailable)
}
