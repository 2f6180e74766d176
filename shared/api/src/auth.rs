//! `/auth/signup/*`, `/auth/login`, `/auth/me`, `/auth/logout`.

use claims::Claims;
use domain::OrganizationDetail;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use store::{
    AccountType, Credentials, DisplayName, Email, NewOrganization, NewUser, Organization, Role,
    User, Viewer,
};

use crate::error::{ApiError, ApiResult};
use crate::request::{Request, bearer_token, client_addr, json_body};
use crate::response::{Response, json};
use crate::throttle::{LoginAttempt, SignupAttempt};
use crate::{App, password, summary};

#[derive(Deserialize)]
struct SignupUser {
    email: String,
    password: String,
    name: String,
}

#[derive(Deserialize)]
struct SignupOrganization {
    user: SignupUser,
    organization: OrganizationFields,
}

#[derive(Deserialize)]
struct OrganizationFields {
    name: String,
    domain: Option<String>,
    size: Option<String>,
    industry: Option<String>,
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

/// The user as every auth response shows it; `jwt_token` only where one is issued.
#[derive(Serialize)]
struct UserView<'a> {
    user_id: u64,
    email: &'a str,
    name: &'a str,
    account_type: AccountType,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwt_token: Option<&'a str>,
    email_verified: bool,
}

impl<'a> UserView<'a> {
    fn new(user: &'a User, jwt_token: Option<&'a str>) -> Self {
        Self {
            user_id: user.id.0,
            email: user.email.as_str(),
            name: &user.name,
            account_type: user.account_type,
            role: user.role,
            organization_id: user.organization_id.map(|id| id.0),
            jwt_token,
            email_verified: user.email_verified,
        }
    }
}

pub async fn signup_individual(app: &App, request: Request) -> ApiResult<Response> {
    let body: SignupUser = json_body(&request)?;
    let user = parse_new_user(body)?;
    signup(app, &request, user, None).await
}

pub async fn signup_organization(app: &App, request: Request) -> ApiResult<Response> {
    let body: SignupOrganization = json_body(&request)?;
    let user = parse_new_user(body.user)?;
    let organization = parse_organization(body.organization)?;
    signup(app, &request, user, Some(organization)).await
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
    app: &App,
    request: &Request,
    applicant: Applicant,
    organization: Option<NewOrganization>,
) -> ApiResult<Response> {
    let attempt = SignupAttempt::new(client_addr(request), &app.limits, app.now());
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
    let token = app.issue_token(&user)?;
    let mut body = serde_json::json!({
        "success": true,
        "message": "Account created. You are logged in.",
        "user": UserView::new(&user, Some(&token)),
    });
    if let Some(Organization { id, name }) = organization {
        body["organization"] = serde_json::json!({"organization_id": id.0, "name": name});
    }
    Ok(json(StatusCode::CREATED, &body))
}

pub async fn login(app: &App, request: Request) -> ApiResult<Response> {
    let body: LoginBody = json_body(&request)?;
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid(e.0))?;
    let attempt = LoginAttempt::new(&email, client_addr(&request), &app.limits, app.now());
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
    let token = app.issue_token(&user)?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "success": true,
            "message": "Login successful",
            "user": UserView::new(&user, Some(&token)),
        }),
    ))
}

pub async fn me(app: &App, request: Request) -> ApiResult<Response> {
    let viewer = app.authenticate(&request).await?;
    // A token outliving its account (deleted since) is no longer any good.
    let user = app
        .store
        .user(viewer.user_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({"success": true, "user": UserView::new(&user, None)}),
    ))
}

/// The bearer token's verified claims, or 401: also for tokens revoked by logout.
pub(crate) async fn verified_claims(app: &App, request: &Request) -> ApiResult<Claims> {
    let token = bearer_token(request).ok_or(ApiError::Unauthorized)?;
    let claims = app.tokens.verify(token).map_err(|error| {
        tracing::info!(%error, "token refused");
        ApiError::Unauthorized
    })?;
    if app.store.is_token_revoked(&claims.jti).await? {
        tracing::info!(user_id = claims.user_id, "revoked token refused");
        return Err(ApiError::Unauthorized);
    }
    summary::identify(store::UserId(claims.user_id));
    Ok(claims)
}

pub(crate) fn viewer_of(claims: &Claims) -> Viewer {
    Viewer {
        user_id: store::UserId(claims.user_id),
        organization_id: claims.organization_id.map(store::OrganizationId),
    }
}

/// Revokes the token the request carries; every later use of it is 401.
pub async fn logout(app: &App, request: Request) -> ApiResult<Response> {
    let claims = verified_claims(app, &request).await?;
    // Verification accepts a token a little past its `exp` (clock skew): the record
    // must outlive that, not just `exp`.
    let keep_until = i64::try_from(claims.accepted_until()).unwrap_or(i64::MAX);
    app.store.revoke_token(&claims.jti, keep_until).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({"success": true, "message": "Logged out. This token no longer works."}),
    ))
}
