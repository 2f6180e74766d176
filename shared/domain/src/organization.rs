//! Organizations: their members, roles and invitations, and how a shared context is
//! addressed beside the caller's own.

use serde::Serialize;
use time::OffsetDateTime;

use crate::{ContextName, Email, OrganizationId, ParseError, Role, UserId, refuse};

/// What a member may do in their organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    /// Manages members and invitations; deletes any shared context.
    Admin,
    /// Reads and writes the shared contexts.
    Member,
    /// Reads the shared contexts only.
    Viewer,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        Role::from(self).as_str()
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            "viewer" => Ok(Self::Viewer),
            _ => Err(refuse("role must be \"admin\", \"member\" or \"viewer\".")),
        }
    }

    /// Whether this role may add and delete memories of shared contexts.
    pub fn writes_shared(self) -> bool {
        matches!(self, Self::Admin | Self::Member)
    }
}

impl From<OrgRole> for Role {
    fn from(role: OrgRole) -> Self {
        match role {
            OrgRole::Admin => Role::Admin,
            OrgRole::Member => Role::Member,
            OrgRole::Viewer => Role::Viewer,
        }
    }
}

/// Someone's place in an organization, as the store has it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub organization_id: OrganizationId,
    pub role: OrgRole,
}

/// An organization's profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationProfile {
    pub id: OrganizationId,
    pub name: String,
    pub domain: Option<String>,
    pub size: Option<String>,
    pub industry: Option<String>,
}

/// One member as the organization's member list shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub email: Email,
    pub name: String,
    pub role: OrgRole,
    pub joined_at: OffsetDateTime,
}

/// A pending invitation. The token it was mailed with is stored only as its SHA-256
/// digest (`token_hash`, hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// A ULID: what admins list and revoke it by; it cannot be used to accept.
    pub id: String,
    pub token_hash: String,
    pub organization_id: OrganizationId,
    pub email: Email,
    pub role: OrgRole,
    pub invited_by: UserId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl Invitation {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

/// Who accepts an invitation: an account that exists, or one created for the invited
/// email (its password already an argon2id PHC string).
#[derive(Debug, Clone)]
pub enum Invitee {
    Existing(UserId),
    New {
        name: crate::DisplayName,
        password_hash: String,
    },
}

/// How a context is addressed in `/contexts/{context}`: `name` is the caller's own,
/// `<owner_id>:<name>` the context `name` of user `owner_id` (a shared one, or the
/// caller's own when the id is theirs). A name cannot hold `:`, so the two never clash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextAddress {
    Own(ContextName),
    Of(UserId, ContextName),
}

impl ContextAddress {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.split_once(':') {
            None => ContextName::parse(raw).map(Self::Own),
            Some((owner, name)) => {
                let owner = owner
                    .parse::<u64>()
                    .ok()
                    .filter(|id| *id > 0 && owner.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        refuse("A shared context is addressed as <owner_id>:<name>, the owner's id a number.")
                    })?;
                Ok(Self::Of(UserId(owner), ContextName::parse(name)?))
            }
        }
    }

    pub fn name(&self) -> &ContextName {
        match self {
            Self::Own(name) | Self::Of(_, name) => name,
        }
    }
}

impl std::fmt::Display for ContextAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Own(name) => write!(f, "{name}"),
            Self::Of(owner, name) => write!(f, "{owner}:{name}"),
        }
    }
}

/// The path segment addressing the context `name` of `owner`, as `href`s carry it.
pub fn shared_address(owner: UserId, name: &ContextName) -> String {
    format!("{owner}:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_the_contracts_three_and_map_onto_the_login_roles() {
        for (raw, role) in [
            ("admin", OrgRole::Admin),
            ("member", OrgRole::Member),
            ("viewer", OrgRole::Viewer),
        ] {
            assert_eq!(OrgRole::parse(raw), Ok(role));
            assert_eq!(role.as_str(), raw);
            assert_eq!(Role::from(role).as_str(), raw);
        }
        for bad in ["", "user", "Admin", "owner"] {
            assert!(OrgRole::parse(bad).is_err(), "{bad:?}");
        }
        assert!(!OrgRole::Viewer.writes_shared());
        assert!(OrgRole::Member.writes_shared() && OrgRole::Admin.writes_shared());
    }

    #[test]
    fn a_plain_name_is_the_callers_own_and_owner_colon_name_anothers() {
        assert_eq!(
            ContextAddress::parse("notes"),
            Ok(ContextAddress::Own(ContextName::parse("notes").unwrap()))
        );
        assert_eq!(
            ContextAddress::parse("12:notes"),
            Ok(ContextAddress::Of(
                UserId(12),
                ContextName::parse("notes").unwrap()
            ))
        );
        for bad in [
            ":notes", "x:notes", "-1:notes", "+1:notes", "0:notes", "1:", "1:a:b", "1:..",
        ] {
            assert!(ContextAddress::parse(bad).is_err(), "{bad:?}");
        }
        let name = ContextName::parse("notes").unwrap();
        assert_eq!(
            ContextAddress::parse(&shared_address(UserId(3), &name)),
            Ok(ContextAddress::Of(UserId(3), name))
        );
    }
}
