//! `/auth/signup/*`, `/auth/login`, `/auth/me`; the sessions they start are in
//! `sessions.rs`.

use axum::extract::State;
use domain::OrganizationDetail;
use serde::{Deserialize, Serialize};
use store::{
    AccountType, Credentials, DisplayName, Email, NewOrganization, NewUser, Organization, Role,
    User,
};
use utoipa::ToSchema;

use crate::error::{self, ApiError, ApiResult};
use crate::extract::{Authenticated, ClientAddr, JsonBody};
use crate::reply::{Reply, Succeeded};
use crate::sessions::{self, Issued, UserAgent};
use crate::throttle::{LoginAttempt, SignupAttempt};
use crate::{SharedApp, account, password, summary};

/// A person signing up.
#[derive(Deserialize, ToSchema)]
pub struct SignupUser {
    /// Trimmed and lower-cased.
    #[schema(format = Email, max_length = 254, example = "ada@example.com")]
    email: String,
    /// 12-128 characters; common or guessable passwords are refused (`weak_password`).
    #[schema(min_length = 12, max_length = 128)]
    password: String,
    /// 1-100 characters after trimming, without control characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
}

/// An organization's first admin, and the organization.
#[derive(Deserialize, ToSchema)]
pub struct SignupOrganization {
    user: SignupUser,
    organization: OrganizationFields,
}

#[derive(Deserialize, ToSchema)]
pub struct OrganizationFields {
    /// 1-100 characters after trimming, without control characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    #[schema(max_length = 100)]
    domain: Option<String>,
    #[schema(max_length = 100)]
    size: Option<String>,
    #[schema(max_length = 100)]
    industry: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    #[schema(format = Email)]
    email: String,
    password: String,
}

/// The user as every auth response shows it; `jwt_token` only where one is issued.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    user_id: u64,
    email: String,
    name: String,
    account_type: AccountType,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_id: Option<u64>,
    /// The access token: send it as `Authorization: Bearer <token>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    jwt_token: Option<String>,
    email_verified: bool,
}

impl UserView {
    pub(crate) fn new(user: User, jwt_token: Option<String>) -> Self {
        Self {
            user_id: user.id.0,
            email: user.email.as_str().to_owned(),
            name: user.name,
            account_type: user.account_type,
            role: user.role,
            organization_id: user.organization_id.map(|id| id.0),
            jwt_token,
            email_verified: user.email_verified,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationView {
    organization_id: u64,
    name: String,
}

impl OrganizationView {
    pub(crate) fn new(id: store::OrganizationId, name: String) -> Self {
        Self {
            organization_id: id.0,
            name,
        }
    }
}

/// A new account, logged in at once.
#[derive(Serialize, ToSchema)]
pub struct SignedUp {
    success: Succeeded,
    message: &'static str,
    user: UserView,
    /// For an organization signup: the new organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<OrganizationView>,
    /// Exchange it at `POST /auth/refresh` for a new access token before this one expires.
    refresh_token: String,
    /// Seconds until `user.jwt_token` expires.
    expires_in: u64,
}

impl SignedUp {
    pub(crate) fn new(
        message: &'static str,
        user: User,
        issued: Issued,
        organization: Option<OrganizationView>,
    ) -> Self {
        Self {
            success: Succeeded,
            message,
            user: UserView::new(user, Some(issued.jwt_token)),
            organization,
            refresh_token: issued.refresh_token,
            expires_in: issued.expires_in,
        }
    }
}

/// A login's token, with the user it speaks for.
#[derive(Serialize, ToSchema)]
pub struct LoggedIn {
    success: Succeeded,
    message: &'static str,
    user: UserView,
    /// Exchange it at `POST /auth/refresh` for a new access token before this one expires.
    refresh_token: String,
    /// Seconds until `user.jwt_token` expires.
    expires_in: u64,
}

/// Who the token speaks for.
#[derive(Serialize, ToSchema)]
pub struct Me {
    success: Succeeded,
    user: UserView,
}

/// Creates an individual account and logs it in.
#[utoipa::path(post, path = "/auth/signup/individual", tag = "auth",
    request_body = SignupUser,
    responses(
        (status = 201, description = "The account, logged in", body = SignedUp),
        (status = 400, response = error::BadRequest),
        (status = 409, response = error::Conflict),
        (status = 429, response = error::RateLimited),
    ))]
pub async fn signup_individual(
    State(app): State<SharedApp>,
    client: ClientAddr,
    agent: UserAgent,
    JsonBody(body): JsonBody<SignupUser>,
) -> ApiResult<Reply<SignedUp>> {
    let user = parse_new_user(body)?;
    signup(&app, &client, agent, user, None).await
}

/// Creates an organization and its first admin, logged in.
#[utoipa::path(post, path = "/auth/signup/organization", tag = "auth",
    request_body = SignupOrganization,
    responses(
        (status = 201, description = "The admin, logged in, and the organization", body = SignedUp),
        (status = 400, response = error::BadRequest),
        (status = 409, response = error::Conflict),
        (status = 429, response = error::RateLimited),
    ))]
pub async fn signup_organization(
    State(app): State<SharedApp>,
    client: ClientAddr,
    agent: UserAgent,
    JsonBody(body): JsonBody<SignupOrganization>,
) -> ApiResult<Reply<SignedUp>> {
    let user = parse_new_user(body.user)?;
    let organization = parse_organization(body.organization)?;
    signup(&app, &client, agent, user, Some(organization)).await
}

/// A signup before its password is hashed.
struct Applicant {
    email: Email,
    name: DisplayName,
    password: String,
}

fn parse_new_user(body: SignupUser) -> ApiResult<Applicant> {
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid(e.0))?;
    let name = DisplayName::parse(&body.name, "name").map_err(|e| ApiError::invalid(e.0))?;
    password::check_policy(&body.password, &email, name.as_str())?;
    Ok(Applicant {
        email,
        name,
        password: body.password,
    })
}

fn parse_organization(fields: OrganizationFields) -> ApiResult<NewOrganization> {
    let detail = |value: Option<String>, what: &str| {
        OrganizationDetail::parse(value.as_deref(), what).map_err(|e| ApiError::invalid(e.0))
    };
    Ok(NewOrganization {
        name: DisplayName::parse(&fields.name, "organization name")
            .map_err(|e| ApiError::invalid(e.0))?,
        domain: detail(fields.domain, "domain")?,
        size: detail(fields.size, "size")?,
        industry: detail(fields.industry, "industry")?,
    })
}

async fn signup(
    app: &SharedApp,
    client: &ClientAddr,
    agent: UserAgent,
    applicant: Applicant,
    organization: Option<NewOrganization>,
) -> ApiResult<Reply<SignedUp>> {
    let attempt = SignupAttempt::new(&client.0, &app.limits, app.now());
    attempt.reserve(&*app.store).await?;
    let hashed = password::hash(applicant.password).await;
    let password_hash = attempt.unless_busy(&*app.store, hashed).await?;
    let new_user = NewUser {
        email: applicant.email,
        name: applicant.name,
        password_hash,
    };
    let (user, organization) = app.store.create_user(new_user, organization).await?;
    summary::identify(user.id);
    tracing::info!(
        user_id = user.id.0,
        account_type = user.account_type.as_str(),
        "signed up"
    );
    // The account works without it; the dashboard offers to send another.
    if account::send_verification(app, &user).await.is_err() {
        tracing::warn!(user_id = user.id.0, "signed up without a verification mail");
    }
    let Issued {
        jwt_token,
        refresh_token,
        expires_in,
    } = sessions::start(app, &user, client, agent).await?;
    Ok(Reply::created(SignedUp {
        success: Succeeded,
        message: "Account created. You are logged in.",
        user: UserView::new(user, Some(jwt_token)),
        organization: organization.map(|Organization { id, name }| OrganizationView {
            organization_id: id.0,
            name,
        }),
        refresh_token,
        expires_in,
    }))
}

/// Exchanges email and password for an access token.
#[utoipa::path(post, path = "/auth/login", tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in", body = LoggedIn),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::InvalidCredentials),
        (status = 429, response = error::RateLimited),
    ))]
pub async fn login(
    State(app): State<SharedApp>,
    client: ClientAddr,
    agent: UserAgent,
    JsonBody(body): JsonBody<LoginBody>,
) -> ApiResult<Reply<LoggedIn>> {
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid(e.0))?;
    let attempt = LoginAttempt::new(&email, &client.0, &app.limits, app.now());
    attempt.reserve(&*app.store).await?;
    let credentials = app.store.credentials(&email).await?;
    let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let verified = password::verify(body.password, stored_hash).await;
    let matches = attempt.unless_busy(&*app.store, verified).await?;
    let user = match (matches, credentials) {
        (true, Some(Credentials { user, .. })) => user,
        _ => return Err(ApiError::InvalidCredentials),
    };
    summary::identify(user.id);
    attempt.succeeded(&*app.store).await?;
    let Issued {
        jwt_token,
        refresh_token,
        expires_in,
    } = sessions::start(&app, &user, &client, agent).await?;
    Ok(Reply::ok(LoggedIn {
        success: Succeeded,
        message: "Login successful",
        user: UserView::new(user, Some(jwt_token)),
        refresh_token,
        expires_in,
    }))
}

/// The account the access token speaks for.
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = Me),
        (status = 401, response = error::Unauthorized),
    ))]
pub async fn me(caller: Authenticated) -> ApiResult<Reply<Me>> {
    // The account as the session check just read it.
    Ok(Reply::ok(Me {
        success: Succeeded,
        user: UserView::new(caller.user, None),
    }))
}
