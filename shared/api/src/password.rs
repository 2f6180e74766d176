//! Password policy and argon2id hashing. Hashing is slow on purpose, so it runs on
//! tokio's blocking pool, never on the request's async worker.

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use store::Email;

use crate::error::{ApiError, ApiResult};

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

/// OWASP's argon2id floor: 19 MiB, two passes, one lane.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// An argon2id hash of a password nobody has, with the same parameters as real ones:
/// verifying against it makes an unknown email cost as much as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$DAN/8sr8z3OEKUkMtu5PYA$DZ8NhMOVI3+G8M2xrAoqOXYODeN2LUx3pIDfVfiFfbg";

fn hasher() -> ApiResult<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).map_err(|error| {
        tracing::error!(%error, "argon2 parameters refused");
        ApiError::Internal
    })?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Refuses passwords outside 12–128 characters, containing the email's local part,
/// or easy to guess (common passwords, keyboard walks, dictionary words + digits).
pub fn check_policy(password: &str, email: &Email, name: &str) -> ApiResult<()> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(ApiError::WeakPassword(format!(
            "Use at least {MIN_CHARS} characters; a few unrelated words make a good password."
        )));
    }
    if chars > MAX_CHARS {
        return Err(ApiError::WeakPassword(format!(
            "Use at most {MAX_CHARS} characters."
        )));
    }
    let lowered = password.to_lowercase();
    let local_part = email.local_part();
    if local_part.chars().count() >= 3 && lowered.contains(local_part) {
        return Err(ApiError::WeakPassword(
            "Don't build the password from your email address.".into(),
        ));
    }
    let mut hints: Vec<&str> = vec![local_part, "mem0"];
    hints.extend(name.split_whitespace());
    let estimate = zxcvbn::zxcvbn(password, &hints);
    if u8::from(estimate.score()) < 3 {
        let why = estimate
            .feedback()
            .and_then(|feedback| feedback.warning())
            .map(|warning| format!("{warning}"))
            .unwrap_or_else(|| "It is easy to guess.".into());
        return Err(ApiError::WeakPassword(format!(
            "This password is too easy to guess: {} Try a few unrelated words.",
            why.trim_end_matches('.').to_owned() + "."
        )));
    }
    Ok(())
}

pub async fn hash(password: String) -> ApiResult<String> {
    run_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()?
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| {
                tracing::error!(%error, "password hashing failed");
                ApiError::Internal
            })
    })
    .await
}

/// Checks `password` against `stored`, or against the dummy hash when there is no
/// account, so both cases take the same time.
pub async fn verify(password: String, stored: Option<String>) -> ApiResult<bool> {
    let is_real = stored.is_some();
    let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
    let matches = run_blocking(move || {
        let parsed = PasswordHash::new(&stored).map_err(|error| {
            tracing::error!(%error, "stored password hash is unreadable");
            ApiError::Internal
        })?;
        Ok(hasher()?
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await?;
    Ok(is_real && matches)
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        tracing::error!(%error, "blocking task failed");
        ApiError::Internal
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("alice.smith@example.com").unwrap()
    }

    fn refusal(password: &str) -> String {
        match check_policy(password, &email(), "Alice Smith") {
            Err(ApiError::WeakPassword(message)) => message,
            other => panic!("{password:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn good_passphrases_pass() {
        for password in [
            "a long passphrase here",
            "correct horse battery staple",
            "Tr0ub4dor&3-plus-some-more",
            "ünïcödé pässwörd with spaces",
        ] {
            assert!(
                check_policy(password, &email(), "Alice Smith").is_ok(),
                "{password:?}"
            );
        }
    }

    #[test]
    fn short_long_common_and_personal_passwords_are_refused() {
        assert!(refusal("short").contains("at least 12"));
        assert!(refusal(&"x".repeat(129)).contains("at most 128"));
        assert!(refusal("password1234").contains("too easy to guess"));
        assert!(refusal("qwertyuiop12").contains("too easy to guess"));
        assert!(refusal("alice.smith-2024!!").contains("email"));
        assert!(refusal("aaaaaaaaaaaaaaaa").contains("too easy to guess"));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 12 two-byte characters: long enough although it is 24 bytes.
        let password = "éàüöäçñßøåæœ";
        assert_eq!(password.chars().count(), 12);
        assert!(!refusal("ééééé").is_empty());
        assert!(!matches!(
            check_policy(password, &email(), "Alice"),
            Err(ApiError::WeakPassword(message)) if message.contains("at least")
        ));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hash = hash("a long passphrase here".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify("a long passphrase here".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("a long passphrase herE".into(), Some(hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(
            !verify("dummy password: this account does not exist".into(), None)
                .await
                .unwrap()
        );
    }

    #[test]
    fn the_dummy_hash_uses_the_real_parameters() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (MEMORY_KIB, PASSES, LANES)
        );
    }
}
