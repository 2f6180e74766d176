//! Items <-> domain values. Reading never trusts the table: a missing or mistyped
//! attribute becomes `Unavailable("corrupt item ...")`, never a panic.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::schema::{GSI1, TABLE_KEY, TTL_ATTRIBUTE, partition};
use crate::{
    AccountType, Context, ContextName, Email, Memory, MemoryId, OrganizationId, Role, StoreError,
    StoreResult, User, UserId, Visibility,
};

pub(super) type Item = HashMap<String, AttributeValue>;

/// Sort-key prefixes of the item kinds that share a partition with others.
pub(super) const CONTEXT_PREFIX: &str = "CTX#";
pub(super) const MEMORY_PREFIX: &str = "MEM#";
/// An organization's pending invitations (`ORG#<org_id>` / `INVITE#<invitation_id>`).
pub(super) const INVITATION_PREFIX: &str = "INVITE#";
/// `GSI1SK` of a member's profile in their organization's index partition.
pub(super) const MEMBER_PREFIX: &str = "MEMBER#";

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn key(partition: String, sort: String) -> Item {
    HashMap::from([
        (TABLE_KEY.partition.to_owned(), s(partition)),
        (TABLE_KEY.sort.to_owned(), s(sort)),
    ])
}

pub(super) fn user_key(id: UserId) -> Item {
    key(format!("{}{id}", partition::USER), "PROFILE".to_owned())
}

pub(super) fn email_key(email: &Email) -> Item {
    key(format!("{}{email}", partition::EMAIL), "EMAIL".to_owned())
}

pub(super) fn organization_key(id: OrganizationId) -> Item {
    key(organization_partition(id), "PROFILE".to_owned())
}

/// The counter of one id sequence (`user`, `organization`).
pub(super) fn sequence_key(sequence: &str) -> Item {
    key(
        format!("{}{sequence}", partition::SEQUENCE),
        "SEQ".to_owned(),
    )
}

pub(super) fn rate_key(rate_key: &str, window_start: i64) -> Item {
    key(
        format!("{}{rate_key}", partition::RATE),
        window_start.to_string(),
    )
}

/// A revoked access token; it carries the TTL attribute so DynamoDB forgets it once
/// the token has expired.
pub(super) fn revoked_token_key(token_id: &str) -> Item {
    key(
        format!("{}{token_id}", partition::REVOKED),
        "REVOKED".to_owned(),
    )
}

/// An invitation, found by the digest of the token it was mailed with.
pub(super) fn invitation_key(token_hash: &str) -> Item {
    key(
        format!("{}{token_hash}", partition::INVITATION),
        "INVITE".to_owned(),
    )
}

/// An invitation as its organization lists it, by its id.
pub(super) fn invitation_listing_key(organization: OrganizationId, id: &str) -> Item {
    key(
        organization_partition(organization),
        format!("{INVITATION_PREFIX}{id}"),
    )
}

/// The index keys that list a member's profile under their organization.
pub(super) fn member_index(
    organization: OrganizationId,
    user: UserId,
) -> [(String, AttributeValue); 2] {
    [
        (
            GSI1.key.partition.to_owned(),
            s(organization_partition(organization)),
        ),
        (
            GSI1.key.sort.to_owned(),
            s(format!("{MEMBER_PREFIX}{user}")),
        ),
    ]
}

pub(super) fn context_key(owner: UserId, name: &ContextName) -> Item {
    key(owner_partition(owner), format!("{CONTEXT_PREFIX}{name}"))
}

/// The sort keys of a context name and of its deletion records, as a `BETWEEN` range:
/// `CTX#<name>` itself, then every `CTX#<name>#...`. A name's characters all sort after
/// `$`, so `CTX#<name>$` bounds this name's keys and no other's.
pub(super) fn context_name_range(name: &ContextName) -> (String, String) {
    (
        format!("{CONTEXT_PREFIX}{name}"),
        format!("{CONTEXT_PREFIX}{name}$"),
    )
}

/// Where a deleted context waits, under its name and never-reused id, until its
/// memories are gone; the name itself is free for a new context at once.
fn deletion_key(owner: UserId, name: &ContextName, context_id: &str) -> Item {
    key(
        owner_partition(owner),
        format!("{CONTEXT_PREFIX}{name}#DELETING#{context_id}"),
    )
}

/// Contexts live apart from the owner's profile (`USER#`), so that a role allowed to
/// write contexts can be kept from profiles and password hashes by key prefix.
pub(super) fn owner_partition(owner: UserId) -> String {
    format!("{}{owner}", partition::OWNER)
}

pub(super) fn organization_partition(organization: OrganizationId) -> String {
    format!("{}{organization}", partition::ORGANIZATION)
}

/// Memories hang off the context's never-reused id, not off its name.
pub(super) fn memories_partition(context_id: &str) -> String {
    format!("{}{context_id}", partition::MEMORIES)
}

pub(super) fn memory_key(context_id: &str, id: &MemoryId) -> Item {
    key(
        memories_partition(context_id),
        format!("{MEMORY_PREFIX}{id}"),
    )
}

pub(super) fn timestamp(at: OffsetDateTime) -> StoreResult<AttributeValue> {
    at.format(&Rfc3339)
        .map(s)
        .map_err(|e| StoreError::unavailable(format!("cannot format timestamp {at}: {e}")))
}

/// The user profile item; the email item holds the password hash.
pub(super) fn user_item(user: &User) -> StoreResult<Item> {
    let mut item = user_key(user.id);
    item.extend([
        ("email".to_owned(), s(user.email.as_str())),
        ("name".to_owned(), s(&user.name)),
        ("account_type".to_owned(), s(user.account_type.as_str())),
        ("role".to_owned(), s(user.role.as_str())),
        (
            "email_verified".to_owned(),
            AttributeValue::Bool(user.email_verified),
        ),
        ("created_at".to_owned(), timestamp(user.created_at)?),
    ]);
    if let Some(organization) = user.organization_id {
        item.insert("organization_id".to_owned(), n(organization));
        item.insert("joined_at".to_owned(), timestamp(user.created_at)?);
        item.extend(member_index(organization, user.id));
    }
    Ok(item)
}

pub(super) fn context_item(context: &Context) -> StoreResult<Item> {
    let mut item = context_key(context.owner_id, &context.name);
    item.extend([
        ("context_id".to_owned(), s(&context.id)),
        ("owner_id".to_owned(), n(context.owner_id)),
        ("name".to_owned(), s(context.name.as_str())),
        ("description".to_owned(), s(&context.description)),
        ("visibility".to_owned(), s(context.visibility.as_str())),
        ("created_at".to_owned(), timestamp(context.created_at)?),
        ("memory_count".to_owned(), n(context.memory_count)),
    ]);
    if let Some(organization) = context.organization_id {
        item.insert("organization_id".to_owned(), n(organization));
        // Only shared contexts enter the sparse index.
        if context.visibility == Visibility::Organization {
            item.insert(
                GSI1.key.partition.to_owned(),
                s(organization_partition(organization)),
            );
            item.insert(
                GSI1.key.sort.to_owned(),
                s(format!(
                    "{CONTEXT_PREFIX}{}#{}",
                    context.name, context.owner_id
                )),
            );
        }
    }
    Ok(item)
}

/// The record of a deleted context whose memories are still being removed, and the
/// handle to purge them by. It carries no index keys, so it is in no organization's
/// listing; no time to live either, since it must outlive every memory it stands for.
pub(super) fn deletion_of(
    context: &Context,
    deleted_at: OffsetDateTime,
) -> StoreResult<(Item, Deletion)> {
    let key = deletion_key(context.owner_id, &context.name, &context.id);
    let mut item = key.clone();
    item.extend([
        ("context_id".to_owned(), s(&context.id)),
        ("owner_id".to_owned(), n(context.owner_id)),
        ("name".to_owned(), s(context.name.as_str())),
        (DELETING.to_owned(), AttributeValue::Bool(true)),
        ("deleted_at".to_owned(), timestamp(deleted_at)?),
    ]);
    let deletion = Deletion {
        context_id: context.id.clone(),
        key,
    };
    Ok((item, deletion))
}

/// Marks deletion records apart from the live contexts that share their partition.
const DELETING: &str = "deleting";

/// A deleted context whose memories may still be in the table.
#[derive(Debug, Clone)]
pub(super) struct Deletion {
    pub(super) context_id: String,
    /// The deletion record's own key, removed once the memories are gone.
    pub(super) key: Item,
}

/// An item of an owner's contexts: a live context, or the record of a deleted one.
enum Owned {
    Live(Context),
    Deleting(Deletion),
}

fn owned_from(item: &Item) -> StoreResult<Owned> {
    let read = Read::new("context", item);
    if !read.opt_bool(DELETING)?.unwrap_or(false) {
        return context_from(item).map(Owned::Live);
    }
    let context_id = read.s("context_id")?.to_owned();
    let mut key = Item::new();
    for attribute in [TABLE_KEY.partition, TABLE_KEY.sort] {
        key.insert(attribute.to_owned(), s(read.s(attribute)?));
    }
    Ok(Owned::Deleting(Deletion { context_id, key }))
}

/// Live contexts apart from deletion records.
pub(super) fn split_owned(items: &[Item]) -> StoreResult<(Vec<Context>, Vec<Deletion>)> {
    let mut live = Vec::new();
    let mut deleting = Vec::new();
    for item in items {
        match owned_from(item)? {
            Owned::Live(context) => live.push(context),
            Owned::Deleting(deletion) => deleting.push(deletion),
        }
    }
    Ok((live, deleting))
}

pub(super) fn memory_item(context_id: &str, memory: &Memory) -> StoreResult<Item> {
    let mut item = memory_key(context_id, &memory.id);
    item.extend([
        ("text".to_owned(), s(&memory.text)),
        (
            "tags".to_owned(),
            AttributeValue::L(memory.tags.iter().map(s).collect()),
        ),
        ("created_at".to_owned(), timestamp(memory.created_at)?),
    ]);
    Ok(item)
}

/// The rate counter's expiry: a little after its window, so that a clock skew between
/// Lambdas cannot make a live counter vanish.
pub(super) fn rate_expiry(window_end: i64) -> (String, AttributeValue) {
    const SLACK_SECONDS: i64 = 60;
    (TTL_ATTRIBUTE.to_owned(), n(window_end + SLACK_SECONDS))
}

/// Typed, checked access to a stored item's attributes.
pub(super) struct Read<'a> {
    kind: &'static str,
    item: &'a Item,
}

impl<'a> Read<'a> {
    pub(super) fn new(kind: &'static str, item: &'a Item) -> Self {
        Self { kind, item }
    }

    fn corrupt(&self, attribute: &str, expected: &str) -> StoreError {
        StoreError::Unavailable(format!(
            "corrupt item: {} attribute `{attribute}` is missing or not {expected}",
            self.kind
        ))
    }

    pub(super) fn opt_s(&self, attribute: &str) -> StoreResult<Option<&'a str>> {
        match self.item.get(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            Some(_) => Err(self.corrupt(attribute, "a string")),
        }
    }

    pub(super) fn s(&self, attribute: &str) -> StoreResult<&'a str> {
        self.opt_s(attribute)?
            .ok_or_else(|| self.corrupt(attribute, "a string"))
    }

    pub(super) fn opt_n<T: FromStr>(&self, attribute: &str) -> StoreResult<Option<T>> {
        match self.item.get(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(value)) => value
                .parse()
                .map(Some)
                .map_err(|_| self.corrupt(attribute, "a fitting number")),
            Some(_) => Err(self.corrupt(attribute, "a number")),
        }
    }

    pub(super) fn n<T: FromStr>(&self, attribute: &str) -> StoreResult<T> {
        self.opt_n(attribute)?
            .ok_or_else(|| self.corrupt(attribute, "a number"))
    }

    fn bool(&self, attribute: &str) -> StoreResult<bool> {
        self.opt_bool(attribute)?
            .ok_or_else(|| self.corrupt(attribute, "a boolean"))
    }

    fn opt_bool(&self, attribute: &str) -> StoreResult<Option<bool>> {
        match self.item.get(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::Bool(value)) => Ok(Some(*value)),
            Some(_) => Err(self.corrupt(attribute, "a boolean")),
        }
    }

    pub(super) fn timestamp(&self, attribute: &str) -> StoreResult<OffsetDateTime> {
        OffsetDateTime::parse(self.s(attribute)?, &Rfc3339)
            .map_err(|_| self.corrupt(attribute, "an RFC 3339 timestamp"))
    }

    pub(super) fn strings(&self, attribute: &str) -> StoreResult<Vec<String>> {
        let expected = "a list of strings";
        match self.item.get(attribute) {
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|value| match value {
                    AttributeValue::S(value) => Ok(value.clone()),
                    _ => Err(self.corrupt(attribute, expected)),
                })
                .collect(),
            _ => Err(self.corrupt(attribute, expected)),
        }
    }

    /// A string attribute that must parse into a domain value.
    pub(super) fn parsed<T>(
        &self,
        attribute: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> StoreResult<T> {
        parse(self.s(attribute)?).ok_or_else(|| self.corrupt(attribute, "a valid value"))
    }
}

pub(super) fn user_from(item: &Item) -> StoreResult<User> {
    let read = Read::new("user", item);
    Ok(User {
        id: UserId(read.parsed(TABLE_KEY.partition, |pk| {
            pk.strip_prefix("USER#")?.parse().ok()
        })?),
        email: read.parsed("email", |raw| Email::parse(raw).ok())?,
        name: read.s("name")?.to_owned(),
        account_type: read.parsed("account_type", AccountType::parse)?,
        role: read.parsed("role", Role::parse)?,
        organization_id: read.opt_n("organization_id")?.map(OrganizationId),
        email_verified: read.bool("email_verified")?,
        created_at: read.timestamp("created_at")?,
    })
}

pub(super) fn context_from(item: &Item) -> StoreResult<Context> {
    let read = Read::new("context", item);
    Ok(Context {
        id: read.s("context_id")?.to_owned(),
        owner_id: UserId(read.n("owner_id")?),
        organization_id: read.opt_n("organization_id")?.map(OrganizationId),
        name: read.parsed("name", |raw| ContextName::parse(raw).ok())?,
        description: read.s("description")?.to_owned(),
        visibility: read.parsed("visibility", |raw| Visibility::parse(raw).ok())?,
        created_at: read.timestamp("created_at")?,
        memory_count: read.n("memory_count")?,
    })
}

pub(super) fn memory_from(item: &Item) -> StoreResult<Memory> {
    let read = Read::new("memory", item);
    Ok(Memory {
        id: read.parsed(TABLE_KEY.sort, |sk| {
            MemoryId::parse(sk.strip_prefix(MEMORY_PREFIX)?).ok()
        })?,
        text: read.s("text")?.to_owned(),
        tags: read.strings("tags")?,
        created_at: read.timestamp("created_at")?,
    })
}
