//! The behaviour every `Store` implementation must show. Each backend's test file runs
//! the whole suite against a fresh store:
//!
//! ```ignore
//! mod conformance;
//! conformance::suite!(store::embedded::EmbeddedStore::in_memory().expect("open store"));
//! ```
//!
//! `$make` may use `.await` and must evaluate to a value that implements `Store`. Tests
//! use unique emails and keys, so several runs may share one backing server.

pub mod activity;
pub mod oauth;
pub mod onetime;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use store::{
    AccountType, Budget, Candidates, Context, ContextName, Description, DisplayName, Email,
    MAX_PAGE, Memory, MemoryId, MemoryText, NewContext, NewMemory, NewOrganization, NewUser,
    Organization, OrganizationDetail, Reservation, Role, Store, StoreError, Tags, User, UserId,
    Viewer, Visibility, Window,
};
use time::OffsetDateTime;

pub mod orgs;
pub mod sessions;

macro_rules! suite {
    ($make:expr) => {
        crate::conformance::suite!(@tests $make;
            a_new_user_can_be_fetched_by_id_and_by_email,
            unknown_users_and_emails_are_absent,
            user_ids_are_distinct_and_increasing,
            a_taken_email_is_refused_and_nothing_changes,
            an_organization_signup_makes_the_user_its_admin,
            concurrent_signups_for_one_email_create_exactly_one_account,
            concurrent_signups_of_different_emails_get_distinct_ids,
            a_created_context_is_listed_and_found,
            own_contexts_are_listed_by_name,
            a_duplicate_context_name_conflicts_but_another_user_may_use_it,
            concurrent_creates_of_one_context_name_succeed_once,
            a_private_context_is_invisible_to_everyone_else,
            organization_contexts_are_visible_to_members_but_not_outsiders,
            an_own_context_wins_over_a_shared_one_and_the_oldest_shared_wins,
            memories_are_counted_in_and_out_of_their_context,
            deleting_an_unknown_memory_is_not_found,
            concurrent_puts_are_all_counted,
            memories_are_paged_newest_first_covering_each_once,
            page_size_is_capped_and_zero_means_one,
            recent_memories_returns_the_newest,
            recent_memories_stop_before_the_byte_budget,
            deleting_a_context_removes_it_and_its_memories,
            a_re_created_context_starts_empty,
            tags_text_and_created_at_round_trip,
            a_budget_grants_its_limit_per_key_and_per_window,
            a_refused_reservation_takes_nothing_from_any_budget,
            refunds_give_back_one_attempt_and_never_go_below_zero,
            concurrent_reservations_never_exceed_a_limit,
            revoked_tokens_stay_revoked_and_others_do_not,
            a_revocation_outlives_later_pruning_through_its_keep_until_second,
            a_deleted_context_takes_no_memories_and_its_name_starts_afresh,
            concurrent_deletes_of_one_context_leave_nothing_behind,
            memories_put_while_their_context_is_deleted_are_refused_or_removed,
        );
    };
    (@tests $make:expr; $($behaviour:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $behaviour() {
                let store: std::sync::Arc<dyn store::Store> = std::sync::Arc::new($make);
                crate::conformance::$behaviour(store).await;
            }
        )+
    };
}
pub(crate) use suite;

// ---- helpers -------------------------------------------------------------------------

/// An email no other test (or run sharing the server) uses.
fn unique_email(label: &str) -> Email {
    Email::parse(&format!("{label}-{}@Example.com", ulid::Ulid::new())).expect("valid email")
}

fn new_user(email: &Email, name: &str) -> NewUser {
    NewUser {
        email: email.clone(),
        name: DisplayName::parse(name, "name").expect("valid name"),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${name}"),
    }
}

fn new_organization(name: &str) -> NewOrganization {
    NewOrganization {
        name: DisplayName::parse(name, "organization name").expect("valid name"),
        domain: detail("example.com"),
        size: detail("11-50"),
        industry: None,
    }
}

fn detail(raw: &str) -> Option<OrganizationDetail> {
    OrganizationDetail::parse(Some(raw), "detail").expect("valid detail")
}

fn new_memory(text: &str, tags: &[&str]) -> NewMemory {
    NewMemory {
        text: MemoryText::parse(text).expect("valid memory text"),
        tags: Tags::parse(tags).expect("valid tags"),
    }
}

async fn signup(store: &dyn Store, label: &str) -> User {
    let (user, organization) = store
        .create_user(new_user(&unique_email(label), label), None)
        .await
        .expect("create user");
    assert!(organization.is_none());
    user
}

async fn signup_organization(store: &dyn Store, label: &str) -> (User, Organization) {
    let (user, organization) = store
        .create_user(
            new_user(&unique_email(label), label),
            Some(new_organization(&format!("{label} Inc"))),
        )
        .await
        .expect("create organization admin");
    (user, organization.expect("an organization"))
}

/// A second member of `admin`'s organization. The store trusts the `Viewer`, so an
/// individual user viewed with the organization's id is a member.
async fn member_of(store: &dyn Store, admin: &User, label: &str) -> Viewer {
    let user = signup(store, label).await;
    Viewer {
        user_id: user.id,
        organization_id: admin.organization_id,
    }
}

fn viewer(user: &User) -> Viewer {
    Viewer {
        user_id: user.id,
        organization_id: user.organization_id,
    }
}

fn name(raw: &str) -> ContextName {
    ContextName::parse(raw).expect("valid context name")
}

async fn create_context(
    store: &dyn Store,
    viewer: &Viewer,
    raw_name: &str,
    visibility: Visibility,
) -> Context {
    store
        .create_context(
            viewer,
            NewContext {
                name: name(raw_name),
                description: Description::parse(&format!("about {raw_name}")).expect("valid"),
                visibility,
            },
        )
        .await
        .expect("create context")
}

async fn put(store: &dyn Store, context: &Context, text: &str) -> Memory {
    store
        .put_memory(context, new_memory(text, &[]))
        .await
        .expect("put memory")
}

/// Puts `count` memories one after another, a little apart so that their ULIDs
/// (millisecond timestamps) sort in insertion order; returns them newest first.
async fn put_many(store: &dyn Store, context: &Context, count: usize) -> Vec<Memory> {
    let mut memories = Vec::with_capacity(count);
    for index in 0..count {
        memories.push(put(store, context, &format!("memory {index}")).await);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    memories.reverse();
    memories
}

async fn find(store: &dyn Store, viewer: &Viewer, raw_name: &str) -> Option<Context> {
    store
        .find_context(viewer, &name(raw_name))
        .await
        .expect("find context")
}

async fn list_names(store: &dyn Store, viewer: &Viewer) -> Vec<(UserId, String)> {
    store
        .list_contexts(viewer)
        .await
        .expect("list contexts")
        .into_iter()
        .map(|context| (context.owner_id, context.name.as_str().to_owned()))
        .collect()
}

async fn memory_count(store: &dyn Store, viewer: &Viewer, raw_name: &str) -> u64 {
    find(store, viewer, raw_name)
        .await
        .expect("context exists")
        .memory_count
}

fn ids(memories: &[Memory]) -> Vec<MemoryId> {
    memories.iter().map(|memory| memory.id.clone()).collect()
}

/// Backends may keep timestamps to the second only.
fn assert_same_instant(stored: OffsetDateTime, original: OffsetDateTime) {
    assert_eq!(stored.unix_timestamp(), original.unix_timestamp());
}

fn assert_recent(at: OffsetDateTime) {
    let age = OffsetDateTime::now_utc() - at;
    assert!(
        age.whole_seconds().abs() < 60,
        "{at} should be close to now"
    );
}

fn assert_same_user(stored: &User, original: &User) {
    assert_eq!(stored.id, original.id);
    assert_eq!(stored.email, original.email);
    assert_eq!(stored.name, original.name);
    assert_eq!(stored.account_type, original.account_type);
    assert_eq!(stored.role, original.role);
    assert_eq!(stored.organization_id, original.organization_id);
    assert_eq!(stored.email_verified, original.email_verified);
    assert_same_instant(stored.created_at, original.created_at);
}

fn assert_same_context(stored: &Context, original: &Context) {
    assert_eq!(stored.id, original.id);
    assert_eq!(stored.owner_id, original.owner_id);
    assert_eq!(stored.organization_id, original.organization_id);
    assert_eq!(stored.name, original.name);
    assert_eq!(stored.description, original.description);
    assert_eq!(stored.visibility, original.visibility);
    assert_eq!(stored.memory_count, original.memory_count);
    assert_same_instant(stored.created_at, original.created_at);
}

fn assert_same_memory(stored: &Memory, original: &Memory) {
    assert_eq!(stored.id, original.id);
    assert_eq!(stored.text, original.text);
    assert_eq!(stored.tags, original.tags);
    assert_same_instant(stored.created_at, original.created_at);
}

// ---- users ---------------------------------------------------------------------------

pub async fn a_new_user_can_be_fetched_by_id_and_by_email(store: Arc<dyn Store>) {
    let email = unique_email("ada");
    let (user, organization) = store
        .create_user(new_user(&email, "Ada Lovelace"), None)
        .await
        .expect("create user");

    assert!(organization.is_none());
    assert_eq!(user.email, email);
    assert_eq!(user.name, "Ada Lovelace");
    assert_eq!(user.account_type, AccountType::Individual);
    assert_eq!(user.role, Role::User);
    assert_eq!(user.organization_id, None);
    assert!(!user.email_verified);
    assert_recent(user.created_at);

    let by_id = store
        .user(user.id)
        .await
        .expect("read")
        .expect("user by id");
    assert_same_user(&by_id, &user);

    let credentials = store
        .credentials(&email)
        .await
        .expect("read")
        .expect("credentials by email");
    assert_same_user(&credentials.user, &user);
    assert_eq!(
        credentials.password_hash,
        new_user(&email, "Ada Lovelace").password_hash
    );
}

pub async fn unknown_users_and_emails_are_absent(store: Arc<dyn Store>) {
    assert!(
        store
            .credentials(&unique_email("nobody"))
            .await
            .expect("read")
            .is_none()
    );
    assert!(store.user(UserId(u64::MAX)).await.expect("read").is_none());
    let user = signup(&*store, "somebody").await;
    assert!(
        store
            .user(UserId(user.id.0 + 1_000_000))
            .await
            .expect("read")
            .is_none()
    );
}

pub async fn user_ids_are_distinct_and_increasing(store: Arc<dyn Store>) {
    let mut previous = signup(&*store, "first").await.id;
    for label in ["second", "third", "fourth"] {
        let next = signup(&*store, label).await.id;
        assert!(next > previous, "{next} should follow {previous}");
        previous = next;
    }
}

pub async fn a_taken_email_is_refused_and_nothing_changes(store: Arc<dyn Store>) {
    let email = unique_email("taken");
    let (original, _) = store
        .create_user(new_user(&email, "Original"), None)
        .await
        .expect("create user");

    let shouted = Email::parse(&email.as_str().to_uppercase()).expect("valid email");
    for organization in [None, Some(new_organization("Squatters"))] {
        let again = store
            .create_user(new_user(&shouted, "Impostor"), organization)
            .await;
        assert!(
            matches!(again, Err(StoreError::EmailTaken)),
            "expected EmailTaken, got {again:?}"
        );
    }

    let credentials = store
        .credentials(&email)
        .await
        .expect("read")
        .expect("still there");
    assert_same_user(&credentials.user, &original);
    assert_eq!(
        credentials.password_hash,
        new_user(&email, "Original").password_hash
    );
    assert_same_user(
        &store.user(original.id).await.expect("read").expect("by id"),
        &original,
    );
}

pub async fn an_organization_signup_makes_the_user_its_admin(store: Arc<dyn Store>) {
    let email = unique_email("founder");
    let (user, organization) = store
        .create_user(new_user(&email, "Founder"), Some(new_organization("Acme")))
        .await
        .expect("create organization");
    let organization = organization.expect("an organization");

    assert_eq!(organization.name, "Acme");
    assert_eq!(user.account_type, AccountType::OrganizationAdmin);
    assert_eq!(user.role, Role::Admin);
    assert_eq!(user.organization_id, Some(organization.id));

    let stored = store.user(user.id).await.expect("read").expect("by id");
    assert_same_user(&stored, &user);
    let credentials = store
        .credentials(&email)
        .await
        .expect("read")
        .expect("by email");
    assert_same_user(&credentials.user, &user);

    let (_, other) = signup_organization(&*store, "rival").await;
    assert_ne!(other.id, organization.id);
}

pub async fn concurrent_signups_for_one_email_create_exactly_one_account(store: Arc<dyn Store>) {
    let email = unique_email("race");
    let attempts: Vec<_> = (0..20)
        .map(|attempt| {
            let store = Arc::clone(&store);
            let email = email.clone();
            // Every other attempt also creates an organization, which must not survive.
            let organization = (attempt % 2 == 0).then(|| new_organization("Racers"));
            tokio::spawn(async move {
                store
                    .create_user(new_user(&email, &format!("Racer {attempt}")), organization)
                    .await
            })
        })
        .collect();

    let mut winners = Vec::new();
    let mut taken = 0;
    for attempt in attempts {
        match attempt.await.expect("task finished") {
            Ok((user, _)) => winners.push(user),
            Err(StoreError::EmailTaken) => taken += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one signup wins");
    assert_eq!(taken, 19);

    let credentials = store
        .credentials(&email)
        .await
        .expect("read")
        .expect("the winner");
    assert_same_user(&credentials.user, &winners[0]);
    assert_eq!(
        credentials.password_hash,
        new_user(&email, &winners[0].name).password_hash
    );
}

pub async fn concurrent_signups_of_different_emails_get_distinct_ids(store: Arc<dyn Store>) {
    let signups: Vec<_> = (0..20)
        .map(|index| {
            let store = Arc::clone(&store);
            let organization = (index % 2 == 0).then(|| new_organization("Crowd"));
            tokio::spawn(async move {
                store
                    .create_user(
                        new_user(&unique_email("crowd"), &format!("Crowd {index}")),
                        organization,
                    )
                    .await
            })
        })
        .collect();

    let mut users = Vec::new();
    let mut organizations = Vec::new();
    for signup in signups {
        let (user, organization) = signup.await.expect("task finished").expect("created");
        organizations.extend(organization.map(|organization| organization.id));
        users.push(user);
    }
    let user_ids: HashSet<_> = users.iter().map(|user| user.id).collect();
    assert_eq!(user_ids.len(), 20, "user ids are distinct");
    let organization_ids: HashSet<_> = organizations.iter().collect();
    assert_eq!(organization_ids.len(), 10, "organization ids are distinct");

    for user in &users {
        let stored = store.user(user.id).await.expect("read").expect("stored");
        assert_same_user(&stored, user);
    }
}

// ---- contexts ------------------------------------------------------------------------

pub async fn a_created_context_is_listed_and_found(store: Arc<dyn Store>) {
    let user = signup(&*store, "owner").await;
    let viewer = viewer(&user);
    let context = create_context(&*store, &viewer, "notes", Visibility::Private).await;

    assert!(!context.id.is_empty());
    assert_eq!(context.owner_id, user.id);
    assert_eq!(context.organization_id, None);
    assert_eq!(context.name, name("notes"));
    assert_eq!(context.description, "about notes");
    assert_eq!(context.visibility, Visibility::Private);
    assert_eq!(context.memory_count, 0);
    assert_recent(context.created_at);

    let found = find(&*store, &viewer, "notes").await.expect("found");
    assert_same_context(&found, &context);

    let listed = store.list_contexts(&viewer).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_same_context(&listed[0], &context);

    assert!(find(&*store, &viewer, "other").await.is_none());
}

pub async fn own_contexts_are_listed_by_name(store: Arc<dyn Store>) {
    let user = signup(&*store, "sorter").await;
    let viewer = viewer(&user);
    for raw in ["beta", "alpha", "Zulu", "gamma.2", "gamma-1"] {
        create_context(&*store, &viewer, raw, Visibility::Private).await;
    }
    let mut expected = vec!["beta", "alpha", "Zulu", "gamma.2", "gamma-1"];
    expected.sort_unstable();
    let names: Vec<_> = list_names(&*store, &viewer)
        .await
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(names, expected);
}

pub async fn a_duplicate_context_name_conflicts_but_another_user_may_use_it(store: Arc<dyn Store>) {
    let first = viewer(&signup(&*store, "first").await);
    let second = viewer(&signup(&*store, "second").await);
    let original = create_context(&*store, &first, "shared-name", Visibility::Private).await;

    let again = store
        .create_context(
            &first,
            NewContext {
                name: name("shared-name"),
                description: Description::parse("different").expect("valid"),
                visibility: Visibility::Organization,
            },
        )
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict)),
        "expected Conflict, got {again:?}"
    );
    assert_same_context(
        &find(&*store, &first, "shared-name").await.expect("kept"),
        &original,
    );
    assert_eq!(store.list_contexts(&first).await.expect("list").len(), 1);

    let theirs = create_context(&*store, &second, "shared-name", Visibility::Private).await;
    assert_ne!(theirs.id, original.id);
    assert_eq!(theirs.owner_id, second.user_id);
}

pub async fn concurrent_creates_of_one_context_name_succeed_once(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "eager").await);
    let creates: Vec<_> = (0..10)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .create_context(
                        &viewer,
                        NewContext {
                            name: name("contested"),
                            description: Description::default(),
                            visibility: Visibility::Private,
                        },
                    )
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for create in creates {
        match create.await.expect("task finished") {
            Ok(_) => created += 1,
            Err(StoreError::Conflict) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.list_contexts(&viewer).await.expect("list").len(), 1);
}

pub async fn a_private_context_is_invisible_to_everyone_else(store: Arc<dyn Store>) {
    let (admin, _) = signup_organization(&*store, "private-admin").await;
    let owner = viewer(&admin);
    create_context(&*store, &owner, "diary", Visibility::Private).await;

    let colleague = member_of(&*store, &admin, "colleague").await;
    let stranger = viewer(&signup(&*store, "stranger").await);
    for other in [colleague, stranger] {
        assert!(find(&*store, &other, "diary").await.is_none());
        assert!(list_names(&*store, &other).await.is_empty());
    }
    assert!(find(&*store, &owner, "diary").await.is_some());
}

pub async fn organization_contexts_are_visible_to_members_but_not_outsiders(store: Arc<dyn Store>) {
    let (admin, _) = signup_organization(&*store, "sharer").await;
    let owner = viewer(&admin);
    let handbook = create_context(&*store, &owner, "handbook", Visibility::Organization).await;
    create_context(&*store, &owner, "salaries", Visibility::Private).await;
    create_context(&*store, &owner, "announcements", Visibility::Organization).await;
    assert_eq!(handbook.organization_id, admin.organization_id);

    let member = member_of(&*store, &admin, "member").await;
    create_context(&*store, &member, "zz-mine", Visibility::Private).await;
    create_context(&*store, &member, "aa-mine", Visibility::Organization).await;

    assert_same_context(
        &find(&*store, &member, "handbook").await.expect("shared"),
        &handbook,
    );
    assert!(find(&*store, &member, "salaries").await.is_none());
    assert_eq!(
        list_names(&*store, &member).await,
        vec![
            (member.user_id, "aa-mine".to_owned()),
            (member.user_id, "zz-mine".to_owned()),
            (admin.id, "announcements".to_owned()),
            (admin.id, "handbook".to_owned()),
        ],
        "own contexts by name, then shared ones by name"
    );
    assert_eq!(
        list_names(&*store, &owner).await,
        vec![
            (admin.id, "announcements".to_owned()),
            (admin.id, "handbook".to_owned()),
            (admin.id, "salaries".to_owned()),
            (member.user_id, "aa-mine".to_owned()),
        ]
    );

    let (outsider_admin, _) = signup_organization(&*store, "outsider").await;
    let individual = viewer(&signup(&*store, "loner").await);
    for outsider in [viewer(&outsider_admin), individual] {
        assert!(find(&*store, &outsider, "handbook").await.is_none());
        assert!(list_names(&*store, &outsider).await.is_empty());
    }
}

pub async fn an_own_context_wins_over_a_shared_one_and_the_oldest_shared_wins(
    store: Arc<dyn Store>,
) {
    let (admin, _) = signup_organization(&*store, "elder").await;
    let elder = viewer(&admin);
    let older = create_context(&*store, &elder, "wiki", Visibility::Organization).await;
    // More than a second apart, for backends that keep `created_at` to the second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let younger_member = member_of(&*store, &admin, "younger").await;
    let younger = create_context(&*store, &younger_member, "wiki", Visibility::Organization).await;

    let reader = member_of(&*store, &admin, "reader").await;
    assert_same_context(
        &find(&*store, &reader, "wiki").await.expect("shared"),
        &older,
    );
    // Both are listed; the trait leaves the order of equal names open.
    let mut listed = list_names(&*store, &reader).await;
    listed.sort_unstable();
    let mut expected = vec![
        (admin.id, "wiki".to_owned()),
        (younger_member.user_id, "wiki".to_owned()),
    ];
    expected.sort_unstable();
    assert_eq!(listed, expected);

    assert_same_context(
        &find(&*store, &younger_member, "wiki").await.expect("own"),
        &younger,
    );
    let own = create_context(&*store, &reader, "wiki", Visibility::Private).await;
    assert_same_context(&find(&*store, &reader, "wiki").await.expect("own"), &own);
}

// ---- memories ------------------------------------------------------------------------

pub async fn memories_are_counted_in_and_out_of_their_context(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "counter").await);
    let context = create_context(&*store, &viewer, "counted", Visibility::Private).await;

    let first = put(&*store, &context, "one").await;
    let second = put(&*store, &context, "two").await;
    assert_ne!(first.id, second.id);
    assert_eq!(memory_count(&*store, &viewer, "counted").await, 2);

    store
        .delete_memory(&context, &first.id)
        .await
        .expect("delete");
    assert_eq!(memory_count(&*store, &viewer, "counted").await, 1);
    let remaining = store
        .list_memories(&context, 10, None)
        .await
        .expect("list")
        .memories;
    assert_eq!(ids(&remaining), vec![second.id.clone()]);

    let again = store.delete_memory(&context, &first.id).await;
    assert!(
        matches!(again, Err(StoreError::NotFound)),
        "expected NotFound, got {again:?}"
    );
    assert_eq!(memory_count(&*store, &viewer, "counted").await, 1);
}

pub async fn deleting_an_unknown_memory_is_not_found(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "deleter").await);
    let mine = create_context(&*store, &viewer, "mine", Visibility::Private).await;
    let other = create_context(&*store, &viewer, "other", Visibility::Private).await;
    let kept = put(&*store, &other, "lives elsewhere").await;

    for id in [MemoryId::generate(), kept.id.clone()] {
        let deleted = store.delete_memory(&mine, &id).await;
        assert!(
            matches!(deleted, Err(StoreError::NotFound)),
            "expected NotFound, got {deleted:?}"
        );
    }
    assert_eq!(memory_count(&*store, &viewer, "mine").await, 0);
    assert_eq!(memory_count(&*store, &viewer, "other").await, 1);
    let listed = store.list_memories(&other, 10, None).await.expect("list");
    assert_eq!(ids(&listed.memories), vec![kept.id]);
}

pub async fn concurrent_puts_are_all_counted(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "busy").await);
    let context = create_context(&*store, &viewer, "busy", Visibility::Private).await;
    let puts: Vec<_> = (0..20)
        .map(|index| {
            let store = Arc::clone(&store);
            let context = context.clone();
            tokio::spawn(async move {
                store
                    .put_memory(&context, new_memory(&format!("parallel {index}"), &[]))
                    .await
            })
        })
        .collect();
    let mut put_ids = HashSet::new();
    for put in puts {
        put_ids.insert(put.await.expect("task finished").expect("put").id);
    }
    assert_eq!(put_ids.len(), 20);
    assert_eq!(memory_count(&*store, &viewer, "busy").await, 20);
    let listed = store.list_memories(&context, 50, None).await.expect("list");
    assert_eq!(
        listed
            .memories
            .into_iter()
            .map(|memory| memory.id)
            .collect::<HashSet<_>>(),
        put_ids
    );
}

pub async fn memories_are_paged_newest_first_covering_each_once(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "pager").await);
    let context = create_context(&*store, &viewer, "paged", Visibility::Private).await;
    let newest_first = put_many(&*store, &context, 7).await;

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut after: Option<MemoryId> = None;
    loop {
        let page = store
            .list_memories(&context, 3, after.as_ref())
            .await
            .expect("page");
        sizes.push(page.memories.len());
        seen.extend(page.memories);
        match page.next {
            Some(next) => {
                assert_eq!(Some(&next), seen.last().map(|memory| &memory.id));
                after = Some(next);
            }
            None => break,
        }
        assert!(sizes.len() < 10, "paging does not end");
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(ids(&seen), ids(&newest_first));

    let exact = store
        .list_memories(&context, 7, None)
        .await
        .expect("one page");
    assert_eq!(exact.memories.len(), 7);
    assert_eq!(exact.next, None, "no next when nothing follows");
}

pub async fn page_size_is_capped_and_zero_means_one(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "capped").await);
    let context = create_context(&*store, &viewer, "big", Visibility::Private).await;
    for index in 0..=MAX_PAGE {
        put(&*store, &context, &format!("bulk {index}")).await;
    }

    let first = store
        .list_memories(&context, 10 * MAX_PAGE, None)
        .await
        .expect("page");
    assert_eq!(first.memories.len(), MAX_PAGE);
    let rest = store
        .list_memories(&context, 10 * MAX_PAGE, first.next.as_ref())
        .await
        .expect("rest");
    assert_eq!(rest.memories.len(), 1);
    assert_eq!(rest.next, None);

    let one = store.list_memories(&context, 0, None).await.expect("page");
    assert_eq!(one.memories.len(), 1);
    assert_eq!(ids(&one.memories), ids(&first.memories[..1]));
    assert!(one.next.is_some());

    let all = store
        .recent_memories(&context, newest(MAX_PAGE + 50))
        .await
        .expect("recent");
    assert_eq!(all.len(), MAX_PAGE + 1);
    assert_eq!(
        all.iter()
            .map(|memory| &memory.id)
            .collect::<HashSet<_>>()
            .len(),
        MAX_PAGE + 1
    );
}

pub async fn recent_memories_returns_the_newest(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "recent").await);
    let context = create_context(&*store, &viewer, "recent", Visibility::Private).await;
    let newest_first = put_many(&*store, &context, 5).await;

    let three = store
        .recent_memories(&context, newest(3))
        .await
        .expect("recent");
    assert_eq!(ids(&three), ids(&newest_first[..3]));
    let all = store
        .recent_memories(&context, newest(10))
        .await
        .expect("recent");
    assert_eq!(ids(&all), ids(&newest_first));
    assert!(
        store
            .recent_memories(&context, newest(0))
            .await
            .expect("recent")
            .is_empty()
    );
}

/// The `count` newest memories, whatever their size.
fn newest(count: usize) -> Candidates {
    Candidates {
        memories: count,
        bytes: usize::MAX,
        largest_memory: 1,
    }
}

pub async fn recent_memories_stop_before_the_byte_budget(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "budget").await);
    let context = create_context(&*store, &viewer, "budget", Visibility::Private).await;
    // Each "memory N" is 8 bytes: 20 bytes hold the two newest, not a third.
    let newest_first = put_many(&*store, &context, 5).await;
    let budget = Candidates {
        memories: 10,
        bytes: 20,
        largest_memory: 8,
    };
    let within = store
        .recent_memories(&context, budget)
        .await
        .expect("recent");
    assert_eq!(ids(&within), ids(&newest_first[..2]));
}

pub async fn deleting_a_context_removes_it_and_its_memories(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "cleaner").await);
    let doomed = create_context(&*store, &viewer, "doomed", Visibility::Private).await;
    let survivor = create_context(&*store, &viewer, "survivor", Visibility::Private).await;
    put_many(&*store, &doomed, 3).await;
    let kept = put(&*store, &survivor, "still here").await;

    store.delete_context(&doomed).await.expect("delete");

    assert!(find(&*store, &viewer, "doomed").await.is_none());
    assert_eq!(
        list_names(&*store, &viewer).await,
        vec![(viewer.user_id, "survivor".to_owned())]
    );
    let gone = store.list_memories(&doomed, 10, None).await.expect("list");
    assert!(gone.memories.is_empty());
    assert_eq!(gone.next, None);

    let again = store.delete_context(&doomed).await;
    assert!(
        matches!(again, Err(StoreError::NotFound)),
        "expected NotFound, got {again:?}"
    );
    let late = store.put_memory(&doomed, new_memory("too late", &[])).await;
    assert!(
        matches!(late, Err(StoreError::NotFound)),
        "expected NotFound, got {late:?}"
    );

    let survivors = store
        .list_memories(&survivor, 10, None)
        .await
        .expect("list");
    assert_eq!(ids(&survivors.memories), vec![kept.id]);
    assert_eq!(memory_count(&*store, &viewer, "survivor").await, 1);
}

pub async fn a_re_created_context_starts_empty(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "phoenix").await);
    let old = create_context(&*store, &viewer, "phoenix", Visibility::Private).await;
    put_many(&*store, &old, 2).await;
    store.delete_context(&old).await.expect("delete");

    let new = create_context(&*store, &viewer, "phoenix", Visibility::Organization).await;
    assert_ne!(new.id, old.id, "context ids are never reused");
    assert_eq!(new.memory_count, 0);
    assert_eq!(new.visibility, Visibility::Organization);
    assert!(
        store
            .list_memories(&new, 10, None)
            .await
            .expect("list")
            .memories
            .is_empty()
    );
    assert_eq!(memory_count(&*store, &viewer, "phoenix").await, 0);
}

pub async fn tags_text_and_created_at_round_trip(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "tagger").await);
    let context = create_context(&*store, &viewer, "tagged", Visibility::Private).await;

    let samples = [
        (
            "Deploy with `sam deploy --guided`\nthen check \"outputs\" — ünïcode ✓",
            vec![
                "infra".to_owned(),
                "with space".to_owned(),
                "comma,separated".to_owned(),
                "quote\"d".to_owned(),
                "日本".to_owned(),
            ],
        ),
        ("no tags at all", Vec::new()),
        (
            "tags keep their order",
            vec!["b".to_owned(), "a".to_owned(), "c".to_owned()],
        ),
    ];
    let mut created = Vec::new();
    for (text, tags) in samples {
        let memory = store
            .put_memory(
                &context,
                NewMemory {
                    text: MemoryText::parse(text).expect("valid text"),
                    tags: Tags::parse(&tags).expect("valid tags"),
                },
            )
            .await
            .expect("put");
        assert_eq!(memory.text, text);
        assert_eq!(memory.tags, tags);
        assert_recent(memory.created_at);
        created.push(memory);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    created.reverse();

    let listed = store
        .list_memories(&context, 10, None)
        .await
        .expect("list")
        .memories;
    assert_eq!(listed.len(), created.len());
    for (stored, original) in listed.iter().zip(&created) {
        assert_same_memory(stored, original);
    }
}

// ---- rate limits ---------------------------------------------------------------------

fn budget(key: &str, limit: u32) -> Budget {
    Budget {
        key: key.to_owned(),
        limit,
    }
}

fn unique_key(label: &str) -> String {
    format!("{label}:{}", ulid::Ulid::new())
}

/// How many single reservations `key` still grants under `limit` (takes them all).
async fn room_left(store: &dyn Store, key: &str, limit: u32, window: Window) -> u32 {
    let mut granted = 0;
    while store
        .reserve(&[budget(key, limit)], window)
        .await
        .expect("reserve")
        == Reservation::Granted
    {
        granted += 1;
        assert!(granted <= limit, "granted beyond the limit");
    }
    granted
}

pub async fn a_budget_grants_its_limit_per_key_and_per_window(store: Arc<dyn Store>) {
    let key = unique_key("login");
    let other_key = unique_key("login");
    let window = Window::containing(OffsetDateTime::now_utc(), 600);
    let next_window = Window {
        start: window.end(),
        seconds: window.seconds,
    };
    assert_eq!(room_left(&*store, &key, 3, window).await, 3);
    assert_eq!(
        store
            .reserve(&[budget(&key, 3)], window)
            .await
            .expect("reserve"),
        Reservation::Refused,
        "a spent budget stays spent"
    );
    assert_eq!(room_left(&*store, &other_key, 3, window).await, 3);
    assert_eq!(room_left(&*store, &key, 3, next_window).await, 3);
    assert_eq!(
        room_left(&*store, &key, 4, window).await,
        1,
        "a higher limit grants only the difference"
    );
    store.reset(&key, window).await.expect("reset");
    assert_eq!(
        room_left(&*store, &key, 2, window).await,
        2,
        "reset forgets"
    );
    assert_eq!(room_left(&*store, &key, 0, next_window).await, 0);
    store
        .reset(&unique_key("never"), window)
        .await
        .expect("resetting an unknown key is fine");
}

pub async fn a_refused_reservation_takes_nothing_from_any_budget(store: Arc<dyn Store>) {
    let roomy = unique_key("login-address");
    let spent = unique_key("login-account");
    let window = Window::containing(OffsetDateTime::now_utc(), 900);
    let both = [budget(&roomy, 5), budget(&spent, 1)];
    assert_eq!(
        store.reserve(&both, window).await.expect("reserve"),
        Reservation::Granted
    );
    for _ in 0..3 {
        assert_eq!(
            store.reserve(&both, window).await.expect("reserve"),
            Reservation::Refused
        );
    }
    assert_eq!(
        room_left(&*store, &roomy, 5, window).await,
        4,
        "only the granted reservation counted"
    );
}

pub async fn refunds_give_back_one_attempt_and_never_go_below_zero(store: Arc<dyn Store>) {
    let key = unique_key("login");
    let window = Window::containing(OffsetDateTime::now_utc(), 900);
    store
        .refund(&[key.as_str()], window)
        .await
        .expect("refunding an unused budget is fine");
    assert_eq!(
        room_left(&*store, &key, 2, window).await,
        2,
        "no credit from nothing"
    );
    store.refund(&[key.as_str()], window).await.expect("refund");
    assert_eq!(room_left(&*store, &key, 2, window).await, 1);
    for _ in 0..5 {
        store.refund(&[key.as_str()], window).await.expect("refund");
    }
    assert_eq!(room_left(&*store, &key, 2, window).await, 2);
}

/// 40 guesses at once at a budget of 10: the store, not the callers, decides.
pub async fn concurrent_reservations_never_exceed_a_limit(store: Arc<dyn Store>) {
    let narrow = unique_key("login-account-address");
    let wide = unique_key("login-address");
    let window = Window::containing(OffsetDateTime::now_utc(), 900);
    let attempts: Vec<_> = (0..40)
        .map(|_| {
            let store = Arc::clone(&store);
            let budgets = [budget(&narrow, 10), budget(&wide, 30)];
            tokio::spawn(async move { store.reserve(&budgets, window).await })
        })
        .collect();
    let mut granted = 0;
    for attempt in attempts {
        if attempt.await.expect("task finished").expect("reserve") == Reservation::Granted {
            granted += 1;
        }
    }
    assert_eq!(granted, 10);
    assert_eq!(room_left(&*store, &narrow, 10, window).await, 0);
    assert_eq!(
        room_left(&*store, &wide, 30, window).await,
        20,
        "refused reservations gave back what they took"
    );
}

pub async fn revoked_tokens_stay_revoked_and_others_do_not(store: Arc<dyn Store>) {
    let revoked = ulid::Ulid::new().to_string();
    let other = ulid::Ulid::new().to_string();
    let expires_at = OffsetDateTime::now_utc().unix_timestamp() + 3600;
    assert!(!store.is_token_revoked(&revoked).await.expect("lookup"));
    store
        .revoke_token(&revoked, expires_at)
        .await
        .expect("revoke");
    store
        .revoke_token(&revoked, expires_at)
        .await
        .expect("revoking twice is fine");
    assert!(store.is_token_revoked(&revoked).await.expect("lookup"));
    assert!(!store.is_token_revoked(&other).await.expect("lookup"));
}

/// A token that expired a few seconds ago is still accepted within the clock-skew
/// leeway, so its revocation record (kept until `exp + leeway`, a moment from now) must
/// survive the pruning another revocation does.
pub async fn a_revocation_outlives_later_pruning_through_its_keep_until_second(
    store: Arc<dyn Store>,
) {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let within_leeway = ulid::Ulid::new().to_string();
    let long_dead = ulid::Ulid::new().to_string();
    store
        .revoke_token(&within_leeway, now + 20)
        .await
        .expect("revoke");
    store
        .revoke_token(&long_dead, now - 3600)
        .await
        .expect("revoking a dead token is fine");
    let this_second = ulid::Ulid::new().to_string();
    let second = OffsetDateTime::now_utc().unix_timestamp();
    store
        .revoke_token(&this_second, second)
        .await
        .expect("revoke");
    store
        .revoke_token(&ulid::Ulid::new().to_string(), now + 3600)
        .await
        .expect("a later revoke, which may prune");
    let still_that_second = OffsetDateTime::now_utc().unix_timestamp() == second;
    assert!(
        store
            .is_token_revoked(&within_leeway)
            .await
            .expect("lookup"),
        "revoked until its keep_until, whatever was pruned since"
    );
    // Only meaningful while the clock has not moved on: the keep_until second itself
    // still counts.
    if still_that_second {
        assert!(store.is_token_revoked(&this_second).await.expect("lookup"));
    }
}

pub async fn a_deleted_context_takes_no_memories_and_its_name_starts_afresh(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "afresh").await);
    let old = create_context(&*store, &viewer, "afresh", Visibility::Private).await;
    let old_memories = put_many(&*store, &old, 30).await;
    store.delete_context(&old).await.expect("delete");

    let new = create_context(&*store, &viewer, "afresh", Visibility::Private).await;
    let late = store
        .put_memory(&old, new_memory("written through a stale handle", &[]))
        .await;
    assert!(
        matches!(late, Err(StoreError::NotFound)),
        "expected NotFound, got {late:?}"
    );
    let stale = store.delete_memory(&old, &old_memories[0].id).await;
    assert!(
        matches!(stale, Err(StoreError::NotFound)),
        "expected NotFound, got {stale:?}"
    );
    let fresh = put(&*store, &new, "only this one").await;

    let found = find(&*store, &viewer, "afresh").await.expect("re-created");
    assert_eq!(found.id, new.id);
    assert_eq!(found.memory_count, 1);
    let listed = store
        .list_memories(&new, MAX_PAGE, None)
        .await
        .expect("list");
    assert_eq!(ids(&listed.memories), vec![fresh.id]);
    assert!(
        store
            .list_memories(&old, MAX_PAGE, None)
            .await
            .expect("list old")
            .memories
            .is_empty(),
        "the old context's memories are gone"
    );
}

pub async fn concurrent_deletes_of_one_context_leave_nothing_behind(store: Arc<dyn Store>) {
    let viewer = viewer(&signup(&*store, "twice").await);
    let context = create_context(&*store, &viewer, "twice", Visibility::Private).await;
    put_many(&*store, &context, 30).await;

    let deletes: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            let context = context.clone();
            tokio::spawn(async move { store.delete_context(&context).await })
        })
        .collect();
    let mut deleted = 0;
    for delete in deletes {
        match delete.await.expect("task") {
            Ok(()) => deleted += 1,
            Err(StoreError::NotFound) => {}
            Err(other) => panic!("expected Ok or NotFound, got {other:?}"),
        }
    }
    // Each racer either deleted it or found it gone; a store may let several of them
    // (DynamoDB's transactions serialise them, so there one wins).
    assert!(deleted >= 1, "one of the deletes succeeds");
    assert!(find(&*store, &viewer, "twice").await.is_none());
    assert!(list_names(&*store, &viewer).await.is_empty());
    assert!(
        store
            .list_memories(&context, MAX_PAGE, None)
            .await
            .expect("list")
            .memories
            .is_empty()
    );
}

pub async fn memories_put_while_their_context_is_deleted_are_refused_or_removed(
    store: Arc<dyn Store>,
) {
    let viewer = viewer(&signup(&*store, "racer").await);
    let context = create_context(&*store, &viewer, "raced", Visibility::Private).await;
    put_many(&*store, &context, 40).await;

    let puts: Vec<_> = (0..24)
        .map(|index| {
            let store = store.clone();
            let context = context.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(index)).await;
                store
                    .put_memory(&context, new_memory(&format!("racing {index}"), &[]))
                    .await
            })
        })
        .collect();
    store.delete_context(&context).await.expect("delete");
    for put in puts {
        match put.await.expect("task") {
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(other) => panic!("expected the memory or NotFound, got {other:?}"),
        }
    }
    assert!(find(&*store, &viewer, "raced").await.is_none());
    assert!(
        store
            .list_memories(&context, MAX_PAGE, None)
            .await
            .expect("list")
            .memories
            .is_empty(),
        "no memory survives its context's deletion"
    );
}
