//! The activity trail over HTTP, through the real router on the embedded store: who may
//! read a context's or an app's trail, in what order and pages, and that no entry
//! carries a memory's text.

mod support;

use std::sync::Arc;

use api::{App, Limits};
use bytes::Bytes;
use serde_json::{Value, json};
use store::embedded::EmbeddedStore;
use store::{
    ActivityEntry, ContextName, DisplayName, Email, Grant, GrantContexts, GrantId, Invitation,
    Invitee, NewOrganization, NewUser, OrgRole, Scopes, Store, User, UserId,
};
use time::OffsetDateTime;

const SECRET: &str = "activity-test-secret-activity-test-secret-01";
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";

fn keys() -> claims::TokenKeys {
    claims::TokenKeys::new(&SECRET.to_owned().into(), Default::default()).expect("keys")
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

struct Fixture {
    app: Arc<App>,
    store: Arc<dyn Store>,
}

impl Fixture {
    fn new() -> Self {
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory().expect("store"));
        Self {
            app: Arc::new(App::new(Arc::clone(&store), keys(), Limits::default())),
            store,
        }
    }

    async fn user(&self, email: &str) -> (User, String) {
        support::logged_in(&*self.store, &keys(), email).await
    }

    /// An organization's admin, and a member (`role`) of it who joined by invitation.
    async fn organization(&self, role: OrgRole) -> ((User, String), (User, String)) {
        let new = NewUser {
            email: Email::parse("admin@example.com").expect("email"),
            name: DisplayName::parse("Admin", "name").expect("name"),
            password_hash: HASH.into(),
        };
        let organization = NewOrganization {
            name: DisplayName::parse("Acme", "name").expect("name"),
            domain: None,
            size: None,
            industry: None,
        };
        let (admin, organization) = self
            .store
            .create_user(new, Some(organization))
            .await
            .expect("admin");
        let organization = organization.expect("organization");
        let at = OffsetDateTime::now_utc();
        let invitation = Invitation {
            id: ulid::Ulid::new().to_string(),
            token_hash: "ab".repeat(32),
            organization_id: organization.id,
            email: Email::parse("member@example.com").expect("email"),
            role,
            invited_by: admin.id,
            created_at: at,
            expires_at: at + time::Duration::days(1),
        };
        self.store
            .create_invitation(&invitation)
            .await
            .expect("invite");
        let invitee = Invitee::New {
            name: DisplayName::parse("Member", "name").expect("name"),
            password_hash: HASH.into(),
        };
        let member = self
            .store
            .accept_invitation(&invitation, invitee, at)
            .await
            .expect("join");
        let admin_token = support::session_token(&*self.store, &keys(), &admin).await;
        let member_token = support::session_token(&*self.store, &keys(), &member).await;
        ((admin, admin_token), (member, member_token))
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let body = body.map_or_else(Bytes::new, |body| Bytes::from(body.to_string()));
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(body)
            .expect("request");
        let response = support::handle(&self.app, api::routes::all, request).await;
        let status = response.status().as_u16();
        let body = serde_json::from_slice(response.body()).expect("JSON answer");
        (status, body)
    }

    async fn get(&self, uri: &str, token: &str) -> (u16, Value) {
        self.call("GET", uri, token, None).await
    }

    async fn context(&self, token: &str, name: &str, visibility: &str) {
        let (status, body) = self
            .call(
                "POST",
                "/contexts",
                token,
                Some(json!({"name": name, "visibility": visibility})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    async fn grant(&self, user: &User, client_name: &str) -> Grant {
        let grant = Grant {
            id: GrantId::generate(),
            user_id: user.id,
            client_id: ulid::Ulid::new().to_string(),
            client_name: client_name.to_owned(),
            scopes: Scopes::all(),
            contexts: GrantContexts::All,
            created_at: now(),
            last_used_at: now(),
            generation: 0,
            revoked_at: None,
        };
        self.store.create_grant(&grant).await.expect("grant");
        grant
    }

    /// An entry `seconds_ago`, its id made at that time so that ids order as times do.
    async fn record(
        &self,
        grant: &Grant,
        action: &str,
        context: Option<(UserId, &str)>,
        count: u32,
        seconds_ago: i64,
    ) -> String {
        let at = now() - seconds_ago;
        let id = ulid::Ulid::from_parts(u64::try_from(at).expect("after 1970") * 1000, rand_bits())
            .to_string();
        let entry = ActivityEntry {
            id: id.clone(),
            user_id: grant.user_id,
            grant_id: grant.id.clone(),
            client_name: grant.client_name.clone(),
            action: action.to_owned(),
            context: context.map(|(owner, name)| (owner, ContextName::parse(name).expect("name"))),
            count,
            at,
        };
        self.store.record_activity(&entry).await.expect("record");
        id
    }
}

fn rand_bits() -> u128 {
    ulid::Ulid::new().random()
}

fn ids(body: &Value) -> Vec<String> {
    body["activity"]
        .as_array()
        .expect("activity list")
        .iter()
        .map(|entry| entry["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_contexts_trail_comes_newest_first_in_pages_that_end_with_null() {
    let fixture = Fixture::new();
    let (alice, token) = fixture.user("alice@example.com").await;
    fixture.context(&token, "proj", "private").await;
    let grant = fixture.grant(&alice, "Claude").await;
    let mut recorded = Vec::new();
    for seconds_ago in (1..=5).rev() {
        recorded.push(
            fixture
                .record(
                    &grant,
                    "recall",
                    Some((alice.id, "proj")),
                    3,
                    seconds_ago * 10,
                )
                .await,
        );
    }
    // An entry on another context stays out of this one's trail.
    fixture
        .record(&grant, "remember", Some((alice.id, "other")), 1, 1)
        .await;
    recorded.reverse();

    let mut seen = Vec::new();
    let mut uri = "/contexts/proj/activity?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, body) = fixture.get(&uri, &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["success"], true);
        let page = ids(&body);
        assert!(page.len() <= 2);
        seen.extend(page);
        pages += 1;
        match body["next"].as_str() {
            Some(next) => uri = format!("/contexts/proj/activity?limit=2&before={next}"),
            None => break,
        }
    }
    assert_eq!(seen, recorded);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn an_entry_says_who_what_where_how_many_and_when_and_never_the_text() {
    let fixture = Fixture::new();
    let (alice, token) = fixture.user("alice@example.com").await;
    fixture.context(&token, "proj", "private").await;
    let (status, _) = fixture
        .call(
            "POST",
            "/contexts/proj/memories",
            &token,
            Some(json!({"text": "the launch code is swordfish"})),
        )
        .await;
    assert_eq!(status, 201);
    let grant = fixture.grant(&alice, "Cursor").await;
    let id = fixture
        .record(&grant, "recall", Some((alice.id, "proj")), 1, 0)
        .await;

    let (status, body) = fixture.get("/contexts/proj/activity", &token).await;
    assert_eq!(status, 200);
    let entry = &body["activity"][0];
    let mut keys: Vec<&str> = entry
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "action",
            "at",
            "client_name",
            "context",
            "count",
            "grant_id",
            "id"
        ]
    );
    assert_eq!(entry["id"], id.as_str());
    assert_eq!(entry["client_name"], "Cursor");
    assert_eq!(entry["grant_id"], grant.id.as_str());
    assert_eq!(entry["action"], "recall");
    assert_eq!(entry["context"], "proj");
    assert_eq!(entry["count"], 1);
    assert!(entry["at"].as_str().expect("at").ends_with('Z'));
    assert!(!body.to_string().contains("swordfish"));
}

#[tokio::test]
async fn another_users_context_or_app_trail_is_not_found() {
    let fixture = Fixture::new();
    let (alice, alice_token) = fixture.user("alice@example.com").await;
    let (_, bob_token) = fixture.user("bob@example.com").await;
    fixture.context(&alice_token, "proj", "private").await;
    let grant = fixture.grant(&alice, "Claude").await;
    fixture
        .record(&grant, "recall", Some((alice.id, "proj")), 2, 0)
        .await;

    for uri in [
        "/contexts/proj/activity".to_owned(),
        format!("/contexts/{}:proj/activity", alice.id),
        format!("/auth/grants/{}/activity", grant.id),
        "/auth/grants/not-a-grant/activity".to_owned(),
    ] {
        let (status, body) = fixture.get(&uri, &bob_token).await;
        assert_eq!(status, 404, "{uri}: {body}");
        assert_eq!(body["error"], "not_found");
    }
    let (status, _) = fixture.get("/contexts/proj/activity", "forged").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_apps_trail_spans_its_contexts_and_outlives_its_revocation() {
    let fixture = Fixture::new();
    let (alice, token) = fixture.user("alice@example.com").await;
    let claude = fixture.grant(&alice, "Claude").await;
    let cursor = fixture.grant(&alice, "Cursor").await;
    let listed = fixture.record(&claude, "list_contexts", None, 0, 30).await;
    fixture
        .record(&cursor, "recall", Some((alice.id, "proj")), 4, 20)
        .await;
    let remembered = fixture
        .record(&claude, "remember", Some((alice.id, "notes")), 1, 10)
        .await;
    assert!(
        fixture
            .store
            .revoke_grant(alice.id, &claude.id, now())
            .await
            .expect("revoke")
    );

    let (status, body) = fixture
        .get(&format!("/auth/grants/{}/activity", claude.id), &token)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), [remembered, listed]);
    assert_eq!(body["activity"][0]["context"], "notes");
    assert_eq!(body["activity"][1]["context"], Value::Null);
    assert_eq!(body["next"], Value::Null);
}

#[tokio::test]
async fn a_shared_contexts_trail_is_for_its_owner_and_the_organizations_admins() {
    let fixture = Fixture::new();
    let ((admin, admin_token), (member, member_token)) =
        fixture.organization(OrgRole::Member).await;
    fixture.context(&member_token, "team", "organization").await;
    fixture.context(&admin_token, "board", "organization").await;
    let grant = fixture.grant(&member, "Claude").await;
    fixture
        .record(&grant, "recall", Some((member.id, "team")), 2, 0)
        .await;

    let (status, body) = fixture.get("/contexts/team/activity", &member_token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["activity"][0]["context"], "team");
    let (status, body) = fixture
        .get(
            &format!("/contexts/{}:team/activity", member.id),
            &admin_token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["activity"][0]["context"],
        format!("{}:team", member.id).as_str()
    );
    // A member sees the admin's shared context but not what apps did in it.
    let (status, body) = fixture
        .get(
            &format!("/contexts/{}:board/activity", admin.id),
            &member_token,
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "forbidden");
}

#[tokio::test]
async fn a_limit_or_cursor_the_api_never_handed_out_is_400() {
    let fixture = Fixture::new();
    let (alice, token) = fixture.user("alice@example.com").await;
    fixture.context(&token, "proj", "private").await;
    let grant = fixture.grant(&alice, "Claude").await;
    for query in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=ten",
        "limit=",
        "before=nope",
        "before=%27%20OR%201%3D1",
    ] {
        for path in [
            "/contexts/proj/activity".to_owned(),
            format!("/auth/grants/{}/activity", grant.id),
        ] {
            let (status, body) = fixture.get(&format!("{path}?{query}"), &token).await;
            assert_eq!(status, 400, "{path}?{query}: {body}");
            assert_eq!(body["error"], "invalid_request");
        }
    }
    let (status, _) = fixture
        .get("/contexts/proj/activity?limit=100", &token)
        .await;
    assert_eq!(status, 200);
}
