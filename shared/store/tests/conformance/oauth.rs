//! OAuth clients, authorization codes and grants: what every store must do with them
//! (see `store::oauth` and `store::grant`).

use std::sync::Arc;

use store::grant::MAX_LISTED_GRANTS;
use store::{
    AuthorizationCode, ContextName, ContextRef, Grant, GrantContexts, GrantId, GrantRotation,
    OAuthClient, Scopes, Store, StoreError, User,
};

use super::signup;

macro_rules! oauth_suite {
    ($make:expr) => {
        crate::conformance::oauth::oauth_suite!(@tests $make;
            a_registered_client_is_found_by_its_id,
            a_duplicate_client_id_is_refused_and_the_first_kept,
            a_code_is_used_once,
            an_expired_code_is_none,
            concurrent_uses_of_one_code_get_it_exactly_once,
            a_grant_is_read_with_its_user_in_one_call,
            another_users_or_an_unknown_grant_is_none,
            a_rotation_steps_the_generation_and_a_replayed_one_revokes_the_grant,
            concurrent_rotations_of_one_generation_rotate_exactly_once,
            a_refresh_naming_a_generation_never_issued_is_reuse,
            a_revoked_grant_is_unlisted_but_read_as_revoked,
            a_revoked_grant_cannot_rotate_or_be_touched,
            touching_writes_at_most_once_a_minute,
            live_grants_are_listed_newest_first_and_capped,
        );
    };
    (@tests $make:expr; $($behaviour:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $behaviour() {
                let store: std::sync::Arc<dyn store::Store> = std::sync::Arc::new($make);
                crate::conformance::oauth::$behaviour(store).await;
            }
        )+
    };
}
pub(crate) use oauth_suite;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A digest no other test (or run sharing the server) uses.
fn unique_digest() -> String {
    format!("{:0>64}", ulid::Ulid::new().to_string().to_lowercase())
}

fn some_contexts(user: &User) -> GrantContexts {
    GrantContexts::only(vec![ContextRef {
        owner: user.id,
        name: ContextName::parse("notes").expect("name"),
    }])
    .expect("contexts")
}

fn code_for(user: &User, expires_at: i64) -> AuthorizationCode {
    AuthorizationCode {
        digest: unique_digest(),
        client_id: ulid::Ulid::new().to_string(),
        redirect_uri: "http://127.0.0.1:33418/callback".to_owned(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        resource: "https://mem0.example/mcp".to_owned(),
        user_id: user.id,
        scopes: Scopes::parse("memories:read").expect("scope"),
        contexts: some_contexts(user),
        expires_at,
    }
}

fn grant_for(user: &User, created_at: i64) -> Grant {
    Grant {
        id: GrantId::generate(),
        user_id: user.id,
        client_id: "https://agent.example/client.json".to_owned(),
        client_name: "Agent".to_owned(),
        scopes: Scopes::all(),
        contexts: some_contexts(user),
        created_at,
        last_used_at: created_at,
        generation: 0,
        revoked_at: None,
    }
}

async fn granted(store: &dyn Store, user: &User) -> Grant {
    let grant = grant_for(user, now());
    store.create_grant(&grant).await.expect("create grant");
    grant
}

async fn read(store: &dyn Store, grant: &Grant) -> Grant {
    store
        .grant_caller(grant.user_id, &grant.id)
        .await
        .expect("grant caller")
        .expect("the grant is there")
        .1
}

pub async fn a_registered_client_is_found_by_its_id(store: Arc<dyn Store>) {
    let client = OAuthClient {
        client_id: ulid::Ulid::new().to_string(),
        client_name: "Claude".to_owned(),
        redirect_uris: vec![
            "http://127.0.0.1:33418/callback".to_owned(),
            "https://claude.ai/api/mcp/auth_callback".to_owned(),
        ],
        created_at: now(),
    };
    store.register_client(&client).await.expect("register");
    assert_eq!(
        store.client(&client.client_id).await.expect("client"),
        Some(client)
    );
    let unknown = ulid::Ulid::new().to_string();
    assert_eq!(store.client(&unknown).await.expect("client"), None);
}

pub async fn a_duplicate_client_id_is_refused_and_the_first_kept(store: Arc<dyn Store>) {
    let first = OAuthClient {
        client_id: format!("https://agent.example/{}.json", ulid::Ulid::new()),
        client_name: "First".to_owned(),
        redirect_uris: vec!["https://agent.example/cb".to_owned()],
        created_at: now(),
    };
    store.register_client(&first).await.expect("register");
    let takeover = OAuthClient {
        client_name: "Impostor".to_owned(),
        redirect_uris: vec!["https://attacker.example/cb".to_owned()],
        ..first.clone()
    };
    assert!(matches!(
        store.register_client(&takeover).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.client(&first.client_id).await.expect("client"),
        Some(first)
    );
}

pub async fn a_code_is_used_once(store: Arc<dyn Store>) {
    let user = signup(&*store, "code").await;
    let code = code_for(&user, now() + 60);
    store.put_authorization_code(&code).await.expect("put");
    assert_eq!(
        store
            .use_authorization_code(&code.digest, now())
            .await
            .expect("use"),
        Some(code.clone())
    );
    assert_eq!(
        store
            .use_authorization_code(&code.digest, now())
            .await
            .expect("use"),
        None,
        "a reused code is gone"
    );
    assert_eq!(
        store
            .use_authorization_code(&unique_digest(), now())
            .await
            .expect("use"),
        None
    );
}

pub async fn an_expired_code_is_none(store: Arc<dyn Store>) {
    let user = signup(&*store, "late").await;
    let at = now();
    let code = code_for(&user, at + 60);
    store.put_authorization_code(&code).await.expect("put");
    assert_eq!(
        store
            .use_authorization_code(&code.digest, at + 60)
            .await
            .expect("use"),
        None,
        "at expires_at the code is dead"
    );
    let stale = code_for(&user, at - 1);
    store.put_authorization_code(&stale).await.expect("put");
    assert_eq!(
        store
            .use_authorization_code(&stale.digest, at)
            .await
            .expect("use"),
        None
    );
}

pub async fn concurrent_uses_of_one_code_get_it_exactly_once(store: Arc<dyn Store>) {
    let user = signup(&*store, "code-race").await;
    let code = code_for(&user, now() + 60);
    store.put_authorization_code(&code).await.expect("put");
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let digest = code.digest.clone();
            tokio::spawn(async move { store.use_authorization_code(&digest, now()).await })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        if let Some(used) = racer.await.expect("task").expect("use") {
            winners.push(used);
        }
    }
    assert_eq!(winners, [code]);
}

pub async fn a_grant_is_read_with_its_user_in_one_call(store: Arc<dyn Store>) {
    let user = signup(&*store, "grant").await;
    let grant = granted(&*store, &user).await;
    assert_eq!(
        store
            .grant_caller(user.id, &grant.id)
            .await
            .expect("grant caller"),
        Some((user.clone(), grant.clone()))
    );
    let all = Grant {
        contexts: GrantContexts::All,
        scopes: Scopes::parse("memories:write").expect("scope"),
        ..grant_for(&user, now())
    };
    store.create_grant(&all).await.expect("create");
    assert_eq!(read(&*store, &all).await, all);
    assert!(matches!(
        store.create_grant(&grant).await,
        Err(StoreError::Conflict)
    ));
}

pub async fn another_users_or_an_unknown_grant_is_none(store: Arc<dyn Store>) {
    let owner = signup(&*store, "granter").await;
    let other = signup(&*store, "borrower").await;
    let grant = granted(&*store, &owner).await;
    assert_eq!(
        store.grant_caller(other.id, &grant.id).await.expect("read"),
        None,
        "a grant is only its own user's"
    );
    assert_eq!(
        store
            .grant_caller(owner.id, &GrantId::generate())
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        store
            .grant_caller(store::UserId(u64::MAX), &grant.id)
            .await
            .expect("read"),
        None
    );
    assert!(
        !store
            .revoke_grant(other.id, &grant.id, now())
            .await
            .expect("revoke"),
        "nobody revokes another user's grant"
    );
    assert_eq!(
        store
            .rotate_grant(other.id, &grant.id, 0, now())
            .await
            .expect("rotate"),
        GrantRotation::Gone
    );
    assert!(read(&*store, &grant).await.is_live());
}

pub async fn a_rotation_steps_the_generation_and_a_replayed_one_revokes_the_grant(
    store: Arc<dyn Store>,
) {
    let user = signup(&*store, "rotate").await;
    let grant = granted(&*store, &user).await;
    let later = now() + 5;
    let GrantRotation::Rotated(rotated) = store
        .rotate_grant(user.id, &grant.id, 0, later)
        .await
        .expect("rotate")
    else {
        panic!("generation 0 is current");
    };
    assert_eq!(rotated.generation, 1);
    assert_eq!(rotated.last_used_at, later);
    assert_eq!(read(&*store, &grant).await, rotated);
    let GrantRotation::Rotated(again) = store
        .rotate_grant(user.id, &grant.id, 1, later)
        .await
        .expect("rotate")
    else {
        panic!("generation 1 is current");
    };
    assert_eq!(again.generation, 2);
    assert_eq!(
        store
            .rotate_grant(user.id, &grant.id, 0, later)
            .await
            .expect("rotate"),
        GrantRotation::Reused,
        "generation 0 was replayed"
    );
    assert_eq!(read(&*store, &grant).await.revoked_at, Some(later));
    assert_eq!(
        store
            .rotate_grant(user.id, &grant.id, 2, later)
            .await
            .expect("rotate"),
        GrantRotation::Gone,
        "the current token died with the grant"
    );
    assert_eq!(
        store
            .rotate_grant(user.id, &GrantId::generate(), 0, later)
            .await
            .expect("rotate"),
        GrantRotation::Gone
    );
}

pub async fn concurrent_rotations_of_one_generation_rotate_exactly_once(store: Arc<dyn Store>) {
    let user = signup(&*store, "rotate-race").await;
    let grant = granted(&*store, &user).await;
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let grant = grant.clone();
            tokio::spawn(
                async move { store.rotate_grant(grant.user_id, &grant.id, 0, now()).await },
            )
        })
        .collect();
    let (mut rotated, mut reused) = (0, 0);
    for racer in racers {
        match racer.await.expect("task").expect("rotate") {
            GrantRotation::Rotated(grant) => {
                assert_eq!(grant.generation, 1);
                rotated += 1;
            }
            GrantRotation::Reused => reused += 1,
            GrantRotation::Gone => {}
        }
    }
    assert_eq!(rotated, 1);
    assert!(reused >= 1, "the losers replayed generation 0");
    let after = read(&*store, &grant).await;
    assert_eq!(after.generation, 1);
    assert!(!after.is_live(), "a replayed refresh token ends the grant");
}

pub async fn a_refresh_naming_a_generation_never_issued_is_reuse(store: Arc<dyn Store>) {
    let user = signup(&*store, "forged").await;
    for from in [1, u64::MAX] {
        let grant = granted(&*store, &user).await;
        assert_eq!(
            store
                .rotate_grant(user.id, &grant.id, from, now())
                .await
                .expect("rotate"),
            GrantRotation::Reused,
            "{from}"
        );
        assert!(!read(&*store, &grant).await.is_live());
    }
}

pub async fn a_revoked_grant_is_unlisted_but_read_as_revoked(store: Arc<dyn Store>) {
    let user = signup(&*store, "revoke").await;
    let kept = granted(&*store, &user).await;
    let revoked = granted(&*store, &user).await;
    let at = now();
    assert!(
        store
            .revoke_grant(user.id, &revoked.id, at)
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_grant(user.id, &revoked.id, at + 1)
            .await
            .expect("revoke"),
        "revoking twice finds nothing live"
    );
    let (caller, read_back) = store
        .grant_caller(user.id, &revoked.id)
        .await
        .expect("read")
        .expect("a revoked grant is still read");
    assert_eq!(caller, user);
    assert_eq!(read_back.revoked_at, Some(at));
    let listed: Vec<GrantId> = store
        .list_grants(user.id)
        .await
        .expect("list")
        .into_iter()
        .map(|grant| grant.id)
        .collect();
    assert_eq!(listed, [kept.id]);
}

pub async fn a_revoked_grant_cannot_rotate_or_be_touched(store: Arc<dyn Store>) {
    let user = signup(&*store, "revoked").await;
    let grant = granted(&*store, &user).await;
    assert!(
        store
            .revoke_grant(user.id, &grant.id, grant.created_at)
            .await
            .expect("revoke")
    );
    assert_eq!(
        store
            .rotate_grant(user.id, &grant.id, 0, now())
            .await
            .expect("rotate"),
        GrantRotation::Gone
    );
    store
        .touch_grant(user.id, &grant.id, grant.created_at + 3600)
        .await
        .expect("touch");
    let after = read(&*store, &grant).await;
    assert_eq!(after.generation, 0);
    assert_eq!(after.last_used_at, grant.created_at);
    store
        .touch_grant(user.id, &GrantId::generate(), now())
        .await
        .expect("touching a grant that is not there is no error");
}

pub async fn touching_writes_at_most_once_a_minute(store: Arc<dyn Store>) {
    let user = signup(&*store, "touch").await;
    let grant = granted(&*store, &user).await;
    let last_used = |store: Arc<dyn Store>, grant: Grant| async move {
        read(&*store, &grant).await.last_used_at
    };
    let created = grant.created_at;
    store
        .touch_grant(user.id, &grant.id, created + 30)
        .await
        .expect("touch");
    assert_eq!(
        last_used(Arc::clone(&store), grant.clone()).await,
        created,
        "30 s"
    );
    store
        .touch_grant(user.id, &grant.id, created + 61)
        .await
        .expect("touch");
    assert_eq!(
        last_used(Arc::clone(&store), grant.clone()).await,
        created + 61
    );
    let touches: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            let grant = grant.clone();
            tokio::spawn(async move {
                store
                    .touch_grant(grant.user_id, &grant.id, created + 100 + i)
                    .await
            })
        })
        .collect();
    for touch in touches {
        touch.await.expect("task").expect("touch");
    }
    assert_eq!(
        last_used(Arc::clone(&store), grant.clone()).await,
        created + 61,
        "within a minute of the last write"
    );
    store
        .touch_grant(user.id, &grant.id, created + 122)
        .await
        .expect("touch");
    assert_eq!(last_used(store, grant).await, created + 122);
}

pub async fn live_grants_are_listed_newest_first_and_capped(store: Arc<dyn Store>) {
    let user = signup(&*store, "grants").await;
    let other = signup(&*store, "others").await;
    granted(&*store, &other).await;
    let mut made = Vec::new();
    for _ in 0..MAX_LISTED_GRANTS + 3 {
        made.push(granted(&*store, &user).await);
        // ULIDs of one millisecond are not ordered among themselves.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let revoked = made.pop().expect("made");
    assert!(
        store
            .revoke_grant(user.id, &revoked.id, now())
            .await
            .expect("revoke")
    );
    let listed = store.list_grants(user.id).await.expect("list");
    let expected: Vec<Grant> = made.iter().rev().take(MAX_LISTED_GRANTS).cloned().collect();
    assert_eq!(listed, expected);
    assert!(listed.iter().all(|grant| grant.user_id == user.id));
}
