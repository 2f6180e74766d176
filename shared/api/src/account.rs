//! Email verification, password reset and password change: `GET /auth/verify-email`,
//! `POST /auth/verify-email/resend`, `POST /auth/password/forgot`,
//! `POST /auth/password/reset`, `POST /auth/password`.
//!
//! Links in mail carry a one-time token: 32 random bytes, base64url. The store keeps
//! only its SHA-256 digest, so a copy of the table opens no account, and uses it up
//! atomically, so a link works once however many requests race with it. A reset token
//! also carries a stamp, the digest of the password hash it was made for: once the
//! password changes (by any reset or change), every older reset link is dead, although
//! a newer request does not cancel the links sent before it.
//!
//! The links point at pages (`/verify`, `/reset`) with the token after `#`: browsers
//! never send the fragment, so the token is in no request line, server log or
//! `Referer`; the page hands it to the API. A reset happens only on the page's `POST`,
//! so a mail scanner that follows links cannot use a reset link up.

use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::request::Parts;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use store::{Email, NewOneTime, Purpose, SessionId, User, UserId};
use utoipa::{IntoParams, ToSchema};

use crate::error::{self, ApiError, ApiResult};
use crate::extract::{Authenticated, ClientAddr, JsonBody, query_param};
use crate::mail::Mail;
use crate::reply::{Reply, Said, Succeeded};
use crate::throttle::{LoginAttempt, MailAttempt};
use crate::{App, SharedApp, password};

/// How long a verification link works.
const VERIFY_LIFETIME_SECONDS: i64 = 24 * 60 * 60;
/// How long a password reset link works.
const RESET_LIFETIME_SECONDS: i64 = 60 * 60;
const TOKEN_BYTES: usize = 32;

/// A password reset request is answered no sooner than this after it arrived, whether
/// or not a mail went out: well above what making the token and handing the mail to
/// SES takes (tens of milliseconds, a few hundred at worst), so that the answer's time
/// does not tell whether the email has an account. Sending off the request path is no
/// option on Lambda, which freezes the instance once the answer is out.
pub(crate) const FORGOT_ANSWER_AFTER: Duration = Duration::from_millis(1_000);

/// `?token=` of the verification link.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// The token from the verification mail.
    #[param(value_type = String)]
    token: String,
}

impl<S: Sync> axum::extract::FromRequestParts<S> for VerifyQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        query_param(parts, "token")
            .filter(|token| !token.is_empty())
            .map(|token| Self { token })
            .ok_or_else(|| ApiError::invalid("The link has no token: open the one from the mail."))
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ForgotBody {
    #[schema(format = Email, max_length = 254, example = "ada@example.com")]
    email: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ResetBody {
    /// The token from the reset mail.
    token: String,
    /// The new password; the same rules as at signup.
    #[schema(min_length = 12, max_length = 128)]
    password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeBody {
    current_password: String,
    /// The same rules as at signup.
    #[schema(min_length = 12, max_length = 128)]
    new_password: String,
}

/// Marks the email verified; the link works once, for 24 hours.
#[utoipa::path(get, path = "/auth/verify-email", tag = "auth",
    params(VerifyQuery),
    responses(
        (status = 200, description = "The email is verified", body = Said),
        (status = 400, response = error::BadRequest),
    ))]
pub async fn verify_email(
    State(app): State<SharedApp>,
    query: VerifyQuery,
) -> ApiResult<Reply<Said>> {
    let used = app
        .store
        .use_one_time(
            &digest(&query.token),
            Purpose::VerifyEmail,
            app.now().unix_timestamp(),
        )
        .await?
        .ok_or(ApiError::InvalidToken(LINK_UNUSABLE.into()))?;
    match app.store.mark_email_verified(used.user_id).await {
        Err(store::StoreError::NotFound) => {
            return Err(ApiError::InvalidToken(LINK_UNUSABLE.into()));
        }
        marked => marked?,
    }
    tracing::info!(user_id = used.user_id.0, "email verified");
    Ok(Reply::ok(Said {
        success: Succeeded,
        message: "Email verified.",
    }))
}

/// Sends the verification mail again (a few times an hour at most).
#[utoipa::path(post, path = "/auth/verify-email/resend", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "A new link is on its way, or the email is verified already", body = Said),
        (status = 401, response = error::Unauthorized),
        (status = 429, response = error::RateLimited),
        (status = 503, response = error::Unavailable),
    ))]
pub async fn resend_verification(
    State(app): State<SharedApp>,
    caller: Authenticated,
) -> ApiResult<Reply<Said>> {
    // The account as the session check just read it (strongly consistent).
    let user = caller.user;
    MailAttempt::verification(user.id, &app.limits, app.now())
        .reserve(&*app.store)
        .await?;
    if user.email_verified {
        return Ok(Reply::ok(Said {
            success: Succeeded,
            message: "Your email is verified already.",
        }));
    }
    if let Err(error) = send_verification(&app, &user).await {
        tracing::error!(%error, user_id = user.id.0, "verification mail not sent");
        return Err(ApiError::Unavailable);
    }
    Ok(Reply::ok(Said {
        success: Succeeded,
        message: "A new verification link is on its way.",
    }))
}

/// The same answer, in the same time, whether or not the email has an account.
const FORGOT_ANSWER: &str = "If an account has this email, a link to reset its password is on its way. It works once, for an hour.";

/// Mails a password reset link (1 hour, single use) if the email has an account.
#[utoipa::path(post, path = "/auth/password/forgot", tag = "auth",
    request_body = ForgotBody,
    responses(
        (status = 200, description = "The same answer whether or not the email has an account", body = Said),
        (status = 400, response = error::BadRequest),
        (status = 429, response = error::RateLimited),
    ))]
pub async fn forgot_password(
    State(app): State<SharedApp>,
    client: ClientAddr,
    JsonBody(body): JsonBody<ForgotBody>,
) -> ApiResult<Reply<Said>> {
    let answer_at = tokio::time::Instant::now() + FORGOT_ANSWER_AFTER;
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid(e.0))?;
    MailAttempt::password_reset(&email, &client.0, &app.limits, app.now())
        .reserve(&*app.store)
        .await?;
    let outcome = mail_reset_link(&app, &email).await;
    if tokio::time::Instant::now() > answer_at {
        tracing::warn!(
            "a password reset request took longer than its padding; raise FORGOT_ANSWER_AFTER"
        );
    }
    tokio::time::sleep_until(answer_at).await;
    outcome?;
    Ok(Reply::ok(Said {
        success: Succeeded,
        message: FORGOT_ANSWER,
    }))
}

/// The same store reads for known and unknown emails (`credentials` reads alike);
/// only a known one gets a token and a mail.
async fn mail_reset_link(app: &App, email: &Email) -> ApiResult<()> {
    let Some(credentials) = app.store.credentials(email).await? else {
        return Ok(());
    };
    let user = credentials.user;
    let token = new_token();
    app.store
        .put_one_time(NewOneTime {
            digest: digest(&token),
            purpose: Purpose::ResetPassword,
            user_id: user.id,
            expires_at: app.now().unix_timestamp() + RESET_LIFETIME_SECONDS,
            stamp: digest(&credentials.password_hash),
        })
        .await?;
    let link = app.links().to(&format!("/reset#token={token}"));
    let mail = Mail {
        to: user.email.clone(),
        subject: "Reset your mem0 password".to_owned(),
        text: format!(
            "Hello {},\n\nSomeone (we hope you) asked to reset the password of your mem0 \
             account. Open this link to choose a new one; it works once, for an hour:\n\n\
             {link}\n\nIf it was not you, ignore this message: your password stays as it is.\n",
            user.name
        ),
    };
    // A mail that fails must not answer differently from an unknown email.
    if let Err(error) = app.mailer().send(mail).await {
        tracing::error!(%error, user_id = user.id.0, "password reset mail not sent");
    } else {
        tracing::info!(user_id = user.id.0, "password reset mail sent");
    }
    Ok(())
}

/// Sets a new password with the token from the reset mail; ends every session.
#[utoipa::path(post, path = "/auth/password/reset", tag = "auth",
    request_body = ResetBody,
    responses(
        (status = 200, description = "The password is changed; every session has ended", body = Said),
        (status = 400, response = error::BadRequest),
        (status = 503, response = error::Unavailable),
    ))]
pub async fn reset_password(
    State(app): State<SharedApp>,
    JsonBody(body): JsonBody<ResetBody>,
) -> ApiResult<Reply<Said>> {
    let digest_of_token = digest(&body.token);
    let used = app
        .store
        .use_one_time(
            &digest_of_token,
            Purpose::ResetPassword,
            app.now().unix_timestamp(),
        )
        .await?
        .ok_or(ApiError::InvalidToken(LINK_UNUSABLE.into()))?;
    let user = app
        .store
        .user(used.user_id)
        .await?
        .ok_or(ApiError::InvalidToken(LINK_UNUSABLE.into()))?;
    let current = app
        .store
        .credentials(&user.email)
        .await?
        .ok_or(ApiError::InvalidToken(LINK_UNUSABLE.into()))?
        .password_hash;
    if digest(&current) != used.stamp {
        tracing::info!(
            user_id = user.id.0,
            "reset link of an older password refused"
        );
        return Err(ApiError::InvalidToken(LINK_UNUSABLE.into()));
    }
    // A refused password or a busy server leave the link working: the token goes back.
    let hashed = match password::check_policy(&body.password, &user.email, &user.name) {
        Ok(()) => password::hash(body.password).await,
        Err(refused) => Err(refused),
    };
    let new_hash = match hashed {
        Ok(hash) => hash,
        Err(error) => {
            app.store
                .put_one_time(NewOneTime {
                    digest: digest_of_token,
                    purpose: Purpose::ResetPassword,
                    user_id: used.user_id,
                    expires_at: used.expires_at,
                    stamp: used.stamp,
                })
                .await?;
            return Err(error);
        }
    };
    if !app
        .store
        .replace_password_hash(&user.email, &current, new_hash)
        .await?
    {
        return Err(ApiError::InvalidToken(LINK_UNUSABLE.into()));
    }
    // The reset mail reached its owner: the address is theirs.
    app.store.mark_email_verified(user.id).await?;
    end_sessions(&app, user.id, None).await?;
    tracing::info!(user_id = user.id.0, "password reset");
    Ok(Reply::ok(Said {
        success: Succeeded,
        message: "Password changed. Log in with the new one.",
    }))
}

/// Changes the password, given the current one; ends every other session.
#[utoipa::path(post, path = "/auth/password", tag = "auth", security(("bearer" = [])),
    request_body = ChangeBody,
    responses(
        (status = 200, description = "The password is changed; every other session has ended", body = Said),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden),
        (status = 409, response = error::Conflict),
        (status = 429, response = error::RateLimited),
    ))]
pub async fn change_password(
    State(app): State<SharedApp>,
    client: ClientAddr,
    caller: Authenticated,
    JsonBody(body): JsonBody<ChangeBody>,
) -> ApiResult<Reply<Said>> {
    // The account as the session check just read it.
    let user = caller.user.clone();
    password::check_policy(&body.new_password, &user.email, &user.name)?;
    // The current password is guessed against the login's budgets, so a stolen token
    // is no way around them.
    let attempt = LoginAttempt::new(&user.email, &client.0, &app.limits, app.now());
    attempt.reserve(&*app.store).await?;
    let current = app
        .store
        .credentials(&user.email)
        .await?
        .ok_or(ApiError::Unauthorized)?
        .password_hash;
    let verified = password::verify(body.current_password, Some(current.clone())).await;
    if !attempt.unless_busy(&*app.store, verified).await? {
        return Err(ApiError::Forbidden(
            "The current password is not right.".into(),
        ));
    }
    attempt.succeeded(&*app.store).await?;
    let new_hash = password::hash(body.new_password).await?;
    if !app
        .store
        .replace_password_hash(&user.email, &current, new_hash)
        .await?
    {
        return Err(ApiError::Conflict(
            "The password was changed meanwhile. Log in again and retry.".into(),
        ));
    }
    end_sessions(&app, user.id, Some(caller.session_id())).await?;
    tracing::info!(user_id = user.id.0, "password changed");
    Ok(Reply::ok(Said {
        success: Succeeded,
        message: "Password changed. Your other sessions have ended.",
    }))
}

/// Mails `user` a fresh verification link (24 hours, single use). Called at signup and
/// by the resend route; the caller decides what a failure means.
pub(crate) async fn send_verification(app: &App, user: &User) -> ApiResult<()> {
    let token = new_token();
    app.store
        .put_one_time(NewOneTime {
            digest: digest(&token),
            purpose: Purpose::VerifyEmail,
            user_id: user.id,
            expires_at: app.now().unix_timestamp() + VERIFY_LIFETIME_SECONDS,
            stamp: digest(user.email.as_str()),
        })
        .await?;
    let link = app.links().to(&format!("/verify#token={token}"));
    let mail = Mail {
        to: user.email.clone(),
        subject: "Verify your email for mem0".to_owned(),
        text: format!(
            "Hello {},\n\nOpen this link to verify your email address; it works once, for \
             24 hours:\n\n{link}\n\nIf you did not sign up for mem0, ignore this message.\n",
            user.name
        ),
    };
    app.mailer().send(mail).await.map_err(|error| {
        tracing::error!(%error, user_id = user.id.0, "verification mail not sent");
        ApiError::Unavailable
    })
}

/// Ends the user's sessions, all of them or all but `except` (the one changing the
/// password): their access and refresh tokens are 401 from the next request on.
async fn end_sessions(app: &App, user: UserId, except: Option<&SessionId>) -> ApiResult<()> {
    app.store.end_sessions(user, except, app.now()).await?;
    tracing::info!(
        user_id = user.0,
        kept_current = except.is_some(),
        "sessions ended"
    );
    Ok(())
}

/// What a wrong, used or expired verification or reset link answers.
const LINK_UNUSABLE: &str = "This link is wrong, used already or expired. Ask for a new one.";

/// A fresh one-time token: 256 random bits, base64url without padding.
fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 in hex: how tokens (and, in a reset token's stamp, password hashes) are kept.
fn digest(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_random_bits_in_base64url() {
        let first = new_token();
        let second = new_token();
        assert_ne!(first, second);
        assert_eq!(URL_SAFE_NO_PAD.decode(&first).expect("base64url").len(), 32);
        assert!(
            first
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{first}"
        );
    }

    #[test]
    fn the_store_gets_the_digest_never_the_token() {
        let token = new_token();
        let kept = digest(&token);
        assert_eq!(kept.len(), 64);
        assert!(!kept.contains(&token));
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
