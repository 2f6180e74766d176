//! Sessions: what every store must do with them (see `store::session`).

use std::sync::Arc;

use store::{ClientDescription, NewSession, Session, SessionId, Store, User, UserId};
use time::{Duration, OffsetDateTime};

use super::signup;

macro_rules! sessions_suite {
    ($make:expr) => {
        crate::conformance::sessions::sessions_suite!(@tests $make;
            a_new_session_is_read_with_its_user_in_one_call,
            another_users_or_an_unknown_session_is_absent_from_the_caller,
            a_rotation_moves_the_counter_once_and_a_stale_generation_is_refused,
            concurrent_rotations_of_one_generation_step_the_counter_exactly_once,
            an_ended_session_stays_ended_and_cannot_rotate,
            an_expired_session_cannot_rotate_or_be_ended,
            ending_all_sessions_spares_the_excepted_one_and_other_users,
            live_sessions_are_listed_newest_first,
        );
    };
    (@tests $make:expr; $($behaviour:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $behaviour() {
                let store: std::sync::Arc<dyn store::Store> = std::sync::Arc::new($make);
                crate::conformance::sessions::$behaviour(store).await;
            }
        )+
    };
}
pub(crate) use sessions_suite;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn new_session(user: &User) -> NewSession {
    NewSession {
        user_id: user.id,
        client: ClientDescription::new(Some("conformance/1.0"), Some("192.0.2.10")),
        lifetime_seconds: 30 * 24 * 3600,
        idle_seconds: 7 * 24 * 3600,
    }
}

async fn start(store: &dyn Store, user: &User) -> Session {
    store
        .create_session(new_session(user), now())
        .await
        .expect("create session")
}

async fn read(store: &dyn Store, session: &Session) -> Session {
    store
        .caller(session.user_id, &session.id)
        .await
        .expect("caller")
        .session
        .expect("the session is there")
}

pub async fn a_new_session_is_read_with_its_user_in_one_call(store: Arc<dyn Store>) {
    let user = signup(&*store, "session").await;
    let session = start(&*store, &user).await;
    assert_eq!(session.counter, 0);
    assert!(session.is_live(now().unix_timestamp()));
    let caller = store.caller(user.id, &session.id).await.expect("caller");
    assert_eq!(caller.user, Some(user));
    assert_eq!(caller.session, Some(session.clone()));
    assert_eq!(
        session.client.user_agent.as_deref(),
        Some("conformance/1.0")
    );
    assert_eq!(session.client.address.as_deref(), Some("192.0.2.10"));
}

pub async fn another_users_or_an_unknown_session_is_absent_from_the_caller(store: Arc<dyn Store>) {
    let owner = signup(&*store, "owner").await;
    let other = signup(&*store, "other").await;
    let session = start(&*store, &owner).await;
    let borrowed = store.caller(other.id, &session.id).await.expect("caller");
    assert_eq!(borrowed.user, Some(other));
    assert_eq!(borrowed.session, None, "a session is only its own user's");
    let unknown = store
        .caller(owner.id, &SessionId::generate())
        .await
        .expect("caller");
    assert!(unknown.user.is_some() && unknown.session.is_none());
    let nobody = store
        .caller(UserId(u64::MAX), &session.id)
        .await
        .expect("caller");
    assert!(nobody.user.is_none() && nobody.session.is_none());
}

pub async fn a_rotation_moves_the_counter_once_and_a_stale_generation_is_refused(
    store: Arc<dyn Store>,
) {
    let user = signup(&*store, "rotate").await;
    let session = start(&*store, &user).await;
    let rotated = store
        .rotate_session(&session, 0, now())
        .await
        .expect("rotate")
        .expect("generation 0 is current");
    assert_eq!(rotated.counter, 1);
    assert!(rotated.rotated_at.is_some());
    assert_eq!(read(&*store, &session).await, rotated);
    assert_eq!(
        store
            .rotate_session(&session, 0, now())
            .await
            .expect("rotate"),
        None,
        "generation 0 is gone"
    );
    let again = store
        .rotate_session(&rotated, 1, now())
        .await
        .expect("rotate")
        .expect("generation 1 is current");
    assert_eq!(again.counter, 2);
}

pub async fn concurrent_rotations_of_one_generation_step_the_counter_exactly_once(
    store: Arc<dyn Store>,
) {
    let user = signup(&*store, "race").await;
    let session = start(&*store, &user).await;
    let racers = (0..16).map(|_| {
        let store = Arc::clone(&store);
        let session = session.clone();
        tokio::spawn(async move { store.rotate_session(&session, 0, now()).await })
    });
    let mut winners = 0;
    for racer in racers {
        if racer.await.expect("task").expect("rotate").is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(read(&*store, &session).await.counter, 1);
}

pub async fn an_ended_session_stays_ended_and_cannot_rotate(store: Arc<dyn Store>) {
    let user = signup(&*store, "ended").await;
    let session = start(&*store, &user).await;
    assert!(
        store
            .end_session(user.id, &session.id, now())
            .await
            .expect("end")
    );
    assert!(
        !store
            .end_session(user.id, &session.id, now())
            .await
            .expect("end"),
        "ending twice finds nothing live"
    );
    let ended = read(&*store, &session).await;
    assert!(ended.ended_at.is_some());
    assert!(!ended.is_live(now().unix_timestamp()));
    assert_eq!(
        store
            .rotate_session(&session, 0, now())
            .await
            .expect("rotate"),
        None
    );
    let stranger = signup(&*store, "stranger").await;
    let theirs = start(&*store, &stranger).await;
    assert!(
        !store
            .end_session(user.id, &theirs.id, now())
            .await
            .expect("end"),
        "nobody ends another user's session"
    );
    assert!(read(&*store, &theirs).await.is_live(now().unix_timestamp()));
}

pub async fn an_expired_session_cannot_rotate_or_be_ended(store: Arc<dyn Store>) {
    let user = signup(&*store, "expired").await;
    let long_ago = now() - Duration::hours(2);
    let short = NewSession {
        lifetime_seconds: 3600,
        ..new_session(&user)
    };
    let expired = store.create_session(short, long_ago).await.expect("create");
    let idle = NewSession {
        idle_seconds: 60,
        ..new_session(&user)
    };
    let idle = store.create_session(idle, long_ago).await.expect("create");
    for session in [&expired, &idle] {
        assert!(!read(&*store, session).await.is_live(now().unix_timestamp()));
        assert_eq!(
            store
                .rotate_session(session, 0, now())
                .await
                .expect("rotate"),
            None
        );
        assert!(
            !store
                .end_session(user.id, &session.id, now())
                .await
                .expect("end")
        );
    }
}

pub async fn ending_all_sessions_spares_the_excepted_one_and_other_users(store: Arc<dyn Store>) {
    let user = signup(&*store, "all").await;
    let other = signup(&*store, "bystander").await;
    let mut mine = Vec::new();
    for _ in 0..5 {
        mine.push(start(&*store, &user).await);
    }
    let theirs = start(&*store, &other).await;
    let kept = mine[2].id.clone();
    store
        .end_sessions(user.id, Some(&kept), now())
        .await
        .expect("end all but one");
    let at = now().unix_timestamp();
    for session in &mine {
        assert_eq!(read(&*store, session).await.is_live(at), session.id == kept);
    }
    assert!(read(&*store, &theirs).await.is_live(at));
    store
        .end_sessions(user.id, None, now())
        .await
        .expect("end all");
    assert!(
        !read(&*store, &mine[2])
            .await
            .is_live(now().unix_timestamp())
    );
    assert!(
        store
            .list_sessions(user.id, now())
            .await
            .expect("list")
            .is_empty()
    );
}

pub async fn live_sessions_are_listed_newest_first(store: Arc<dyn Store>) {
    let user = signup(&*store, "list").await;
    let mut started = Vec::new();
    for _ in 0..3 {
        started.push(start(&*store, &user).await);
        // ULIDs of one millisecond are not ordered among themselves.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let expired = NewSession {
        lifetime_seconds: 60,
        ..new_session(&user)
    };
    store
        .create_session(expired, now() - Duration::hours(1))
        .await
        .expect("create");
    assert!(
        store
            .end_session(user.id, &started[0].id, now())
            .await
            .expect("end")
    );
    let listed: Vec<SessionId> = store
        .list_sessions(user.id, now())
        .await
        .expect("list")
        .into_iter()
        .map(|session| session.id)
        .collect();
    assert_eq!(listed, [started[2].id.clone(), started[1].id.clone()]);
}
