//! One-time tokens (email verification, password reset): the store keeps only a digest
//! of each token, never the token, so a copy of the table opens no account.

use crate::UserId;

/// What a one-time token is good for; a token of one purpose never serves the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

/// A token to keep: `digest` is the SHA-256 of the token, in hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOneTime {
    pub digest: String,
    pub purpose: Purpose,
    pub user_id: UserId,
    /// The last Unix second the token is accepted in is `expires_at - 1`.
    pub expires_at: i64,
    /// What the account looked like when the token was made (for a reset, a digest of
    /// the password hash then): the caller compares it when the token is used, so that
    /// a token made before a password change dies with the old password.
    pub stamp: String,
}

/// A token that was just used up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedOneTime {
    pub user_id: UserId,
    pub stamp: String,
    pub expires_at: i64,
}
