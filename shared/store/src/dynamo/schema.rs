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

/// Sparse index of the contexts shared with an organization: only those items carry
/// `GSI1PK = ORG#<organization_id>` and `GSI1SK = CTX#<name>#<owner_id>`.
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
}
