//! Login and signup budgets (ASVS 6.3.1): stop guessing without letting anyone lock a
//! user out. Every attempt is reserved in the store before the password is looked at,
//! so parallel requests on any number of instances cannot get past a limit.
//!
//! A login spends from three budgets per 15-minute window, all or none:
//! - one account from one address: the guesser's address is refused while the owner,
//!   elsewhere, still logs in;
//! - one address across all accounts: spraying one password over many accounts;
//! - one account from all addresses: a guess spread over many addresses. While it is
//!   spent the right password is refused too, alike for existing and unknown emails.
//!
//! A success clears its own (account, address) budget and gives back what it took
//! from the other two: only failures count there, and only the owner's own failures
//! are forgiven.
//!
//! Refreshes with tokens that are not ours, or name no live session, spend from a
//! budget of one address (the size of its failed-login budget) per 15 minutes; when it
//! is spent, such refreshes get 429 instead of 401. A genuine token (its MAC checks
//! out) spends nothing, so a user's own refreshes are never held back, and a forged one
//! costs the store nothing but this budget's one write.

use std::net::IpAddr;

use store::{Budget, Email, Reservation, Store, Window};
use time::OffsetDateTime;

use crate::Limits;
use crate::error::{ApiError, ApiResult};

const LOGIN_WINDOW_SECONDS: u32 = 15 * 60;
const SIGNUP_WINDOW_SECONDS: u32 = 60 * 60;

/// The budgets one login attempt spends.
pub(crate) struct LoginAttempt {
    account_and_address: Budget,
    address: Budget,
    account: Budget,
    window: Window,
    now: OffsetDateTime,
}

impl LoginAttempt {
    pub(crate) fn new(email: &Email, client: &str, limits: &Limits, now: OffsetDateTime) -> Self {
        let address = address_key(client);
        Self {
            account_and_address: Budget {
                key: format!("login:account+address:{email}|{address}"),
                limit: limits.failed_logins_per_account_and_address,
            },
            address: Budget {
                key: format!("login:address:{address}"),
                limit: limits.failed_logins_per_address,
            },
            account: Budget {
                key: format!("login:account:{email}"),
                limit: limits.failed_logins_per_account,
            },
            window: Window::containing(now, LOGIN_WINDOW_SECONDS),
            now,
        }
    }

    /// Takes this attempt from every budget, or answers 429 and takes nothing.
    pub(crate) async fn reserve(&self, store: &dyn Store) -> ApiResult<()> {
        let budgets = [
            self.account_and_address.clone(),
            self.address.clone(),
            self.account.clone(),
        ];
        match store.reserve(&budgets, self.window).await? {
            Reservation::Granted => Ok(()),
            Reservation::Refused => Err(rate_limited(self.window, self.now)),
        }
    }

    /// The password was right: this was no failure.
    pub(crate) async fn succeeded(&self, store: &dyn Store) -> ApiResult<()> {
        let refunded = [self.address.key.as_str(), self.account.key.as_str()];
        let (reset, refund) = tokio::join!(
            store.reset(&self.account_and_address.key, self.window),
            store.refund(&refunded, self.window),
        );
        reset?;
        Ok(refund?)
    }

    /// `checked`, the password check's outcome; when the server was too busy to check,
    /// the attempt is given back, since no guess was evaluated.
    pub(crate) async fn unless_busy<T>(
        &self,
        store: &dyn Store,
        checked: ApiResult<T>,
    ) -> ApiResult<T> {
        let keys = [
            self.account_and_address.key.as_str(),
            self.address.key.as_str(),
            self.account.key.as_str(),
        ];
        give_back_if_busy(store, &keys, self.window, checked).await
    }
}

/// The failed-refresh budget of one client address.
pub(crate) struct FailedRefresh {
    budget: Budget,
    window: Window,
    now: OffsetDateTime,
}

impl FailedRefresh {
    pub(crate) fn new(client: &str, limits: &Limits, now: OffsetDateTime) -> Self {
        Self {
            budget: Budget {
                key: format!("refresh:address:{}", address_key(client)),
                limit: limits.failed_logins_per_address,
            },
            window: Window::containing(now, LOGIN_WINDOW_SECONDS),
            now,
        }
    }

    /// The answer to a refresh that failed: 401, or 429 once the address has failed
    /// too often. Counted in the store, atomically, whatever instance answers.
    pub(crate) async fn refuse<T>(&self, store: &dyn Store) -> ApiResult<T> {
        match store
            .reserve(std::slice::from_ref(&self.budget), self.window)
            .await?
        {
            Reservation::Granted => Err(ApiError::Unauthorized),
            Reservation::Refused => Err(rate_limited(self.window, self.now)),
        }
    }
}

/// The signup budget of one client address.
pub(crate) struct SignupAttempt {
    budget: Budget,
    window: Window,
    now: OffsetDateTime,
}

impl SignupAttempt {
    pub(crate) fn new(client: &str, limits: &Limits, now: OffsetDateTime) -> Self {
        Self {
            budget: Budget {
                key: format!("signup:{}", address_key(client)),
                limit: limits.signups_per_client_per_hour,
            },
            window: Window::containing(now, SIGNUP_WINDOW_SECONDS),
            now,
        }
    }

    /// Counted before the expensive hash, so that neither hashing nor probing for
    /// existing accounts can be done in bulk from one client.
    pub(crate) async fn reserve(&self, store: &dyn Store) -> ApiResult<()> {
        match store
            .reserve(std::slice::from_ref(&self.budget), self.window)
            .await?
        {
            Reservation::Granted => Ok(()),
            Reservation::Refused => Err(rate_limited(self.window, self.now)),
        }
    }

    /// `hashed`, the password hash's outcome; when the server was too busy to hash, the
    /// attempt is given back.
    pub(crate) async fn unless_busy<T>(
        &self,
        store: &dyn Store,
        hashed: ApiResult<T>,
    ) -> ApiResult<T> {
        give_back_if_busy(store, &[&self.budget.key], self.window, hashed).await
    }
}

// --- mail: password reset requests and verification mails ---

const MAIL_WINDOW_SECONDS: u32 = 60 * 60;

/// The budgets one mail-sending request spends, per hour, all or none: each mail is
/// counted before the account is even looked up, so neither a mailbox can be flooded
/// nor the sending paid for in bulk.
pub(crate) struct MailAttempt {
    budgets: Vec<Budget>,
    window: Window,
    now: OffsetDateTime,
}

impl MailAttempt {
    /// A password reset request for `email` from `client`: per address (many emails
    /// from one client) and per email (one mailbox from many clients), the same whether
    /// or not the email has an account.
    pub(crate) fn password_reset(
        email: &Email,
        client: &str,
        limits: &Limits,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            budgets: vec![
                Budget {
                    key: format!("reset:address:{}", address_key(client)),
                    limit: limits.password_resets_per_address,
                },
                Budget {
                    key: format!("reset:account:{email}"),
                    limit: limits.password_resets_per_account,
                },
            ],
            window: Window::containing(now, MAIL_WINDOW_SECONDS),
            now,
        }
    }

    /// Another verification mail for the account `user_id`.
    pub(crate) fn verification(
        user_id: store::UserId,
        limits: &Limits,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            budgets: vec![Budget {
                key: format!("verify:account:{user_id}"),
                limit: limits.verification_mails_per_account,
            }],
            window: Window::containing(now, MAIL_WINDOW_SECONDS),
            now,
        }
    }

    /// Takes this request from every budget, or answers 429 and takes nothing.
    pub(crate) async fn reserve(&self, store: &dyn Store) -> ApiResult<()> {
        match store.reserve(&self.budgets, self.window).await? {
            Reservation::Granted => Ok(()),
            Reservation::Refused => Err(rate_limited(self.window, self.now)),
        }
    }
}

// --- OAuth: client registrations and token requests ---

const OAUTH_REGISTRATION_WINDOW_SECONDS: u32 = 60 * 60;

/// One budget of one client address, spent before the work it guards.
pub(crate) struct AddressAttempt {
    budget: Budget,
    window: Window,
    now: OffsetDateTime,
}

impl AddressAttempt {
    /// An OAuth client registration (a write of a client record) from `client`.
    pub(crate) fn oauth_registration(client: &str, limits: &Limits, now: OffsetDateTime) -> Self {
        Self {
            budget: Budget {
                key: format!("oauth-register:{}", address_key(client)),
                limit: limits.oauth_registrations_per_address,
            },
            window: Window::containing(now, OAUTH_REGISTRATION_WINDOW_SECONDS),
            now,
        }
    }

    /// A token request (a code's exchange or a refresh) from `client`: guessing codes
    /// or refresh tokens in bulk is held back per address.
    pub(crate) fn oauth_token(client: &str, limits: &Limits, now: OffsetDateTime) -> Self {
        Self {
            budget: Budget {
                key: format!("oauth-token:{}", address_key(client)),
                limit: limits.oauth_token_requests_per_address,
            },
            window: Window::containing(now, LOGIN_WINDOW_SECONDS),
            now,
        }
    }

    /// Takes this attempt from the budget, or answers 429 and takes nothing.
    pub(crate) async fn reserve(&self, store: &dyn Store) -> ApiResult<()> {
        match store
            .reserve(std::slice::from_ref(&self.budget), self.window)
            .await?
        {
            Reservation::Granted => Ok(()),
            Reservation::Refused => Err(rate_limited(self.window, self.now)),
        }
    }
}

async fn give_back_if_busy<T>(
    store: &dyn Store,
    keys: &[&str],
    window: Window,
    outcome: ApiResult<T>,
) -> ApiResult<T> {
    if matches!(outcome, Err(ApiError::Busy)) {
        store.refund(keys, window).await?;
    }
    outcome
}

fn rate_limited(window: Window, now: OffsetDateTime) -> ApiError {
    let left = window.end().saturating_sub(now.unix_timestamp());
    ApiError::RateLimited {
        retry_after_seconds: u64::try_from(left).unwrap_or(1).max(1),
    }
}

/// The address a budget is kept for. One IPv6 subscriber gets a whole /64, so an IPv6
/// address counts as its /64; anything unparsable counts as itself.
fn address_key(client: &str) -> String {
    match client.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => client.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_counted_by_its_slash_64() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:ffff:1:2:3")
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(address_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("unknown"), "unknown");
    }

    #[test]
    fn retry_after_is_the_rest_of_the_window_and_at_least_a_second() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000_000 + 60).unwrap();
        let window = Window::containing(now, LOGIN_WINDOW_SECONDS);
        let left = window.end() - now.unix_timestamp();
        assert!(matches!(
            rate_limited(window, now),
            ApiError::RateLimited { retry_after_seconds } if i64::try_from(retry_after_seconds).unwrap() == left
        ));
        let at_end = OffsetDateTime::from_unix_timestamp(window.end()).unwrap();
        assert!(matches!(
            rate_limited(window, at_end),
            ApiError::RateLimited {
                retry_after_seconds: 1
            }
        ));
    }
}
