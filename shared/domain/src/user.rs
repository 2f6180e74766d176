//! Who signs up and logs in: people, their organizations, and what an account may do.

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;

use crate::{Membership, OrgRole, ParseError, longer_than, refuse};

/// A trimmed, lower-cased email address with a plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let email = raw.trim().to_lowercase();
        let invalid = || refuse("Enter a valid email address, like name@example.com.");
        if email.is_empty() || email.len() > Self::MAX_LEN {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.chars().any(|c| c.is_whitespace() || c.is_control());
        if domain_ok && local_ok {
            Ok(Self(email))
        } else {
            Err(invalid())
        }
    }

    /// The part before the `@`, used to refuse passwords built from it.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

text_newtype!(Email);

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

numeric_id!(
    /// Allocated atomically by the store: 1, 2, 3, ...
    UserId
);
numeric_id!(
    /// Allocated atomically by the store, from its own sequence.
    OrganizationId
);

/// A display name for a person or an organization: 1–100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str, what: &str) -> Result<Self, ParseError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(refuse(format!("The {what} must not be empty.")));
        }
        if longer_than(name, Self::MAX_CHARS) || name.chars().any(char::is_control) {
            return Err(refuse(format!(
                "The {what} must be at most {} characters, without control characters.",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(name.to_owned()))
    }
}

text_newtype!(DisplayName);

/// One of an organization's optional details (`domain`, `size`, `industry`): at most
/// 100 characters after trimming, without control characters; empty means not given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct OrganizationDetail(String);

impl OrganizationDetail {
    pub const MAX_CHARS: usize = 100;

    /// `what` names the detail in the refusal ("domain", "size", ...).
    pub fn parse(raw: Option<&str>, what: &str) -> Result<Option<Self>, ParseError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(text)
                if longer_than(text, Self::MAX_CHARS) || text.chars().any(char::is_control) =>
            {
                Err(refuse(format!(
                    "The organization {what} must be at most {} characters.",
                    Self::MAX_CHARS
                )))
            }
            Some(text) => Ok(Some(Self(text.to_owned()))),
        }
    }
}

text_newtype!(OrganizationDetail);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    Individual,
    OrganizationAdmin,
    /// A member or viewer of an organization, who joined by invitation or was demoted.
    OrganizationMember,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Individual => "individual",
            Self::OrganizationAdmin => "organization_admin",
            Self::OrganizationMember => "organization_member",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "individual" => Some(Self::Individual),
            "organization_admin" => Some(Self::OrganizationAdmin),
            "organization_member" => Some(Self::OrganizationMember),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Someone in no organization.
    User,
    Admin,
    Member,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Self::User),
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// What an account is and may do, decided once at signup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub account_type: AccountType,
    pub role: Role,
    pub organization_id: Option<OrganizationId>,
}

impl Account {
    /// Whoever signs up an organization (given its freshly allocated id) becomes its
    /// admin; an individual signup is a plain user, a member of no organization.
    pub fn for_signup(organization: Option<OrganizationId>) -> Self {
        match organization {
            Some(id) => Self {
                account_type: AccountType::OrganizationAdmin,
                role: Role::Admin,
                organization_id: Some(id),
            },
            None => Self {
                account_type: AccountType::Individual,
                role: Role::User,
                organization_id: None,
            },
        }
    }
}

impl Account {
    /// What a member of `organization` with `role` is: the login shape's `account_type`
    /// and `role` follow the membership.
    pub fn member(organization: OrganizationId, role: OrgRole) -> Self {
        Self {
            account_type: match role {
                OrgRole::Admin => AccountType::OrganizationAdmin,
                OrgRole::Member | OrgRole::Viewer => AccountType::OrganizationMember,
            },
            role: role.into(),
            organization_id: Some(organization),
        }
    }

    /// Someone who left (or was removed from) their organization.
    pub fn individual() -> Self {
        Self::for_signup(None)
    }
}

/// What signup hands to the store; the password is already an argon2id PHC string.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: DisplayName,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: DisplayName,
    pub domain: Option<OrganizationDetail>,
    pub size: Option<OrganizationDetail>,
    pub industry: Option<OrganizationDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub account_type: AccountType,
    pub role: Role,
    pub organization_id: Option<OrganizationId>,
    pub email_verified: bool,
    pub created_at: OffsetDateTime,
}

impl User {
    /// A user as signup first stores them: `account` from [`Account::for_signup`], the
    /// email not yet verified.
    pub fn create(
        id: UserId,
        email: Email,
        name: DisplayName,
        account: Account,
        created_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            email,
            name: name.into(),
            account_type: account.account_type,
            role: account.role,
            organization_id: account.organization_id,
            email_verified: false,
            created_at,
        }
    }
}

impl User {
    /// The user's organization and role in it, if they belong to one.
    pub fn membership(&self) -> Option<Membership> {
        let organization_id = self.organization_id?;
        let role = match self.role {
            Role::Admin => OrgRole::Admin,
            Role::Viewer => OrgRole::Viewer,
            Role::Member | Role::User => OrgRole::Member,
        };
        Some(Membership {
            organization_id,
            role,
        })
    }

    /// Who this user is, as the store's access rules see them.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            user_id: self.id,
            organization_id: self.organization_id,
        }
    }
}

/// A user together with the stored password hash, for login only.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// Who is asking: decides which contexts are visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: UserId,
    pub organization_id: Option<OrganizationId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let email = Email::parse("  Alice@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "alice@example.com");
        assert_eq!(email.local_part(), "alice");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for raw in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "alice@exa mple.com",
            "alice@.example.com",
            "alice@example..com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be refused");
        }
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("  Ada ", "name").unwrap().as_str(),
            "Ada"
        );
        assert!(DisplayName::parse("   ", "name").is_err());
        assert!(DisplayName::parse(&"n".repeat(100), "name").is_ok());
        assert!(DisplayName::parse(&"n".repeat(101), "name").is_err());
    }

    #[test]
    fn organization_details_are_optional_trimmed_and_bounded() {
        let parse = |raw: Option<&str>| OrganizationDetail::parse(raw, "domain");
        assert_eq!(parse(None), Ok(None));
        assert_eq!(parse(Some("   ")), Ok(None));
        assert_eq!(
            parse(Some(" example.com ")).unwrap().map(String::from),
            Some("example.com".to_owned())
        );
        assert!(parse(Some(&"é".repeat(OrganizationDetail::MAX_CHARS))).is_ok());
        for bad in [
            "é".repeat(OrganizationDetail::MAX_CHARS + 1),
            "bell\u{7}".to_owned(),
            "two\nlines".to_owned(),
        ] {
            assert_eq!(
                parse(Some(&bad)),
                Err(ParseError(
                    "The organization domain must be at most 100 characters.".into()
                )),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_organization_signup_makes_its_admin_and_an_individual_a_member_of_nothing() {
        let organization = OrganizationId(7);
        assert_eq!(
            Account::for_signup(Some(organization)),
            Account {
                account_type: AccountType::OrganizationAdmin,
                role: Role::Admin,
                organization_id: Some(organization),
            }
        );
        assert_eq!(
            Account::for_signup(None),
            Account {
                account_type: AccountType::Individual,
                role: Role::User,
                organization_id: None,
            }
        );
    }

    #[test]
    fn a_new_user_is_unverified_and_takes_the_account_it_is_given() {
        let created_at = OffsetDateTime::UNIX_EPOCH;
        let user = User::create(
            UserId(3),
            Email::parse("ada@example.com").unwrap(),
            DisplayName::parse(" Ada ", "name").unwrap(),
            Account::for_signup(Some(OrganizationId(9))),
            created_at,
        );
        assert_eq!(user.name, "Ada");
        assert_eq!(user.role, Role::Admin);
        assert_eq!(user.organization_id, Some(OrganizationId(9)));
        assert!(!user.email_verified);
        assert_eq!(user.created_at, created_at);
    }
}
