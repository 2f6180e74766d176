//! The parsed types of mem0 and the rules that belong to them. Raw input is parsed into
//! these once, at the edge; past the edge a `ContextName` or a `MemoryText` is always
//! valid. No I/O here: the store and the handlers build on these.

/// The read side of a newtype over a `String` that its `parse` has checked: borrowed
/// as text, shown as text, given up as a `String`; never built but by `parse`.
macro_rules! text_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

mod context;
mod grant;
mod memory;
mod organization;
mod user;

pub use context::{Context, ContextName, Description, NewContext, Visibility};
pub use grant::{ContextRef, GrantContexts, MAX_GRANT_CONTEXTS, Scope, Scopes};
pub use memory::{Memory, MemoryId, MemoryPage, MemoryText, NewMemory, Tags};
pub use organization::{
    ContextAddress, Invitation, Invitee, Member, Membership, OrgRole, OrganizationProfile,
    shared_address,
};
pub use user::{
    Account, AccountType, Credentials, DisplayName, Email, NewOrganization, NewUser, Organization,
    OrganizationDetail, OrganizationId, Role, User, UserId, Viewer,
};

/// Why a raw value was refused; the message is safe to show to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn refuse(message: impl Into<String>) -> ParseError {
    ParseError(message.into())
}

/// Whether `text` holds more than `max` characters, without counting past `max + 1`:
/// the work stays bounded by the limit, not by the input.
fn longer_than(text: &str, max: usize) -> bool {
    text.chars().nth(max).is_some()
}

#[cfg(all(test, feature = "openapi"))]
mod openapi_tests {
    use serde_json::{Value, json};
    use utoipa::PartialSchema;

    use super::*;

    fn schema_values<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).expect("a schema serialises")["enum"].clone()
    }

    #[test]
    fn the_enums_in_replies_are_described_by_the_names_serde_writes() {
        assert_eq!(
            schema_values::<AccountType>(),
            json!([
                AccountType::Individual,
                AccountType::OrganizationAdmin,
                AccountType::OrganizationMember
            ])
        );
        assert_eq!(
            schema_values::<Role>(),
            json!([Role::User, Role::Admin, Role::Member, Role::Viewer])
        );
        assert_eq!(
            schema_values::<OrgRole>(),
            json!(["admin", "member", "viewer"])
        );
        assert_eq!(
            schema_values::<Visibility>(),
            json!([Visibility::Private, Visibility::Organization])
        );
        assert_eq!(
            schema_values::<Visibility>(),
            json!(["private", "organization"])
        );
    }
}
