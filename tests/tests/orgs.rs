//! Organizations over HTTP (shared/contract/organizations.md): invitations mailed to
//! local-dev's outbox, members and roles, and what each role may do with shared
//! contexts; every cross-tenant attempt refused, with the data checked afterwards.

#[allow(dead_code)]
mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{PASSWORD, Server, unique_email};

/// An organization's admin as the tests use them.
struct Admin {
    token: String,
    user_id: u64,
    org: u64,
}

async fn organization(server: &Server, name: &str) -> Admin {
    let reply = server
        .post(
            "/auth/signup/organization",
            None,
            json!({"user": {"email": unique_email(), "password": PASSWORD, "name": format!("{name} Admin")},
                   "organization": {"name": name}}),
        )
        .await;
    let body = reply.expect(StatusCode::CREATED);
    Admin {
        token: body["user"]["jwt_token"]
            .as_str()
            .expect("token")
            .to_owned(),
        user_id: body["user"]["user_id"].as_u64().expect("id"),
        org: body["organization"]["organization_id"]
            .as_u64()
            .expect("org"),
    }
}

/// The invitation token in the newest mail to `email` in the server's outbox.
fn mailed_token(server: &Server, email: &str) -> String {
    let outbox = server.data_dir.path().join("outbox");
    let mut mails: Vec<_> = std::fs::read_dir(&outbox)
        .expect("outbox")
        .map(|entry| entry.expect("entry").path())
        .collect();
    mails.sort();
    let mail = mails
        .iter()
        .rev()
        .map(|path| std::fs::read_to_string(path).expect("mail"))
        .find(|mail| mail.contains(&format!("To: {email}")))
        .unwrap_or_else(|| panic!("no mail to {email}"));
    let start = mail.find("/invite?token=").expect("a link") + "/invite?token=".len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn invite(server: &Server, admin: &Admin, email: &str, role: &str) -> (String, String) {
    let reply = server
        .post(
            &format!("/orgs/{}/invitations", admin.org),
            Some(&admin.token),
            json!({"email": email, "role": role}),
        )
        .await;
    let body = reply.expect(StatusCode::CREATED);
    assert_eq!(body["invitation"]["email"], email);
    assert_eq!(body["invitation"]["role"], role);
    let id = body["invitation"]["invitation_id"]
        .as_str()
        .expect("id")
        .to_owned();
    (id, mailed_token(server, email))
}

/// A member who signed up from the invitation; (token, user id).
async fn member(server: &Server, admin: &Admin, role: &str) -> (String, u64) {
    let email = unique_email();
    let (_, token) = invite(server, admin, &email, role).await;
    let reply = server
        .post(
            "/invitations/accept",
            None,
            json!({"token": token, "name": format!("A {role}"), "password": PASSWORD}),
        )
        .await;
    let body = reply.expect(StatusCode::CREATED);
    (
        body["user"]["jwt_token"]
            .as_str()
            .expect("token")
            .to_owned(),
        body["user"]["user_id"].as_u64().expect("id"),
    )
}

async fn patch(server: &Server, path: &str, token: &str, body: Value) -> support::Reply {
    server
        .call(Method::PATCH, path, Some(token), Some(body))
        .await
}

async fn create_context(server: &Server, token: &str, name: &str, visibility: &str) {
    server
        .post(
            "/contexts",
            Some(token),
            json!({"name": name, "visibility": visibility}),
        )
        .await
        .expect(StatusCode::CREATED);
}

async fn remember(server: &Server, token: &str, href: &str, text: &str) -> support::Reply {
    server
        .post(
            &format!("{href}/memories"),
            Some(token),
            json!({"text": text}),
        )
        .await
}

async fn texts(server: &Server, token: &str, href: &str) -> Vec<String> {
    let reply = server.get(&format!("{href}/memories"), token).await;
    reply.expect(StatusCode::OK)["memories"]
        .as_array()
        .expect("memories")
        .iter()
        .map(|memory| memory["text"].as_str().expect("text").to_owned())
        .collect()
}

async fn member_roles(server: &Server, admin: &Admin) -> Vec<(u64, String)> {
    let reply = server
        .get(&format!("/orgs/{}/members", admin.org), &admin.token)
        .await;
    reply.expect(StatusCode::OK)["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["user_id"].as_u64().expect("id"),
                m["role"].as_str().expect("role").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_invitee_signs_up_from_the_mailed_link_and_sees_the_shared_context() {
    let server = Server::start();
    let admin = organization(&server, "Acme").await;
    create_context(&server, &admin.token, "handbook", "organization").await;
    remember(
        &server,
        &admin.token,
        "/contexts/handbook",
        "Deploy on Tuesdays",
    )
    .await
    .expect(StatusCode::CREATED);
    let email = unique_email();
    let (_, token) = invite(&server, &admin, &email, "member").await;
    assert_eq!(token.len(), 43, "32 random bytes, base64url");

    let preview = server
        .post("/invitations/preview", None, json!({"token": token}))
        .await;
    let body = preview.expect(StatusCode::OK);
    assert_eq!(body["invitation"]["organization"]["name"], "Acme");
    assert_eq!(body["invitation"]["role"], "member");
    assert_eq!(body["invitation"]["email"], email);

    let accepted = server
        .post(
            "/invitations/accept",
            None,
            json!({"token": token, "name": "New Hire", "password": PASSWORD}),
        )
        .await;
    let user = &accepted.expect(StatusCode::CREATED)["user"];
    assert_eq!(user["email"], email);
    assert_eq!(user["role"], "member");
    assert_eq!(user["account_type"], "organization_member");
    assert_eq!(user["organization_id"], admin.org);
    assert_eq!(user["email_verified"], true);
    let hire = user["jwt_token"].as_str().expect("token").to_owned();

    let listed = server.get("/contexts", &hire).await;
    let contexts = listed.expect(StatusCode::OK)["contexts"].clone();
    let shared = &contexts[0];
    assert_eq!(shared["name"], "handbook");
    assert_eq!(
        shared["href"],
        format!("/contexts/{}:handbook", admin.user_id)
    );
    assert_eq!(shared["organization_id"], admin.org);
    assert_eq!(shared["owner"]["user_id"], admin.user_id);
    assert_eq!(shared["owner"]["name"], "Acme Admin");
    assert_eq!(
        texts(&server, &hire, shared["href"].as_str().expect("href")).await,
        ["Deploy on Tuesdays"]
    );
    let me = server.get("/auth/me", &hire).await;
    assert_eq!(me.expect(StatusCode::OK)["user"]["role"], "member");
    let members = member_roles(&server, &admin).await;
    assert_eq!(members.len(), 2);
}

#[tokio::test]
async fn an_invitation_is_single_use_bound_to_its_email_and_dies_when_revoked_or_expired() {
    let server = Server::start_with(&["--invitation-ttl-seconds", "2"]);
    let admin = organization(&server, "Strict").await;
    let (stranger_email, stranger) = server.new_user().await;
    let invited = unique_email();
    let (_, token) = invite(&server, &admin, &invited, "viewer").await;

    // Someone else's account cannot take it.
    server
        .post(
            "/invitations/accept",
            Some(&stranger),
            json!({"token": token}),
        )
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    let me = server.get("/auth/me", &stranger).await;
    assert!(
        me.expect(StatusCode::OK)["user"]
            .get("organization_id")
            .is_none()
    );
    assert_eq!(me.body["user"]["email"], stranger_email);

    // The invited email's own account joins, once.
    let owner = server
        .post(
            "/auth/signup/individual",
            None,
            json!({"email": invited, "password": PASSWORD, "name": "Invited"}),
        )
        .await;
    let owner_token = owner.expect(StatusCode::CREATED)["user"]["jwt_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let joined = server
        .post(
            "/invitations/accept",
            Some(&owner_token),
            json!({"token": token}),
        )
        .await;
    assert_eq!(joined.expect(StatusCode::OK)["user"]["role"], "viewer");
    server
        .post(
            "/invitations/accept",
            Some(&owner_token),
            json!({"token": token}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    server
        .post(
            "/invitations/accept",
            None,
            json!({"token": token, "name": "Again", "password": PASSWORD}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");

    // Revoked: listed no more, and the link is dead.
    let revoked_email = unique_email();
    let (id, revoked) = invite(&server, &admin, &revoked_email, "member").await;
    let listed = server
        .get(&format!("/orgs/{}/invitations", admin.org), &admin.token)
        .await;
    assert_eq!(
        listed.expect(StatusCode::OK)["invitations"][0]["invitation_id"],
        id.as_str()
    );
    server
        .delete(
            &format!("/orgs/{}/invitations/{id}", admin.org),
            &admin.token,
        )
        .await
        .expect(StatusCode::OK);
    let listed = server
        .get(&format!("/orgs/{}/invitations", admin.org), &admin.token)
        .await;
    assert_eq!(listed.expect(StatusCode::OK)["invitations"], json!([]));
    server
        .post(
            "/invitations/accept",
            None,
            json!({"token": revoked, "name": "Late", "password": PASSWORD}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    server
        .login(&revoked_email)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");

    // Expired.
    let expiring = unique_email();
    let (_, old) = invite(&server, &admin, &expiring, "member").await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    server
        .post(
            "/invitations/accept",
            None,
            json!({"token": old, "name": "Slow", "password": PASSWORD}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    server
        .post("/invitations/preview", None, json!({"token": old}))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    // Made-up tokens are the same error.
    for guess in ["", "x", &"A".repeat(43), &"A".repeat(10_000)] {
        server
            .post(
                "/invitations/accept",
                None,
                json!({"token": guess, "name": "G", "password": PASSWORD}),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST, "invalid_token");
    }
    assert_eq!(member_roles(&server, &admin).await.len(), 2);
}

#[tokio::test]
async fn a_member_of_another_organization_is_told_to_leave_it_first() {
    let server = Server::start();
    let first = organization(&server, "First").await;
    let second = organization(&server, "Second").await;
    let (member_token, member_id) = member(&server, &second, "member").await;
    let me = server.get("/auth/me", &member_token).await;
    let email = me.expect(StatusCode::OK)["user"]["email"]
        .as_str()
        .expect("email")
        .to_owned();
    let (_, token) = invite(&server, &first, &email, "member").await;
    let refused = server
        .post(
            "/invitations/accept",
            Some(&member_token),
            json!({"token": token}),
        )
        .await;
    refused.expect_error(StatusCode::CONFLICT, "conflict");
    assert!(
        refused.body["message"]
            .as_str()
            .expect("message")
            .contains("at most one")
    );
    assert!(
        member_roles(&server, &second)
            .await
            .contains(&(member_id, "member".into()))
    );
    assert_eq!(member_roles(&server, &first).await.len(), 1);
    // After leaving, the same invitation works.
    server
        .delete(
            &format!("/orgs/{}/members/{member_id}", second.org),
            &member_token,
        )
        .await
        .expect(StatusCode::OK);
    server
        .post(
            "/invitations/accept",
            Some(&member_token),
            json!({"token": token}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(member_roles(&server, &first).await.len(), 2);
}

#[tokio::test]
async fn every_cross_tenant_attempt_is_404_or_403_and_changes_nothing() {
    let server = Server::start();
    let acme = organization(&server, "Acme").await;
    let rival = organization(&server, "Rival").await;
    let (_, lone) = server.new_user().await;
    let (acme_member, acme_member_id) = member(&server, &acme, "member").await;
    let pending_email = unique_email();
    let (pending_id, pending_token) = invite(&server, &acme, &pending_email, "member").await;
    create_context(&server, &acme.token, "secrets", "organization").await;
    create_context(&server, &acme.token, "diary", "private").await;
    let shared = format!("/contexts/{}:secrets", acme.user_id);
    let private = format!("/contexts/{}:diary", acme.user_id);
    remember(&server, &acme.token, &shared, "the plan")
        .await
        .expect(StatusCode::CREATED);
    remember(&server, &acme.token, &private, "dear diary")
        .await
        .expect(StatusCode::CREATED);

    for outsider in [&rival.token, &lone] {
        for path in [
            format!("/orgs/{}", acme.org),
            format!("/orgs/{}/members", acme.org),
            format!("/orgs/{}/invitations", acme.org),
            format!("/orgs/{}", acme.org + 1000),
            "/orgs/not-a-number".to_owned(),
        ] {
            server
                .get(&path, outsider)
                .await
                .expect_error(StatusCode::NOT_FOUND, "not_found");
        }
        server
            .post(
                &format!("/orgs/{}/invitations", acme.org),
                Some(outsider),
                json!({"email": unique_email(), "role": "admin"}),
            )
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        server
            .delete(
                &format!("/orgs/{}/invitations/{pending_id}", acme.org),
                outsider,
            )
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        patch(
            &server,
            &format!("/orgs/{}/members/{acme_member_id}", acme.org),
            outsider,
            json!({"role": "viewer"}),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
        server
            .delete(
                &format!("/orgs/{}/members/{acme_member_id}", acme.org),
                outsider,
            )
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        for path in [
            shared.clone(),
            private.clone(),
            "/contexts/secrets".into(),
            "/contexts/diary".into(),
        ] {
            server
                .get(&path, outsider)
                .await
                .expect_error(StatusCode::NOT_FOUND, "not_found");
            server
                .get(&format!("{path}/memories"), outsider)
                .await
                .expect_error(StatusCode::NOT_FOUND, "not_found");
            remember(&server, outsider, &path, "injected")
                .await
                .expect_error(StatusCode::NOT_FOUND, "not_found");
            server
                .delete(&path, outsider)
                .await
                .expect_error(StatusCode::NOT_FOUND, "not_found");
        }
        // Someone else's invitation, with the outsider's own account.
        server
            .post(
                "/invitations/accept",
                Some(outsider),
                json!({"token": pending_token}),
            )
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
        let listed = server.get("/contexts", outsider).await;
        assert!(
            listed.expect(StatusCode::OK)["contexts"]
                .as_array()
                .expect("contexts")
                .iter()
                .all(|context| context["name"] != "secrets" && context["name"] != "diary")
        );
    }
    // Rival's admin cannot reach Acme through Rival's own id either.
    patch(
        &server,
        &format!("/orgs/{}/members/{acme_member_id}", rival.org),
        &rival.token,
        json!({"role": "viewer"}),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .delete(
            &format!("/orgs/{}/invitations/{pending_id}", rival.org),
            &rival.token,
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    // An admin does not see a member's private context either.
    create_context(&server, &acme_member, "mine", "private").await;
    server
        .get(&format!("/contexts/{acme_member_id}:mine"), &acme.token)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    // A plain member manages nothing.
    server
        .get(&format!("/orgs/{}/invitations", acme.org), &acme_member)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    server
        .post(
            &format!("/orgs/{}/invitations", acme.org),
            Some(&acme_member),
            json!({"email": unique_email(), "role": "admin"}),
        )
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    patch(
        &server,
        &format!("/orgs/{}/members/{}", acme.org, acme.user_id),
        &acme_member,
        json!({"role": "viewer"}),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
    patch(
        &server,
        &format!("/orgs/{}/members/{acme_member_id}", acme.org),
        &acme_member,
        json!({"role": "admin"}),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");

    // Nothing changed.
    assert_eq!(
        member_roles(&server, &acme).await,
        [
            (acme.user_id, "admin".into()),
            (acme_member_id, "member".into())
        ]
    );
    assert_eq!(
        member_roles(&server, &rival).await,
        [(rival.user_id, "admin".into())]
    );
    let invitations = server
        .get(&format!("/orgs/{}/invitations", acme.org), &acme.token)
        .await;
    assert_eq!(
        invitations.expect(StatusCode::OK)["invitations"]
            .as_array()
            .expect("list")
            .len(),
        1
    );
    assert_eq!(texts(&server, &acme.token, &shared).await, ["the plan"]);
    assert_eq!(texts(&server, &acme.token, &private).await, ["dear diary"]);
    assert_eq!(texts(&server, &acme_member, &shared).await, ["the plan"]);
}

#[tokio::test]
async fn a_removed_member_is_locked_out_at_once_and_a_demoted_one_reads_but_cannot_write() {
    let server = Server::start();
    let admin = organization(&server, "Lock").await;
    create_context(&server, &admin.token, "ops", "organization").await;
    let ops = format!("/contexts/{}:ops", admin.user_id);
    let (writer, writer_id) = member(&server, &admin, "member").await;
    let (leaver, leaver_id) = member(&server, &admin, "member").await;
    remember(&server, &writer, &ops, "by the writer")
        .await
        .expect(StatusCode::CREATED);

    patch(
        &server,
        &format!("/orgs/{}/members/{writer_id}", admin.org),
        &admin.token,
        json!({"role": "viewer"}),
    )
    .await
    .expect(StatusCode::OK);
    // Same token, which still says "member": the store says viewer.
    assert_eq!(texts(&server, &writer, &ops).await, ["by the writer"]);
    remember(&server, &writer, &ops, "after demotion")
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    server
        .post(
            "/contexts",
            Some(&writer),
            json!({"name": "viewer-share", "visibility": "organization"}),
        )
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    // A viewer's own private contexts are theirs to write.
    create_context(&server, &writer, "scratch", "private").await;
    remember(&server, &writer, "/contexts/scratch", "mine")
        .await
        .expect(StatusCode::CREATED);

    create_context(&server, &leaver, "notes", "private").await;
    create_context(&server, &leaver, "team-notes", "organization").await;
    server
        .delete(
            &format!("/orgs/{}/members/{leaver_id}", admin.org),
            &admin.token,
        )
        .await
        .expect(StatusCode::OK);
    server
        .get(&ops, &leaver)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .get(&format!("{ops}/memories"), &leaver)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    remember(&server, &leaver, &ops, "sneaky")
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .get(&format!("/orgs/{}/members", admin.org), &leaver)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    let listed = server.get("/contexts", &leaver).await;
    let names: Vec<&str> = listed.expect(StatusCode::OK)["contexts"]
        .as_array()
        .expect("contexts")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["notes"],
        "the private one stays; what was shared stays with the organization"
    );
    // The shared context the leaver made stays with the organization.
    assert_eq!(
        server
            .get(&format!("/contexts/{leaver_id}:team-notes"), &admin.token)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(texts(&server, &admin.token, &ops).await, ["by the writer"]);
}

#[tokio::test]
async fn concurrent_demotions_of_the_last_two_admins_leave_one() {
    let server = Server::start();
    for _ in 0..3 {
        let first = organization(&server, "Duo").await;
        let (second, second_id) = member(&server, &first, "admin").await;
        let demote_second = format!("/orgs/{}/members/{second_id}", first.org);
        let demote_first = format!("/orgs/{}/members/{}", first.org, first.user_id);
        let (a, b) = tokio::join!(
            patch(
                &server,
                &demote_second,
                &first.token,
                json!({"role": "member"})
            ),
            patch(&server, &demote_first, &second, json!({"role": "member"})),
        );
        let statuses = [a.status, b.status];
        assert_eq!(
            statuses
                .iter()
                .filter(|status| **status == StatusCode::OK)
                .count(),
            1,
            "{statuses:?}: {} {}",
            a.body,
            b.body
        );
        for refused in [&a, &b]
            .into_iter()
            .filter(|reply| reply.status != StatusCode::OK)
        {
            assert!(
                [StatusCode::CONFLICT, StatusCode::FORBIDDEN].contains(&refused.status),
                "{}",
                refused.body
            );
        }
        let admins = member_roles(&server, &first)
            .await
            .into_iter()
            .filter(|(_, role)| role == "admin")
            .count();
        assert_eq!(admins, 1);
    }
}

#[tokio::test]
async fn the_last_admin_can_neither_leave_nor_step_down() {
    let server = Server::start();
    let admin = organization(&server, "Alone").await;
    let path = format!("/orgs/{}/members/{}", admin.org, admin.user_id);
    patch(&server, &path, &admin.token, json!({"role": "member"}))
        .await
        .expect_error(StatusCode::CONFLICT, "conflict");
    server
        .delete(&path, &admin.token)
        .await
        .expect_error(StatusCode::CONFLICT, "conflict");
    patch(&server, &path, &admin.token, json!({"role": "owner"}))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    let org = server
        .get(&format!("/orgs/{}", admin.org), &admin.token)
        .await;
    assert_eq!(org.expect(StatusCode::OK)["role"], "admin");
    assert_eq!(org.body["organization"]["name"], "Alone");
}

#[tokio::test]
async fn a_private_context_and_a_shared_one_of_the_same_name_each_keep_their_href() {
    let server = Server::start();
    let admin = organization(&server, "Names").await;
    let (member_token, member_id) = member(&server, &admin, "member").await;
    create_context(&server, &admin.token, "notes", "organization").await;
    create_context(&server, &member_token, "notes", "private").await;
    remember(&server, &member_token, "/contexts/notes", "private note")
        .await
        .expect(StatusCode::CREATED);
    let shared = format!("/contexts/{}:notes", admin.user_id);
    remember(&server, &member_token, &shared, "shared note")
        .await
        .expect(StatusCode::CREATED);

    let listed = server.get("/contexts", &member_token).await;
    let hrefs: Vec<&str> = listed.expect(StatusCode::OK)["contexts"]
        .as_array()
        .expect("contexts")
        .iter()
        .map(|c| c["href"].as_str().expect("href"))
        .collect();
    assert_eq!(hrefs, ["/contexts/notes", shared.as_str()]);
    assert_eq!(
        texts(&server, &member_token, "/contexts/notes").await,
        ["private note"]
    );
    assert_eq!(
        texts(&server, &member_token, &shared).await,
        ["shared note"]
    );
    assert_eq!(
        texts(
            &server,
            &member_token,
            &format!("/contexts/{member_id}:notes")
        )
        .await,
        ["private note"]
    );
    // The admin deletes the shared one (a member's shared one too), never a private one.
    create_context(&server, &member_token, "member-share", "organization").await;
    server
        .delete(&format!("/contexts/{member_id}:member-share"), &admin.token)
        .await
        .expect(StatusCode::OK);
    server
        .delete(&format!("/contexts/{member_id}:notes"), &admin.token)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    server
        .delete(&shared, &member_token)
        .await
        .expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        texts(&server, &member_token, "/contexts/notes").await,
        ["private note"]
    );
    assert_eq!(
        texts(&server, &admin.token, "/contexts/notes").await,
        ["shared note"]
    );
}
