//! Rows <-> domain values. Reading never trusts the file: a value this build cannot
//! read back becomes a conversion error (reported as `Unavailable`), never a panic.

use rusqlite::Row;
use rusqlite::types::Type;
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::{
    AccountType, Context, ContextName, Credentials, Email, Memory, MemoryId, OrganizationId, Role,
    StoreError, StoreResult, User, UserId, Visibility,
};

/// Fixed width (nine fractional digits) so that the text sorts as the instant does.
const TIMESTAMP: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");

/// What `credentials_from_row` reads, in its order.
pub(super) const USER_COLUMNS: &str = "id, email, name, account_type, role, organization_id, \
                            email_verified, created_at, password_hash";

/// What `context_from_row` reads, in its order.
pub(super) const CONTEXT_COLUMNS: &str =
    "id, owner_id, organization_id, name, description, visibility, created_at, memory_count";

pub(super) fn timestamp(at: OffsetDateTime) -> StoreResult<String> {
    at.to_offset(UtcOffset::UTC)
        .format(TIMESTAMP)
        .map_err(StoreError::unavailable)
}

/// A stored value this build cannot read back; reported as `Unavailable`.
pub(super) fn corrupt(column: usize, cause: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, cause.to_string().into())
}

pub(super) fn timestamp_at(row: &Row<'_>, column: usize) -> rusqlite::Result<OffsetDateTime> {
    let raw: String = row.get(column)?;
    OffsetDateTime::parse(&raw, &Rfc3339).map_err(|e| corrupt(column, e))
}

pub(super) fn credentials_from_row(row: &Row<'_>) -> rusqlite::Result<Credentials> {
    let email: String = row.get(1)?;
    let account_type: String = row.get(3)?;
    let role: String = row.get(4)?;
    let user = User {
        id: UserId(row.get(0)?),
        email: Email::parse(&email).map_err(|e| corrupt(1, e))?,
        name: row.get(2)?,
        account_type: AccountType::parse(&account_type)
            .ok_or_else(|| corrupt(3, format!("unknown account type {account_type:?}")))?,
        role: Role::parse(&role).ok_or_else(|| corrupt(4, format!("unknown role {role:?}")))?,
        organization_id: row.get::<_, Option<u64>>(5)?.map(OrganizationId),
        email_verified: row.get(6)?,
        created_at: timestamp_at(row, 7)?,
    };
    Ok(Credentials {
        user,
        password_hash: row.get(8)?,
    })
}

pub(super) fn context_from_row(row: &Row<'_>) -> rusqlite::Result<Context> {
    let name: String = row.get(3)?;
    let visibility: String = row.get(5)?;
    Ok(Context {
        id: row.get(0)?,
        owner_id: UserId(row.get(1)?),
        organization_id: row.get::<_, Option<u64>>(2)?.map(OrganizationId),
        name: ContextName::parse(&name).map_err(|e| corrupt(3, e))?,
        description: row.get(4)?,
        visibility: Visibility::parse(&visibility).map_err(|e| corrupt(5, e))?,
        created_at: timestamp_at(row, 6)?,
        memory_count: row.get(7)?,
    })
}

pub(super) fn memory_from_row(row: &Row<'_>) -> rusqlite::Result<Memory> {
    let id: String = row.get(0)?;
    let tags: String = row.get(2)?;
    Ok(Memory {
        id: MemoryId::parse(&id).map_err(|e| corrupt(0, e))?,
        text: row.get(1)?,
        tags: serde_json::from_str(&tags).map_err(|e| corrupt(2, e))?,
        created_at: timestamp_at(row, 3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_sort_as_text_in_time_order() {
        let whole = time::macros::datetime!(2026-01-01 00:00:05 UTC);
        let later = whole + time::Duration::milliseconds(500);
        let (whole, later) = (
            timestamp(whole).expect("format"),
            timestamp(later).expect("format"),
        );
        assert!(whole < later, "{whole} should sort before {later}");
        assert_eq!(
            OffsetDateTime::parse(&later, &Rfc3339).expect("RFC 3339"),
            time::macros::datetime!(2026-01-01 00:00:05.5 UTC)
        );
    }
}
