//! The table's shape: the one place that states the key design's attribute names.
//!
//! Everything `ensure_table` creates comes from here, and the deployable template
//! (`infra/template.yaml`) must declare the same table:
//!
//! | what | value |
//! |---|---|
//! | partition key | [`TABLE_KEY`]`.partition` = `PK` (string) |
//! | sort key | [`TABLE_KEY`]`.sort` = `SK` (string) |
//! | global secondary index | [`GSI1`]: `gsi1`, keys `GSI1PK` / `GSI1SK` (strings), projection `ALL` |
//! | time to live | [`TTL_ATTRIBUTE`] = `expires_at` (Unix seconds) |
//! | billing | on demand (`PAY_PER_REQUEST`) |
//! | partition key prefixes | [`partition`]: every `PK` (and `GSI1PK`) starts with one of them |
//!
//! Every key attribute is a string; no other attribute needs a definition.

use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

/// A partition key and a sort key, both string attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub partition: &'static str,
    pub sort: &'static str,
}

/// A global secondary index projecting all attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub key: Key,
}

/// The table's primary key.
pub const TABLE_KEY: Key = Key {
    partition: "PK",
    sort: "SK",
};

/// Sparse index of what belongs to an organization: the contexts shared with it carry
/// `GSI1PK = ORG#<organization_id>` and `GSI1SK = CTX#<name>#<owner_id>`, its members'
/// profiles `GSI1SK = MEMBER#<user_id>`.
pub const GSI1: Index = Index {
    name: "gsi1",
    key: Key {
        partition: "GSI1PK",
        sort: "GSI1SK",
    },
};

/// All global secondary indexes of the table.
pub const GLOBAL_SECONDARY_INDEXES: [Index; 1] = [GSI1];

/// The table's time-to-live attribute: rate-limit counters carry it so that DynamoDB
/// removes them once their window has passed.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// On demand: the load is spiky and small.
pub const BILLING_MODE: BillingMode = BillingMode::PayPerRequest;

/// What every partition key starts with, one prefix per kind of partition.
///
/// The deployed roles are scoped by these with `dynamodb:LeadingKeys` (so that the contexts
/// function cannot reach password hashes, say); `cargo test -p infra` fails when a prefix
/// here and the template's patterns part ways. No prefix may start another one, or a role
/// allowed the shorter would reach the longer too.
pub mod partition {
    /// User profile, `USER#<user_id>`.
    pub const USER: &str = "USER#";
    /// Email to user id and password hash, `EMAIL#<email>`.
    pub const EMAIL: &str = "EMAIL#";
    /// Organization profile, `ORG#<org_id>`; also `GSI1PK` of the contexts shared with it.
    pub const ORGANIZATION: &str = "ORG#";
    /// Id sequence, `SEQ#user`, `SEQ#organization`.
    pub const SEQUENCE: &str = "SEQ#";
    /// Rate-limit counters, `RATE#<key>`.
    pub const RATE: &str = "RATE#";
    /// Revoked token, `REVOKED#<jti>`.
    pub const REVOKED: &str = "REVOKED#";
    /// The login sessions of one user, `SESSION#<user_id>`.
    pub const SESSION: &str = "SESSION#";
    /// The contexts one user owns, `OWNER#<owner_id>`.
    pub const OWNER: &str = "OWNER#";
    /// The memories of one context, `CTX#<context_id>`.
    pub const MEMORIES: &str = "CTX#";
    /// A pending invitation by its token's SHA-256 digest, `INVITE#<hex digest>`.
    pub const INVITATION: &str = "INVITE#";

    /// A one-time token (email verification, password reset), `ONETIME#<digest>`.
    pub const ONE_TIME: &str = "ONETIME#";
    /// A registered OAuth client, `CLIENT#<client_id>`.
    pub const CLIENT: &str = "CLIENT#";
    /// An authorization code by its SHA-256 digest, `AUTHCODE#<hex digest>`.
    pub const AUTHORIZATION_CODE: &str = "AUTHCODE#";
    /// The grants of one user, `GRANT#<user_id>`.
    pub const GRANT: &str = "GRANT#";
    /// One view of the activity trail: `ACTIVITY#CTX#<owner_id>#<name>` (a context's)
    /// or `ACTIVITY#GRANT#<user_id>#<grant_id>` (a grant's).
    pub const ACTIVITY: &str = "ACTIVITY#";

    /// Every prefix above.
    pub const ALL: [&str; 15] = [
        USER,
        EMAIL,
        ORGANIZATION,
        SEQUENCE,
        RATE,
        REVOKED,
        SESSION,
        OWNER,
        MEMORIES,
        INVITATION,
        ONE_TIME,
        CLIENT,
        AUTHORIZATION_CODE,
        GRANT,
        ACTIVITY,
    ];
}

/// `KeySchema` for a key (the table's or an index's).
pub fn key_schema(key: Key) -> Result<Vec<KeySchemaElement>, BuildError> {
    Ok(vec![
        KeySchemaElement::builder()
            .attribute_name(key.partition)
            .key_type(KeyType::Hash)
            .build()?,
        KeySchemaElement::builder()
            .attribute_name(key.sort)
            .key_type(KeyType::Range)
            .build()?,
    ])
}

/// `AttributeDefinitions`: every attribute of the table key and of every index key.
pub fn attribute_definitions() -> Result<Vec<AttributeDefinition>, BuildError> {
    std::iter::once(TABLE_KEY)
        .chain(GLOBAL_SECONDARY_INDEXES.iter().map(|index| index.key))
        .flat_map(|key| [key.partition, key.sort])
        .map(|name| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        })
        .collect()
}

/// `GlobalSecondaryIndexes` of `CreateTable`.
pub fn global_secondary_indexes() -> Result<Vec<GlobalSecondaryIndex>, BuildError> {
    GLOBAL_SECONDARY_INDEXES
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(index.key)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_attribute_is_defined_once() {
        let definitions = attribute_definitions().unwrap();
        let names: Vec<&str> = definitions.iter().map(|d| d.attribute_name()).collect();
        assert_eq!(names, ["PK", "SK", "GSI1PK", "GSI1SK"]);
    }

    #[test]
    fn no_partition_prefix_starts_another_so_each_role_scope_is_exact() {
        for (i, a) in partition::ALL.iter().enumerate() {
            for (j, b) in partition::ALL.iter().enumerate() {
                assert!(i == j || !b.starts_with(a), "{b} starts with {a}");
            }
        }
    }

    /// The partition prefix `key`'s `PK` starts with.
    fn partition_of(key: &super::super::item::Item) -> &'static str {
        let Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) = key.get(TABLE_KEY.partition)
        else {
            panic!("no string {} in {key:?}", TABLE_KEY.partition);
        };
        partition::ALL
            .into_iter()
            .find(|prefix| pk.starts_with(prefix))
            .unwrap_or_else(|| panic!("{pk} starts with no prefix of schema::partition"))
    }

    #[test]
    fn every_item_key_starts_with_its_published_partition_prefix() {
        use super::super::item::*;
        use crate::{ContextName, Email, MemoryId, OrganizationId, UserId};
        let email = Email::parse("a@example.com").unwrap();
        let name = ContextName::parse("notes").unwrap();
        for (key, prefix) in [
            (user_key(UserId(7)), partition::USER),
            (email_key(&email), partition::EMAIL),
            (organization_key(OrganizationId(3)), partition::ORGANIZATION),
            (sequence_key("user"), partition::SEQUENCE),
            (rate_key("signup:198.51.100.7", 0), partition::RATE),
            (revoked_token_key("jti"), partition::REVOKED),
            (
                super::super::sessions::session_key(UserId(7), &crate::SessionId::generate()),
                partition::SESSION,
            ),
            (context_key(UserId(7), &name), partition::OWNER),
            (invitation_key("ab12"), partition::INVITATION),
            (
                invitation_listing_key(OrganizationId(3), "01J"),
                partition::ORGANIZATION,
            ),
            (
                memory_key("ctx-id", &MemoryId::generate()),
                partition::MEMORIES,
            ),
            (
                super::super::onetime::one_time_key("digest"),
                partition::ONE_TIME,
            ),
            (super::super::oauth::client_key("01J"), partition::CLIENT),
            (
                super::super::oauth::code_key("digest"),
                partition::AUTHORIZATION_CODE,
            ),
            (
                super::super::oauth::grant_key(UserId(7), &crate::GrantId::generate()),
                partition::GRANT,
            ),
        ] {
            assert_eq!(partition_of(&key), prefix);
        }
        assert!(organization_partition(OrganizationId(3)).starts_with(partition::ORGANIZATION));
        let grant = crate::GrantId::generate();
        for view in [
            super::super::activity::context_view(UserId(7), &name),
            super::super::activity::grant_view(UserId(7), &grant),
        ] {
            assert!(view.starts_with(partition::ACTIVITY));
        }
    }
}
