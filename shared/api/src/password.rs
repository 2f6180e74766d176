//! Password policy and argon2id hashing. Hashing is slow on purpose, so it runs on
//! tokio's blocking pool, never on the request's async worker, and memory-hard: each
//! hash takes 19 MiB. So at most one hash per core runs at a time; the others wait in
//! line for a while, then get 503 (a few hundred concurrent logins would otherwise
//! take the machine's memory).

use std::sync::{Arc, LazyLock, Once};
use std::time::Duration;

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use store::Email;
use tokio::sync::Semaphore;

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
    let mut personal: Vec<&str> = vec![local_part, "mem0"];
    personal.extend(name.split_whitespace());
    let estimate = strength::estimate(password, &personal);
    if estimate.score() < 3 {
        let why = estimate.warning.map_or_else(
            || "It is easy to guess.".to_owned(),
            |warning| warning.to_string(),
        );
        return Err(ApiError::WeakPassword(format!(
            "This password is too easy to guess: {why} Try a few unrelated words."
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

/// How long a hash may wait for its turn before the request is turned away.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// One turn per core: more hashes at once would not finish sooner, only hold more memory.
static TURNS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    Arc::new(Semaphore::new(cores))
});

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    run_in_turn(QUEUE_TIMEOUT, work).await
}

/// Runs `work` on the blocking pool once a turn is free, or fails with `Busy` after
/// waiting `patience`.
async fn run_in_turn<T: Send + 'static>(
    patience: Duration,
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    return_big_blocks_to_the_system();
    let turn = tokio::time::timeout(patience, Arc::clone(&TURNS).acquire_owned())
        .await
        .map_err(|_| {
            tracing::warn!("password hashing queue full; answered 503");
            ApiError::Busy
        })?
        .map_err(|_| ApiError::Internal)?;
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work()
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "blocking task failed");
        ApiError::Internal
    })?
}

/// glibc serves a 19 MiB allocation with its own mapping at first, but raises its
/// mmap threshold to the size of any such block freed, and from then on carves them
/// out of per-thread arenas that it keeps: 20 concurrent logins left 466 MiB resident.
/// A fixed threshold keeps every hash's blocks in a mapping of their own, given back
/// to the system when the hash is done.
fn return_big_blocks_to_the_system() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only sets an allocator parameter; any value is valid for
        // M_MMAP_THRESHOLD up to 32 MiB, and it is safe to call from any thread.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    });
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

    #[tokio::test]
    async fn a_hash_that_cannot_get_a_turn_in_time_is_busy_not_queued_forever() {
        let all_turns =
            u32::try_from(std::thread::available_parallelism().map_or(1, usize::from)).unwrap();
        let held = Arc::clone(&TURNS)
            .acquire_many_owned(all_turns)
            .await
            .unwrap();
        let waited = run_in_turn(Duration::from_millis(50), || Ok(())).await;
        assert!(matches!(waited, Err(ApiError::Busy)), "{waited:?}");
        drop(held);
        assert!(
            run_in_turn(Duration::from_millis(50), || Ok(()))
                .await
                .is_ok()
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
