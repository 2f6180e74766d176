//! One-time tokens, email verification and password changes: the behaviour both stores
//! must show. Invoked next to `suite!` as `conformance::onetime::onetime_suite!(...)`.

use std::sync::Arc;

use store::{NewOneTime, Purpose, Store, StoreError, UserId};
use time::OffsetDateTime;

use super::{signup, unique_email};

macro_rules! onetime_suite {
    ($make:expr) => {
        crate::conformance::onetime::onetime_suite!(@tests $make;
            a_one_time_token_works_once,
            concurrent_uses_of_one_token_succeed_exactly_once,
            an_expired_token_is_refused,
            a_token_serves_only_its_purpose,
            an_unknown_token_is_refused,
            marking_an_email_verified_shows_on_the_user_and_its_credentials,
            marking_an_unknown_user_verified_is_not_found,
            a_password_hash_is_replaced_only_while_it_is_the_current_one,
            concurrent_password_changes_from_one_hash_succeed_once,
        );
    };
    (@tests $make:expr; $($behaviour:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $behaviour() {
                let store: std::sync::Arc<dyn store::Store> = std::sync::Arc::new($make);
                crate::conformance::onetime::$behaviour(store).await;
            }
        )+
    };
}
pub(crate) use onetime_suite;

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A digest no other test uses (the stores take any string; the api hashes tokens).
fn digest() -> String {
    format!("{:0>64}", ulid::Ulid::new().to_string().to_lowercase())
}

fn token(digest: &str, purpose: Purpose, user_id: UserId, expires_at: i64) -> NewOneTime {
    NewOneTime {
        digest: digest.to_owned(),
        purpose,
        user_id,
        expires_at,
        stamp: format!("stamp-{digest}"),
    }
}

pub async fn a_one_time_token_works_once(store: Arc<dyn Store>) {
    let user = signup(&*store, "once").await;
    let digest = digest();
    store
        .put_one_time(token(
            &digest,
            Purpose::ResetPassword,
            user.id,
            now() + 3600,
        ))
        .await
        .expect("put");
    let used = store
        .use_one_time(&digest, Purpose::ResetPassword, now())
        .await
        .expect("use")
        .expect("the token is good once");
    assert_eq!(used.user_id, user.id);
    assert_eq!(used.stamp, format!("stamp-{digest}"));
    assert!(used.expires_at > now() + 3500);
    let again = store
        .use_one_time(&digest, Purpose::ResetPassword, now())
        .await
        .expect("use again");
    assert_eq!(again, None, "a used token is gone");
}

pub async fn concurrent_uses_of_one_token_succeed_exactly_once(store: Arc<dyn Store>) {
    let user = signup(&*store, "race").await;
    let digest = digest();
    store
        .put_one_time(token(
            &digest,
            Purpose::ResetPassword,
            user.id,
            now() + 3600,
        ))
        .await
        .expect("put");
    let uses: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let digest = digest.clone();
            tokio::spawn(async move {
                store
                    .use_one_time(&digest, Purpose::ResetPassword, now())
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for task in uses {
        if task.await.expect("task").expect("use").is_some() {
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one of the concurrent uses gets the token");
}

pub async fn an_expired_token_is_refused(store: Arc<dyn Store>) {
    let user = signup(&*store, "expired").await;
    let digest = digest();
    let expires_at = now() + 60;
    store
        .put_one_time(token(&digest, Purpose::VerifyEmail, user.id, expires_at))
        .await
        .expect("put");
    assert_eq!(
        store
            .use_one_time(&digest, Purpose::VerifyEmail, expires_at)
            .await
            .expect("use at expiry"),
        None,
        "expires_at itself is too late"
    );
    assert!(
        store
            .use_one_time(&digest, Purpose::VerifyEmail, expires_at - 1)
            .await
            .expect("use before expiry")
            .is_some(),
        "a refused late use did not consume the token"
    );
}

pub async fn a_token_serves_only_its_purpose(store: Arc<dyn Store>) {
    let user = signup(&*store, "purpose").await;
    let digest = digest();
    store
        .put_one_time(token(&digest, Purpose::VerifyEmail, user.id, now() + 3600))
        .await
        .expect("put");
    assert_eq!(
        store
            .use_one_time(&digest, Purpose::ResetPassword, now())
            .await
            .expect("use for the other purpose"),
        None
    );
    assert!(
        store
            .use_one_time(&digest, Purpose::VerifyEmail, now())
            .await
            .expect("use for its purpose")
            .is_some()
    );
}

pub async fn an_unknown_token_is_refused(store: Arc<dyn Store>) {
    assert_eq!(
        store
            .use_one_time(&digest(), Purpose::VerifyEmail, now())
            .await
            .expect("use"),
        None
    );
}

pub async fn marking_an_email_verified_shows_on_the_user_and_its_credentials(
    store: Arc<dyn Store>,
) {
    let user = signup(&*store, "verified").await;
    assert!(!user.email_verified);
    store.mark_email_verified(user.id).await.expect("mark");
    store
        .mark_email_verified(user.id)
        .await
        .expect("mark twice");
    let fetched = store.user(user.id).await.expect("user").expect("exists");
    assert!(fetched.email_verified);
    let credentials = store
        .credentials(&user.email)
        .await
        .expect("credentials")
        .expect("exists");
    assert!(credentials.user.email_verified);
}

pub async fn marking_an_unknown_user_verified_is_not_found(store: Arc<dyn Store>) {
    assert!(matches!(
        store.mark_email_verified(UserId(u64::MAX / 2)).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_password_hash_is_replaced_only_while_it_is_the_current_one(store: Arc<dyn Store>) {
    let user = signup(&*store, "swap").await;
    let current = store
        .credentials(&user.email)
        .await
        .expect("credentials")
        .expect("exists")
        .password_hash;
    assert!(
        !store
            .replace_password_hash(&user.email, "not the current hash", "new-1".into())
            .await
            .expect("stale swap")
    );
    assert!(
        store
            .replace_password_hash(&user.email, &current, "new-1".into())
            .await
            .expect("swap")
    );
    let after = store
        .credentials(&user.email)
        .await
        .expect("credentials")
        .expect("exists");
    assert_eq!(after.password_hash, "new-1");
    assert_eq!(after.user.id, user.id);
    assert!(
        !store
            .replace_password_hash(&user.email, &current, "new-2".into())
            .await
            .expect("swap from the old hash"),
        "the old hash is no longer current"
    );
    assert!(
        !store
            .replace_password_hash(&unique_email("nobody"), &current, "new-3".into())
            .await
            .expect("unknown email")
    );
}

pub async fn concurrent_password_changes_from_one_hash_succeed_once(store: Arc<dyn Store>) {
    let user = signup(&*store, "swaps").await;
    let current = store
        .credentials(&user.email)
        .await
        .expect("credentials")
        .expect("exists")
        .password_hash;
    let swaps: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            let email = user.email.clone();
            let current = current.clone();
            tokio::spawn(async move {
                store
                    .replace_password_hash(&email, &current, format!("new-{i}"))
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for task in swaps {
        if task.await.expect("task").expect("swap") {
            won += 1;
        }
    }
    assert_eq!(won, 1);
}
