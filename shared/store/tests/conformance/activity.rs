//! The activity trail: what every store must do with it (see `store::activity`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use store::{
    ACTIVITY_RETENTION_SECONDS, ActivityEntry, ActivityPage, ContextName, GrantId,
    MAX_ACTIVITY_PAGE, Store, UserId,
};

use super::signup;

macro_rules! activity_suite {
    ($make:expr) => {
        crate::conformance::activity::activity_suite!(@tests $make;
            activity_is_paged_newest_first_with_cursors,
            a_context_shows_every_grants_entries_and_a_grant_only_its_own,
            entries_past_retention_are_not_returned,
            pages_are_capped_and_zero_means_one,
        );
    };
    (@tests $make:expr; $($behaviour:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $behaviour() {
                let store: std::sync::Arc<dyn store::Store> = std::sync::Arc::new($make);
                crate::conformance::activity::$behaviour(store).await;
            }
        )+
    };
}
pub(crate) use activity_suite;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn name(raw: &str) -> ContextName {
    ContextName::parse(raw).expect("context name")
}

/// An entry made at `at`, with a ULID of that second as the API makes them.
fn entry(
    user_id: UserId,
    grant_id: &GrantId,
    context: Option<(UserId, &str)>,
    at: i64,
) -> ActivityEntry {
    let seconds = u64::try_from(at).expect("after 1970");
    let id = ulid::Ulid::from_datetime(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds));
    ActivityEntry {
        id: id.to_string(),
        user_id,
        grant_id: grant_id.clone(),
        client_name: "Agent".to_owned(),
        action: if context.is_some() {
            "recall"
        } else {
            "list_contexts"
        }
        .to_owned(),
        context: context.map(|(owner, raw)| (owner, name(raw))),
        count: 3,
        at,
    }
}

async fn record(store: &dyn Store, entries: &[ActivityEntry]) {
    for entry in entries {
        store.record_activity(entry).await.expect("record");
    }
}

fn ids(entries: &[ActivityEntry]) -> Vec<String> {
    entries.iter().map(|entry| entry.id.clone()).collect()
}

/// Every page of a context's view, `limit` at a time.
async fn context_pages(
    store: &dyn Store,
    owner: UserId,
    context: &str,
    limit: usize,
) -> Vec<ActivityPage> {
    let mut pages: Vec<ActivityPage> = Vec::new();
    loop {
        let before = pages.last().and_then(|page| page.next.clone());
        let page = store
            .context_activity(owner, &name(context), limit, before.as_deref())
            .await
            .expect("context activity");
        let last = page.next.is_none();
        pages.push(page);
        if last {
            return pages;
        }
        assert!(pages.len() < 100, "the cursor does not advance");
    }
}

pub async fn activity_is_paged_newest_first_with_cursors(store: Arc<dyn Store>) {
    let user = signup(&*store, "trail").await;
    let grant = GrantId::generate();
    let start = now() - 100;
    let made: Vec<ActivityEntry> = (0..7)
        .map(|i| entry(user.id, &grant, Some((user.id, "notes")), start + i))
        .collect();
    record(&*store, &made).await;
    let newest_first: Vec<ActivityEntry> = made.iter().rev().cloned().collect();

    let pages = context_pages(&*store, user.id, "notes", 3).await;
    let sizes: Vec<usize> = pages.iter().map(|page| page.entries.len()).collect();
    assert_eq!(sizes, [3, 3, 1]);
    let read: Vec<ActivityEntry> = pages.into_iter().flat_map(|page| page.entries).collect();
    assert_eq!(
        read, newest_first,
        "each entry once, newest first, as recorded"
    );

    let exact = context_pages(&*store, user.id, "notes", 7).await;
    assert_eq!(exact.len(), 1, "no cursor when nothing older follows");
    assert_eq!(exact[0].entries, newest_first);

    let first = store
        .grant_activity(user.id, &grant, 4, None)
        .await
        .expect("grant activity");
    assert_eq!(ids(&first.entries), ids(&newest_first[..4]));
    assert_eq!(first.next.as_deref(), Some(newest_first[3].id.as_str()));
    let second = store
        .grant_activity(user.id, &grant, 4, first.next.as_deref())
        .await
        .expect("grant activity");
    assert_eq!(second.entries, newest_first[4..]);
    assert_eq!(second.next, None);
}

pub async fn a_context_shows_every_grants_entries_and_a_grant_only_its_own(store: Arc<dyn Store>) {
    let owner = signup(&*store, "owner").await;
    let colleague = signup(&*store, "colleague").await;
    let (mine, theirs) = (GrantId::generate(), GrantId::generate());
    let at = now() - 50;
    let on_notes = entry(owner.id, &mine, Some((owner.id, "notes")), at);
    let listing = entry(owner.id, &mine, None, at + 1);
    let on_theirs = entry(owner.id, &mine, Some((colleague.id, "team")), at + 2);
    let colleague_on_notes = entry(colleague.id, &theirs, Some((owner.id, "notes")), at + 3);
    let colleague_own_notes = entry(colleague.id, &theirs, Some((colleague.id, "notes")), at + 4);
    record(
        &*store,
        &[
            on_notes.clone(),
            listing.clone(),
            on_theirs.clone(),
            colleague_on_notes.clone(),
            colleague_own_notes.clone(),
        ],
    )
    .await;

    let notes = store
        .context_activity(owner.id, &name("notes"), MAX_ACTIVITY_PAGE, None)
        .await
        .expect("context activity");
    assert_eq!(
        notes.entries,
        [colleague_on_notes.clone(), on_notes.clone()],
        "whoever's grant acted on the context; not a same-named context of another owner"
    );
    let by_mine = store
        .grant_activity(owner.id, &mine, MAX_ACTIVITY_PAGE, None)
        .await
        .expect("grant activity");
    assert_eq!(by_mine.entries, [on_theirs, listing, on_notes]);
    let by_theirs = store
        .grant_activity(colleague.id, &theirs, MAX_ACTIVITY_PAGE, None)
        .await
        .expect("grant activity");
    assert_eq!(by_theirs.entries, [colleague_own_notes, colleague_on_notes]);

    let borrowed = store
        .grant_activity(colleague.id, &mine, MAX_ACTIVITY_PAGE, None)
        .await
        .expect("grant activity");
    assert_eq!(
        borrowed,
        ActivityPage::default(),
        "another user's grant id shows nothing"
    );
    let unknown = store
        .context_activity(colleague.id, &name("work"), MAX_ACTIVITY_PAGE, None)
        .await
        .expect("context activity");
    assert_eq!(unknown, ActivityPage::default());
}

pub async fn entries_past_retention_are_not_returned(store: Arc<dyn Store>) {
    let user = signup(&*store, "old").await;
    let grant = GrantId::generate();
    let at = now();
    let expired = entry(
        user.id,
        &grant,
        Some((user.id, "notes")),
        at - ACTIVITY_RETENTION_SECONDS - 10,
    );
    let old_but_kept = entry(
        user.id,
        &grant,
        Some((user.id, "notes")),
        at - ACTIVITY_RETENTION_SECONDS + 600,
    );
    let fresh = entry(user.id, &grant, Some((user.id, "notes")), at - 1);
    record(&*store, &[expired, old_but_kept.clone(), fresh.clone()]).await;
    let page = store
        .context_activity(user.id, &name("notes"), 1, None)
        .await
        .expect("context activity");
    assert_eq!(page.entries, std::slice::from_ref(&fresh));
    let older = store
        .context_activity(user.id, &name("notes"), 1, page.next.as_deref())
        .await
        .expect("context activity");
    assert_eq!(older.entries, std::slice::from_ref(&old_but_kept));
    assert_eq!(
        older.next, None,
        "the expired entry is not a page of its own"
    );
    let by_grant = store
        .grant_activity(user.id, &grant, MAX_ACTIVITY_PAGE, None)
        .await
        .expect("grant activity");
    assert_eq!(by_grant.entries, [fresh, old_but_kept]);
}

pub async fn pages_are_capped_and_zero_means_one(store: Arc<dyn Store>) {
    let user = signup(&*store, "many").await;
    let grant = GrantId::generate();
    let start = now() - 1_000;
    let made: Vec<ActivityEntry> = (0..=i64::try_from(MAX_ACTIVITY_PAGE).expect("small"))
        .map(|i| entry(user.id, &grant, None, start + i))
        .collect();
    record(&*store, &made).await;
    let capped = store
        .grant_activity(user.id, &grant, 10_000, None)
        .await
        .expect("grant activity");
    assert_eq!(capped.entries.len(), MAX_ACTIVITY_PAGE);
    assert_eq!(
        capped.next.as_deref(),
        Some(made[1].id.as_str()),
        "the oldest entry is on the next page"
    );
    let one = store
        .grant_activity(user.id, &grant, 0, None)
        .await
        .expect("grant activity");
    assert_eq!(ids(&one.entries), [made[MAX_ACTIVITY_PAGE].id.clone()]);
    assert!(one.next.is_some());
}
