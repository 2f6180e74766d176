//! Organizations: members, roles, invitations, the last admin. Run by `orgs_suite!`
//! beside `suite!` in each backend's test file.

use std::sync::Arc;

use store::{
    AccountType, DisplayName, Email, Invitation, Invitee, OrgRole, Organization, OrganizationId,
    Role, Store, StoreError, User, UserId,
};
use time::{Duration, OffsetDateTime};

use super::{signup, signup_organization, unique_email};

macro_rules! orgs_suite {
    ($make:expr) => {
        crate::conformance::orgs::orgs_suite!(@tests $make;
            an_organization_starts_with_its_admin_as_its_only_member,
            an_invitation_is_found_by_its_token_digest_and_listed_until_revoked,
            accepting_makes_an_existing_user_a_member_with_the_role,
            an_invitation_is_used_once_even_by_concurrent_acceptances,
            an_expired_invitation_cannot_be_accepted,
            a_new_invitee_gets_a_verified_account_in_the_organization,
            a_member_of_another_organization_cannot_accept,
            roles_change_and_a_removed_member_is_an_individual_again,
            the_last_admin_can_be_neither_demoted_nor_removed,
            concurrent_demotions_of_the_last_two_admins_leave_one,
            only_a_current_admin_changes_members_and_only_in_their_organization,
            context_of_finds_a_context_by_owner_and_name,
        );
    };
    (@tests $make:expr; $($behaviour:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $behaviour() {
                let store: std::sync::Arc<dyn store::Store> = std::sync::Arc::new($make);
                crate::conformance::orgs::$behaviour(store).await;
            }
        )+
    };
}
pub(crate) use orgs_suite;

fn invitation(
    organization: &Organization,
    by: &User,
    email: &Email,
    role: OrgRole,
    expires_in: Duration,
) -> Invitation {
    let now = OffsetDateTime::now_utc();
    Invitation {
        id: ulid::Ulid::new().to_string(),
        token_hash: format!("{:064x}", ulid::Ulid::new().0),
        organization_id: organization.id,
        email: email.clone(),
        role,
        invited_by: by.id,
        created_at: now.replace_millisecond(0).unwrap_or(now),
        expires_at: OffsetDateTime::from_unix_timestamp((now + expires_in).unix_timestamp())
            .expect("in range"),
    }
}

/// `user` joined `organization` as `role` by invitation.
async fn join(
    store: &dyn Store,
    organization: &Organization,
    admin: &User,
    user: &User,
    role: OrgRole,
) -> User {
    let invited = invitation(organization, admin, &user.email, role, Duration::days(7));
    store.create_invitation(&invited).await.expect("invite");
    store
        .accept_invitation(
            &invited,
            Invitee::Existing(user.id),
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("accept")
}

async fn role_of(store: &dyn Store, user: UserId) -> (Option<OrganizationId>, Role, AccountType) {
    let user = store.user(user).await.expect("read").expect("there");
    (user.organization_id, user.role, user.account_type)
}

pub async fn an_organization_starts_with_its_admin_as_its_only_member(store: Arc<dyn Store>) {
    let (admin, organization) = signup_organization(&*store, "solo").await;
    let profile = store
        .organization(organization.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(profile.name, organization.name);
    assert_eq!(profile.domain.as_deref(), Some("example.com"));
    let members = store.members(organization.id).await.expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user_id, admin.id);
    assert_eq!(members[0].role, OrgRole::Admin);
    assert_eq!(members[0].email, admin.email);
    assert!(
        store
            .organization(OrganizationId(u64::MAX / 2))
            .await
            .expect("read")
            .is_none()
    );
}

pub async fn an_invitation_is_found_by_its_token_digest_and_listed_until_revoked(
    store: Arc<dyn Store>,
) {
    let (admin, organization) = signup_organization(&*store, "lister").await;
    let (_, other) = signup_organization(&*store, "other").await;
    let invited = invitation(
        &organization,
        &admin,
        &unique_email("guest"),
        OrgRole::Viewer,
        Duration::days(7),
    );
    store.create_invitation(&invited).await.expect("invite");
    assert_eq!(
        store.invitation(&invited.token_hash).await.expect("read"),
        Some(invited.clone())
    );
    assert_eq!(
        store.invitations(organization.id).await.expect("list"),
        vec![invited.clone()]
    );
    assert!(store.invitations(other.id).await.expect("list").is_empty());
    // Another organization cannot revoke it by its id.
    assert!(matches!(
        store.revoke_invitation(other.id, &invited.id).await,
        Err(StoreError::NotFound)
    ));
    store
        .revoke_invitation(organization.id, &invited.id)
        .await
        .expect("revoke");
    assert!(
        store
            .invitation(&invited.token_hash)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .invitations(organization.id)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(matches!(
        store.revoke_invitation(organization.id, &invited.id).await,
        Err(StoreError::NotFound)
    ));
    let accepted = store
        .accept_invitation(
            &invited,
            Invitee::Existing(admin.id),
            OffsetDateTime::now_utc(),
        )
        .await;
    assert!(
        matches!(accepted, Err(StoreError::InvitationGone)),
        "{accepted:?}"
    );
}

pub async fn accepting_makes_an_existing_user_a_member_with_the_role(store: Arc<dyn Store>) {
    let (admin, organization) = signup_organization(&*store, "host").await;
    let lone = signup(&*store, "joiner").await;
    let joined = join(&*store, &organization, &admin, &lone, OrgRole::Member).await;
    assert_eq!(joined.id, lone.id);
    assert_eq!(joined.organization_id, Some(organization.id));
    assert_eq!(joined.role, Role::Member);
    assert_eq!(joined.account_type, AccountType::OrganizationMember);
    let members = store.members(organization.id).await.expect("members");
    let ids: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
    assert_eq!(ids, vec![admin.id, lone.id]);
    assert_eq!(members[1].role, OrgRole::Member);
}

pub async fn an_invitation_is_used_once_even_by_concurrent_acceptances(store: Arc<dyn Store>) {
    let (admin, organization) = signup_organization(&*store, "once").await;
    let lone = signup(&*store, "twice").await;
    let invited = invitation(
        &organization,
        &admin,
        &lone.email,
        OrgRole::Member,
        Duration::days(7),
    );
    store.create_invitation(&invited).await.expect("invite");
    let tries = (0..6).map(|_| {
        let store = Arc::clone(&store);
        let invited = invited.clone();
        tokio::spawn(async move {
            store
                .accept_invitation(
                    &invited,
                    Invitee::Existing(lone.id),
                    OffsetDateTime::now_utc(),
                )
                .await
        })
    });
    let outcomes = futures::future::join_all(tries).await;
    let won = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Ok(Ok(_))))
        .count();
    assert_eq!(won, 1, "{outcomes:?}");
    for outcome in outcomes {
        match outcome.expect("task") {
            Ok(_) | Err(StoreError::InvitationGone | StoreError::InOrganization) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        store.members(organization.id).await.expect("members").len(),
        2
    );
}

pub async fn an_expired_invitation_cannot_be_accepted(store: Arc<dyn Store>) {
    let (admin, organization) = signup_organization(&*store, "late").await;
    let lone = signup(&*store, "tardy").await;
    let invited = invitation(
        &organization,
        &admin,
        &lone.email,
        OrgRole::Admin,
        Duration::seconds(60),
    );
    store.create_invitation(&invited).await.expect("invite");
    let later = OffsetDateTime::now_utc() + Duration::seconds(120);
    let accepted = store
        .accept_invitation(&invited, Invitee::Existing(lone.id), later)
        .await;
    assert!(
        matches!(accepted, Err(StoreError::InvitationGone)),
        "{accepted:?}"
    );
    assert_eq!(
        role_of(&*store, lone.id).await,
        (None, Role::User, AccountType::Individual)
    );
}

pub async fn a_new_invitee_gets_a_verified_account_in_the_organization(store: Arc<dyn Store>) {
    let (admin, organization) = signup_organization(&*store, "welcome").await;
    let email = unique_email("newcomer");
    let invited = invitation(
        &organization,
        &admin,
        &email,
        OrgRole::Viewer,
        Duration::days(7),
    );
    store.create_invitation(&invited).await.expect("invite");
    let created = store
        .accept_invitation(
            &invited,
            Invitee::New {
                name: DisplayName::parse("Newcomer", "name").expect("name"),
                password_hash: "$argon2id$hash".into(),
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("accept");
    assert_eq!(created.email, email);
    assert!(created.email_verified);
    assert_eq!(created.organization_id, Some(organization.id));
    assert_eq!(created.role, Role::Viewer);
    let credentials = store
        .credentials(&email)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(credentials.password_hash, "$argon2id$hash");
    // An email with an account already cannot get a second one this way.
    let again = invitation(
        &organization,
        &admin,
        &email,
        OrgRole::Member,
        Duration::days(7),
    );
    store.create_invitation(&again).await.expect("invite");
    let twice = store
        .accept_invitation(
            &again,
            Invitee::New {
                name: DisplayName::parse("Impostor", "name").expect("name"),
                password_hash: "other".into(),
            },
            OffsetDateTime::now_utc(),
        )
        .await;
    assert!(matches!(twice, Err(StoreError::EmailTaken)), "{twice:?}");
    assert_eq!(
        store
            .credentials(&email)
            .await
            .expect("read")
            .expect("there")
            .password_hash,
        "$argon2id$hash"
    );
}

pub async fn a_member_of_another_organization_cannot_accept(store: Arc<dyn Store>) {
    let (admin, organization) = signup_organization(&*store, "first").await;
    let (rival, _) = signup_organization(&*store, "second").await;
    let invited = invitation(
        &organization,
        &admin,
        &rival.email,
        OrgRole::Member,
        Duration::days(7),
    );
    store.create_invitation(&invited).await.expect("invite");
    let accepted = store
        .accept_invitation(
            &invited,
            Invitee::Existing(rival.id),
            OffsetDateTime::now_utc(),
        )
        .await;
    assert!(
        matches!(accepted, Err(StoreError::InOrganization)),
        "{accepted:?}"
    );
    assert_eq!(
        role_of(&*store, rival.id).await,
        (
            rival.organization_id,
            Role::Admin,
            AccountType::OrganizationAdmin
        )
    );
    // Nothing was used up: the invitation still waits.
    assert!(
        store
            .invitation(&invited.token_hash)
            .await
            .expect("read")
            .is_some()
    );
}

pub async fn roles_change_and_a_removed_member_is_an_individual_again(store: Arc<dyn Store>) {
    let (admin, organization) = signup_organization(&*store, "boss").await;
    let lone = signup(&*store, "worker").await;
    join(&*store, &organization, &admin, &lone, OrgRole::Member).await;
    store
        .set_role(organization.id, admin.id, lone.id, OrgRole::Viewer)
        .await
        .expect("demote");
    assert_eq!(
        role_of(&*store, lone.id).await,
        (
            Some(organization.id),
            Role::Viewer,
            AccountType::OrganizationMember
        )
    );
    store
        .set_role(organization.id, admin.id, lone.id, OrgRole::Admin)
        .await
        .expect("promote");
    assert_eq!(
        role_of(&*store, lone.id).await,
        (
            Some(organization.id),
            Role::Admin,
            AccountType::OrganizationAdmin
        )
    );
    // With two admins, one may now step down.
    store
        .set_role(organization.id, admin.id, admin.id, OrgRole::Member)
        .await
        .expect("step down");
    store
        .remove_member(organization.id, lone.id, admin.id)
        .await
        .expect("remove");
    assert_eq!(
        role_of(&*store, admin.id).await,
        (None, Role::User, AccountType::Individual)
    );
    let members = store.members(organization.id).await.expect("members");
    assert_eq!(
        members.iter().map(|m| m.user_id).collect::<Vec<_>>(),
        vec![lone.id]
    );
    // Removing someone who is not a member is not found.
    assert!(matches!(
        store
            .remove_member(organization.id, lone.id, admin.id)
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn the_last_admin_can_be_neither_demoted_nor_removed(store: Arc<dyn Store>) {
    let (admin, organization) = signup_organization(&*store, "alone").await;
    let demoted = store
        .set_role(organization.id, admin.id, admin.id, OrgRole::Member)
        .await;
    assert!(matches!(demoted, Err(StoreError::LastAdmin)), "{demoted:?}");
    let left = store
        .remove_member(organization.id, admin.id, admin.id)
        .await;
    assert!(matches!(left, Err(StoreError::LastAdmin)), "{left:?}");
    assert_eq!(
        role_of(&*store, admin.id).await,
        (
            Some(organization.id),
            Role::Admin,
            AccountType::OrganizationAdmin
        )
    );
}

pub async fn concurrent_demotions_of_the_last_two_admins_leave_one(store: Arc<dyn Store>) {
    for round in 0..3 {
        let (first, organization) = signup_organization(&*store, &format!("duo{round}")).await;
        let second = signup(&*store, "partner").await;
        join(&*store, &organization, &first, &second, OrgRole::Admin).await;
        let demote = |actor: UserId, member: UserId| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .set_role(organization.id, actor, member, OrgRole::Member)
                    .await
            })
        };
        let (a, b) = tokio::join!(demote(first.id, second.id), demote(second.id, first.id));
        let outcomes = [a.expect("task"), b.expect("task")];
        let demoted = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        assert!(demoted <= 1, "{outcomes:?}");
        for outcome in &outcomes {
            assert!(
                matches!(
                    outcome,
                    Ok(()) | Err(StoreError::LastAdmin | StoreError::NotAdmin)
                ),
                "{outcome:?}"
            );
        }
        let admins = store
            .members(organization.id)
            .await
            .expect("members")
            .iter()
            .filter(|member| member.role == OrgRole::Admin)
            .count();
        assert_eq!(admins, 2 - demoted, "{outcomes:?}");
        assert_eq!(admins, 1, "{outcomes:?}");
    }
}

pub async fn only_a_current_admin_changes_members_and_only_in_their_organization(
    store: Arc<dyn Store>,
) {
    let (admin, organization) = signup_organization(&*store, "home").await;
    let (intruder, elsewhere) = signup_organization(&*store, "away").await;
    let member = signup(&*store, "staff").await;
    join(&*store, &organization, &admin, &member, OrgRole::Member).await;
    // An admin of another organization is no admin here.
    let meddled = store
        .set_role(organization.id, intruder.id, member.id, OrgRole::Viewer)
        .await;
    assert!(matches!(meddled, Err(StoreError::NotAdmin)), "{meddled:?}");
    let removed = store
        .remove_member(organization.id, intruder.id, member.id)
        .await;
    assert!(matches!(removed, Err(StoreError::NotAdmin)), "{removed:?}");
    // Nor can the member be reached through the other organization.
    let through = store
        .set_role(elsewhere.id, intruder.id, member.id, OrgRole::Viewer)
        .await;
    assert!(matches!(through, Err(StoreError::NotFound)), "{through:?}");
    // A plain member cannot change anyone.
    let upstart = store
        .set_role(organization.id, member.id, admin.id, OrgRole::Viewer)
        .await;
    assert!(matches!(upstart, Err(StoreError::NotAdmin)), "{upstart:?}");
    let promoted = store
        .set_role(organization.id, member.id, member.id, OrgRole::Admin)
        .await;
    assert!(
        matches!(promoted, Err(StoreError::NotAdmin)),
        "{promoted:?}"
    );
    assert_eq!(
        role_of(&*store, member.id).await,
        (
            Some(organization.id),
            Role::Member,
            AccountType::OrganizationMember
        )
    );
    assert_eq!(
        role_of(&*store, admin.id).await,
        (
            Some(organization.id),
            Role::Admin,
            AccountType::OrganizationAdmin
        )
    );
    // The member may leave on their own.
    store
        .remove_member(organization.id, member.id, member.id)
        .await
        .expect("leave");
    assert_eq!(
        role_of(&*store, member.id).await,
        (None, Role::User, AccountType::Individual)
    );
}

pub async fn context_of_finds_a_context_by_owner_and_name(store: Arc<dyn Store>) {
    let (admin, _) = signup_organization(&*store, "owner").await;
    let name = store::ContextName::parse("plans").expect("name");
    let created = store
        .create_context(
            &admin.viewer(),
            store::NewContext {
                name: name.clone(),
                description: store::Description::default(),
                visibility: store::Visibility::Organization,
            },
        )
        .await
        .expect("create");
    let found = store
        .context_of(admin.id, &name)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.id, created.id);
    let other = signup(&*store, "someone").await;
    assert!(
        store
            .context_of(other.id, &name)
            .await
            .expect("read")
            .is_none()
    );
}
