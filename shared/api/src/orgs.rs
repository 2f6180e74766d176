//! `/orgs/{organization_id}/**` and `/invitations/*`: an organization's members, their
//! roles and the invitations that bring new ones in.
//!
//! Who may do what is decided from the store's membership on every request (the
//! `Authenticated` caller's stored user), never from the token: a non-member gets 404 on
//! every organization route, a member without the role 403. The store decides the
//! changes atomically (the last admin stays, an invitation is used once).

use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{
    Budget, DisplayName, Email, Invitation, Invitee, Member, Membership, NewUser, OrgRole,
    OrganizationId, Reservation, UserId, Window,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{OrganizationView, SignedUp, UserView};
use crate::error::{self, ApiError, ApiResult};
use crate::extract::{Authenticated, ClientAddr, JsonBody, MaybeAuthenticated, PathParams};
use crate::mail::Mail;
use crate::reply::{Done, Reply, Succeeded};
use crate::sessions::{self, UserAgent};
use crate::throttle::SignupAttempt;
use crate::{App, SharedApp, password, summary};

/// Random bytes in an invitation token: guessing one is hopeless.
const TOKEN_BYTES: usize = 32;

/// `{organization_id}` in an organization's routes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OrgPath {
    /// The organization's id.
    organization_id: u64,
}

/// `{organization_id}` and `{user_id}` in a member's routes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The organization's id.
    organization_id: u64,
    /// The member's user id.
    user_id: u64,
}

/// `{organization_id}` and `{invitation_id}` in an invitation's route.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InvitationPath {
    /// The organization's id.
    organization_id: u64,
    /// The invitation's id (not its token).
    invitation_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationDetails {
    organization_id: u64,
    name: String,
    domain: Option<String>,
    size: Option<String>,
    industry: Option<String>,
}

/// The organization, and the caller's role in it.
#[derive(Serialize, ToSchema)]
pub struct OneOrganization {
    success: Succeeded,
    organization: OrganizationDetails,
    role: OrgRole,
}

#[derive(Serialize, ToSchema)]
pub struct MemberView {
    user_id: u64,
    email: String,
    name: String,
    role: OrgRole,
    #[schema(format = DateTime)]
    joined_at: String,
}

impl From<Member> for MemberView {
    fn from(member: Member) -> Self {
        Self {
            user_id: member.user_id.0,
            email: member.email.into(),
            name: member.name,
            role: member.role,
            joined_at: rfc3339(member.joined_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    success: Succeeded,
    members: Vec<MemberView>,
}

#[derive(Deserialize, ToSchema)]
pub struct InviteBody {
    /// Who is invited; only an account with this email can accept.
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// `admin`, `member` or `viewer`.
    #[schema(value_type = OrgRole)]
    role: String,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationView {
    invitation_id: String,
    email: String,
    role: OrgRole,
    #[schema(format = DateTime)]
    expires_at: String,
}

impl From<&Invitation> for InvitationView {
    fn from(invitation: &Invitation) -> Self {
        Self {
            invitation_id: invitation.id.clone(),
            email: invitation.email.as_str().to_owned(),
            role: invitation.role,
            expires_at: rfc3339(invitation.expires_at),
        }
    }
}

/// The invitation just sent.
#[derive(Serialize, ToSchema)]
pub struct OneInvitation {
    success: Succeeded,
    invitation: InvitationView,
}

/// The organization's pending invitations.
#[derive(Serialize, ToSchema)]
pub struct InvitationList {
    success: Succeeded,
    invitations: Vec<InvitationView>,
}

#[derive(Deserialize, ToSchema)]
pub struct RoleBody {
    /// `admin`, `member` or `viewer`.
    #[schema(value_type = OrgRole)]
    role: String,
}

/// An invitation's token, as its mailed link carries it.
#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    #[schema(min_length = 1)]
    token: String,
}

/// Accepting: the token alone with the invited account's Bearer token; or, without one,
/// the new account's name and password.
#[derive(Deserialize, ToSchema)]
pub struct AcceptBody {
    #[schema(min_length = 1)]
    token: String,
    /// For a new account: 1-100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    /// For a new account: 12-128 characters, as at signup.
    #[schema(min_length = 12, max_length = 128)]
    password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationPreview {
    email: String,
    role: OrgRole,
    organization: OrganizationView,
    #[schema(format = DateTime)]
    expires_at: String,
    /// Whether an account exists for the email (then: log in to accept).
    account_exists: bool,
}

/// What an invitation link offers.
#[derive(Serialize, ToSchema)]
pub struct PreviewReply {
    success: Succeeded,
    invitation: InvitationPreview,
}

/// An existing account joined the organization; a fresh token comes with it.
#[derive(Serialize, ToSchema)]
pub struct Joined {
    success: Succeeded,
    message: &'static str,
    user: UserView,
    organization: OrganizationView,
    /// A new session, as a login starts one.
    refresh_token: String,
    expires_in: u64,
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// The caller's membership of `organization`: 404 for anyone else, whatever their token
/// says, so that organizations cannot be told apart from ids that do not exist.
fn member_of(caller: &Authenticated, organization: u64) -> ApiResult<Membership> {
    caller
        .membership()
        .filter(|membership| membership.organization_id == OrganizationId(organization))
        .ok_or(ApiError::NotFound)
}

fn admin_of(caller: &Authenticated, organization: u64) -> ApiResult<Membership> {
    let membership = member_of(caller, organization)?;
    if membership.role != OrgRole::Admin {
        return Err(ApiError::Forbidden(
            "Only an admin of the organization can do this.".into(),
        ));
    }
    Ok(membership)
}

fn parse_role(raw: &str) -> ApiResult<OrgRole> {
    OrgRole::parse(raw).map_err(|e| ApiError::invalid(e.0))
}

/// The SHA-256 digest (hex) an invitation token is stored as.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn invalid_token() -> ApiError {
    ApiError::InvalidToken(
        "This invitation link is not valid: it was used, revoked or has expired. Ask an admin for a new one."
            .into(),
    )
}

/// The pending, unexpired invitation this token was mailed with.
async fn pending(app: &App, token: &str) -> ApiResult<Invitation> {
    let token = token.trim();
    // A token is 43 characters; anything much longer is not one, and is not hashed.
    if token.is_empty() || token.len() > 128 {
        return Err(invalid_token());
    }
    app.store
        .invitation(&token_hash(token))
        .await?
        .filter(|invitation| !invitation.is_expired(app.now()))
        .ok_or_else(invalid_token)
}

/// The organization and the caller's role in it.
#[utoipa::path(get, path = "/orgs/{organization_id}", tag = "organizations",
    security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, description = "The organization", body = OneOrganization),
        (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound),
    ))]
pub async fn show(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<OrgPath>,
) -> ApiResult<Reply<OneOrganization>> {
    let membership = member_of(&caller, path.organization_id)?;
    let organization = app
        .store
        .organization(membership.organization_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Reply::ok(OneOrganization {
        success: Succeeded,
        organization: OrganizationDetails {
            organization_id: organization.id.0,
            name: organization.name,
            domain: organization.domain,
            size: organization.size,
            industry: organization.industry,
        },
        role: membership.role,
    }))
}

/// The organization's members.
#[utoipa::path(get, path = "/orgs/{organization_id}/members", tag = "organizations",
    security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, description = "The members", body = MemberList),
        (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound),
    ))]
pub async fn members(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<OrgPath>,
) -> ApiResult<Reply<MemberList>> {
    let membership = member_of(&caller, path.organization_id)?;
    let members = app.store.members(membership.organization_id).await?;
    Ok(Reply::ok(MemberList {
        success: Succeeded,
        members: members.into_iter().map(MemberView::from).collect(),
    }))
}

/// Invites an email with a role; the link is mailed.
#[utoipa::path(post, path = "/orgs/{organization_id}/invitations", tag = "organizations",
    security(("bearer" = [])), params(OrgPath), request_body = InviteBody,
    responses(
        (status = 201, description = "The invitation, mailed", body = OneInvitation),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden),
        (status = 404, response = error::NotFound),
        (status = 429, response = error::RateLimited),
        (status = 503, response = error::Unavailable),
    ))]
pub async fn invite(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<OrgPath>,
    JsonBody(body): JsonBody<InviteBody>,
) -> ApiResult<Reply<OneInvitation>> {
    let membership = admin_of(&caller, path.organization_id)?;
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid(e.0))?;
    let role = parse_role(&body.role)?;
    let organization = app
        .store
        .organization(membership.organization_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // Each invitation is a mail to any address: budgeted per organization, in the store,
    // before anything is sent.
    let now = app.now();
    let window = Window::containing(now, 3600);
    let budget = Budget {
        key: format!("invite:{}", membership.organization_id),
        limit: app.limits.invitations_per_hour,
    };
    if app.store.reserve(&[budget], window).await? == Reservation::Refused {
        return Err(ApiError::RateLimited {
            retry_after_seconds: u64::try_from(window.end().saturating_sub(now.unix_timestamp()))
                .unwrap_or(1)
                .max(1),
        });
    }
    let mut secret = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut secret);
    let token = URL_SAFE_NO_PAD.encode(secret);
    let invitation = Invitation {
        id: ulid::Ulid::new().to_string(),
        token_hash: token_hash(&token),
        organization_id: membership.organization_id,
        email: email.clone(),
        role,
        invited_by: caller.user.id,
        created_at: now,
        expires_at: now + time::Duration::seconds(i64::from(app.limits.invitation_ttl_seconds)),
    };
    app.store.create_invitation(&invitation).await?;
    let link = app.links().to(&format!("/invite?token={token}"));
    let mail = Mail {
        to: email,
        subject: format!(
            "{} invited you to {} on mem0",
            caller.user.name, organization.name
        ),
        text: format!(
            "{} invited you to join {} on mem0 as {}.\n\nAccept the invitation here (the link works once, until {}):\n{link}\n\nIf you did not expect this, ignore this mail.",
            caller.user.name,
            organization.name,
            role.as_str(),
            rfc3339(invitation.expires_at),
        ),
    };
    if let Err(error) = app.mailer().send(mail).await {
        tracing::error!(%error, "invitation mail not sent");
        // An invitation nobody received would linger in the list: take it back.
        app.store
            .revoke_invitation(membership.organization_id, &invitation.id)
            .await?;
        return Err(ApiError::Unavailable);
    }
    tracing::info!(
        organization_id = membership.organization_id.0,
        invitation_id = %invitation.id,
        "invitation sent"
    );
    Ok(Reply::created(OneInvitation {
        success: Succeeded,
        invitation: InvitationView::from(&invitation),
    }))
}

/// The organization's pending invitations.
#[utoipa::path(get, path = "/orgs/{organization_id}/invitations", tag = "organizations",
    security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, description = "The pending invitations", body = InvitationList),
        (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden),
        (status = 404, response = error::NotFound),
    ))]
pub async fn invitations(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<OrgPath>,
) -> ApiResult<Reply<InvitationList>> {
    let membership = admin_of(&caller, path.organization_id)?;
    let now = app.now();
    let invitations = app.store.invitations(membership.organization_id).await?;
    Ok(Reply::ok(InvitationList {
        success: Succeeded,
        invitations: invitations
            .iter()
            .filter(|invitation| !invitation.is_expired(now))
            .map(InvitationView::from)
            .collect(),
    }))
}

/// Revokes a pending invitation: its link no longer works.
#[utoipa::path(delete, path = "/orgs/{organization_id}/invitations/{invitation_id}",
    tag = "organizations", security(("bearer" = [])), params(InvitationPath),
    responses(
        (status = 200, description = "Revoked", body = Done),
        (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden),
        (status = 404, response = error::NotFound),
    ))]
pub async fn revoke(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<InvitationPath>,
) -> ApiResult<Reply<Done>> {
    let membership = admin_of(&caller, path.organization_id)?;
    if ulid::Ulid::from_string(&path.invitation_id).is_err() {
        return Err(ApiError::NotFound);
    }
    app.store
        .revoke_invitation(membership.organization_id, &path.invitation_id)
        .await?;
    Ok(Reply::ok(Done { success: Succeeded }))
}

/// Changes a member's role.
#[utoipa::path(patch, path = "/orgs/{organization_id}/members/{user_id}", tag = "organizations",
    security(("bearer" = [])), params(MemberPath), request_body = RoleBody,
    responses(
        (status = 200, description = "Changed", body = Done),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden),
        (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict),
    ))]
pub async fn set_role(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<MemberPath>,
    JsonBody(body): JsonBody<RoleBody>,
) -> ApiResult<Reply<Done>> {
    let membership = admin_of(&caller, path.organization_id)?;
    let role = parse_role(&body.role)?;
    app.store
        .set_role(
            membership.organization_id,
            caller.user.id,
            UserId(path.user_id),
            role,
        )
        .await?;
    Ok(Reply::ok(Done { success: Succeeded }))
}

/// Removes a member (an admin), or leaves (the member themselves). They keep their
/// account and private contexts, and lose the shared ones at once.
#[utoipa::path(delete, path = "/orgs/{organization_id}/members/{user_id}", tag = "organizations",
    security(("bearer" = [])), params(MemberPath),
    responses(
        (status = 200, description = "Removed", body = Done),
        (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden),
        (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict),
    ))]
pub async fn remove(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<MemberPath>,
) -> ApiResult<Reply<Done>> {
    let leaving = caller.user.id == UserId(path.user_id);
    let membership = if leaving {
        member_of(&caller, path.organization_id)?
    } else {
        admin_of(&caller, path.organization_id)?
    };
    app.store
        .remove_member(
            membership.organization_id,
            caller.user.id,
            UserId(path.user_id),
        )
        .await?;
    Ok(Reply::ok(Done { success: Succeeded }))
}

/// What an invitation link offers: the organization, the role and the invited email.
#[utoipa::path(post, path = "/invitations/preview", tag = "organizations",
    request_body = TokenBody,
    responses(
        (status = 200, description = "The invitation", body = PreviewReply),
        (status = 400, response = error::BadRequest),
    ))]
pub async fn preview(
    State(app): State<SharedApp>,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult<Reply<PreviewReply>> {
    let invitation = pending(&app, &body.token).await?;
    let organization = app
        .store
        .organization(invitation.organization_id)
        .await?
        .ok_or_else(invalid_token)?;
    let account_exists = app.store.credentials(&invitation.email).await?.is_some();
    Ok(Reply::ok(PreviewReply {
        success: Succeeded,
        invitation: InvitationPreview {
            email: invitation.email.as_str().to_owned(),
            role: invitation.role,
            organization: OrganizationView::new(organization.id, organization.name),
            expires_at: rfc3339(invitation.expires_at),
            account_exists,
        },
    }))
}

/// Accepts an invitation: as the invited email's account (Bearer), or by creating it.
#[utoipa::path(post, path = "/invitations/accept", tag = "organizations",
    request_body = AcceptBody,
    responses(
        (status = 200, description = "The account joined the organization", body = Joined),
        (status = 201, description = "The account was created in the organization, logged in", body = SignedUp),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden),
        (status = 409, response = error::Conflict),
        (status = 429, response = error::RateLimited),
    ))]
pub async fn accept(
    State(app): State<SharedApp>,
    client: ClientAddr,
    agent: UserAgent,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    JsonBody(body): JsonBody<AcceptBody>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let invitation = pending(&app, &body.token).await?;
    let organization = app
        .store
        .organization(invitation.organization_id)
        .await?
        .ok_or_else(invalid_token)?;
    let organization = OrganizationView::new(organization.id, organization.name);
    match caller {
        Some(caller) => {
            if caller.user.email != invitation.email {
                return Err(ApiError::Forbidden(
                    "This invitation is for another email address: log in as that account to accept it."
                        .into(),
                ));
            }
            let user = app
                .store
                .accept_invitation(&invitation, Invitee::Existing(caller.user.id), app.now())
                .await?;
            tracing::info!(user_id = user.id.0, "joined an organization");
            let issued = sessions::start(&app, &user, &client, agent).await?;
            Ok(Reply::ok(Joined {
                success: Succeeded,
                message: "You joined the organization.",
                user: UserView::new(user, Some(issued.jwt_token)),
                organization,
                refresh_token: issued.refresh_token,
                expires_in: issued.expires_in,
            })
            .into_response())
        }
        None => {
            let (Some(name), Some(password)) = (body.name, body.password) else {
                return Err(ApiError::invalid(
                    "Give a name and a password to create the account, or log in as the invited email and accept.",
                ));
            };
            let name = DisplayName::parse(&name, "name").map_err(|e| ApiError::invalid(e.0))?;
            password::check_policy(&password, &invitation.email, name.as_str())?;
            if app.store.credentials(&invitation.email).await?.is_some() {
                return Err(ApiError::EmailTaken);
            }
            let attempt = SignupAttempt::new(&client.0, &app.limits, app.now());
            attempt.reserve(&*app.store).await?;
            let hashed = password::hash(password).await;
            let password_hash = attempt.unless_busy(&*app.store, hashed).await?;
            let new = NewUser {
                email: invitation.email.clone(),
                name,
                password_hash,
            };
            let user = app
                .store
                .accept_invitation(
                    &invitation,
                    Invitee::New {
                        name: new.name,
                        password_hash: new.password_hash,
                    },
                    app.now(),
                )
                .await?;
            summary::identify(user.id);
            tracing::info!(user_id = user.id.0, "signed up by invitation");
            let issued = sessions::start(&app, &user, &client, agent).await?;
            Ok(Reply::created(SignedUp::new(
                "Account created in the organization. You are logged in.",
                user,
                issued,
                Some(organization),
            ))
            .into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_as_their_sha256_in_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(token_hash("abc"), token_hash("abd"));
    }
}
