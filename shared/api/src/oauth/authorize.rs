//! `GET /oauth/authorize` (the consent page) and `POST /oauth/authorize` (the user's
//! decision, sent by that page with the user's REST token).
//!
//! Both read the same request parameters and check them the same way: an unknown
//! client or a redirect URI it did not register is answered here (an error page, or a
//! 400), never by redirecting to an address nobody vouched for; anything else wrong is
//! sent back to the client's redirect URI as `error` with `state` and `iss`
//! (RFC 6749 §4.1.2.1, RFC 9207).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use domain::{ContextAddress, ContextRef, GrantContexts, Scope, Scopes, Visibility};
use http::{HeaderValue, StatusCode, Uri, header};
use serde::{Deserialize, Serialize};
use store::{AuthorizationCode, OAuthClient, User};
use url::Url;
use utoipa::ToSchema;

use super::{ClientLookup, params};
use crate::error::{self, ApiError, ApiResult};
use crate::extract::{Authenticated, JsonBody};
use crate::reply::Reply;
use crate::{App, SharedApp};

/// How long a code may be exchanged.
const CODE_SECONDS: i64 = 60;

/// The consent page; the server fills in what it checked (escaped), its script does
/// the rest.
const CONSENT_PAGE: &str = include_str!("../../../../local-dev/static/authorize.html");

/// The pages' policy (`site::SECURITY_HEADERS`) plus no caching at all: the page names
/// the request it answers.
const PAGE_HEADERS: [(header::HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

/// The authorization request's parameters (RFC 6749 §4.1.1, RFC 7636, RFC 8707).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AuthorizationParams {
    /// `code`
    response_type: Option<String>,
    client_id: Option<String>,
    /// Exactly one of the client's registered redirect URIs.
    redirect_uri: Option<String>,
    /// The PKCE challenge: base64url SHA-256 of the verifier.
    code_challenge: Option<String>,
    /// `S256`
    code_challenge_method: Option<String>,
    /// `<origin>/mcp` if given.
    resource: Option<String>,
    /// Space-separated, a subset of `memories:read memories:write` (default both).
    scope: Option<String>,
    state: Option<String>,
}

impl AuthorizationParams {
    /// The parameters of `uri`'s query; a key given twice keeps the last value.
    fn from_query(uri: &Uri) -> Self {
        let mut params = Self::default();
        let query = uri.query().unwrap_or_default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let field = match key.as_ref() {
                "response_type" => &mut params.response_type,
                "client_id" => &mut params.client_id,
                "redirect_uri" => &mut params.redirect_uri,
                "code_challenge" => &mut params.code_challenge,
                "code_challenge_method" => &mut params.code_challenge_method,
                "resource" => &mut params.resource,
                "scope" => &mut params.scope,
                "state" => &mut params.state,
                _ => continue,
            };
            *field = Some(value.into_owned());
        }
        params
    }
}

/// A request that checked out.
struct AuthorizationRequest {
    client: OAuthClient,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    resource: String,
    scopes: Scopes,
}

/// Why a request is refused.
enum Refusal {
    /// The client or its redirect URI is not vouched for: say so here.
    Unverified(&'static str),
    /// Anything else: tell the client at its redirect URI (this URL).
    Redirect(String),
}

/// `redirect_uri` with `pairs` added to its query.
fn redirect_url(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        // Registered URIs all parsed at registration.
        Err(_) => redirect_uri.to_owned(),
    }
}

impl App {
    async fn check_authorization(
        &self,
        params: &AuthorizationParams,
        lookup: ClientLookup,
    ) -> ApiResult<Result<AuthorizationRequest, Refusal>> {
        let Some(client_id) = params.client_id.as_deref() else {
            return Ok(Err(Refusal::Unverified("The request names no client_id.")));
        };
        let Some(client) = self.oauth_client(client_id, lookup).await? else {
            return Ok(Err(Refusal::Unverified(
                "This app is not registered here (unknown client_id).",
            )));
        };
        let Some(redirect_uri) = params
            .redirect_uri
            .as_deref()
            .filter(|uri| client.redirect_uris.iter().any(|known| known == uri))
        else {
            return Ok(Err(Refusal::Unverified(
                "The redirect_uri is missing or is not one this app registered.",
            )));
        };
        let audience = self.oauth_audience();
        let refuse = |error: &str, description: &str| {
            let mut pairs = vec![("error", error), ("error_description", description)];
            if let Some(state) = params.state.as_deref() {
                pairs.push(("state", state));
            }
            pairs.push(("iss", &audience.issuer));
            Ok(Err(Refusal::Redirect(redirect_url(redirect_uri, &pairs))))
        };
        if params.response_type.as_deref() != Some("code") {
            return refuse(
                "unsupported_response_type",
                "The response_type must be code.",
            );
        }
        let Some(code_challenge) = params
            .code_challenge
            .as_deref()
            .filter(|challenge| params::is_code_challenge(challenge))
        else {
            return refuse("invalid_request", "A PKCE code_challenge is required.");
        };
        if params.code_challenge_method.as_deref() != Some("S256") {
            return refuse("invalid_request", "The code_challenge_method must be S256.");
        }
        let resource = params
            .resource
            .clone()
            .unwrap_or_else(|| audience.resource.clone());
        if resource != audience.resource {
            return refuse("invalid_target", "The resource is not this server's /mcp.");
        }
        let scopes = match params.scope.as_deref() {
            None => Scopes::all(),
            Some(raw) => match Scopes::parse(raw) {
                Ok(scopes) => scopes,
                Err(_) => {
                    return refuse(
                        "invalid_scope",
                        "The scopes are memories:read and memories:write.",
                    );
                }
            },
        };
        Ok(Ok(AuthorizationRequest {
            redirect_uri: redirect_uri.to_owned(),
            client,
            state: params.state.clone(),
            code_challenge: code_challenge.to_owned(),
            resource,
            scopes,
        }))
    }

    /// The contexts a consent ticked, as the user can see them now; `None` if one of
    /// them is not (or no longer) the user's to give.
    async fn granted_contexts(
        &self,
        user: &User,
        picked: &[String],
    ) -> ApiResult<Option<GrantContexts>> {
        let visible: BTreeSet<ContextRef> = self
            .store
            .list_contexts(&user.viewer())
            .await?
            .into_iter()
            .filter(|context| match context.visibility {
                Visibility::Private => context.owner_id == user.id,
                Visibility::Organization => {
                    context.organization_id.is_some()
                        && context.organization_id == user.organization_id
                }
            })
            .map(|context| ContextRef {
                owner: context.owner_id,
                name: context.name,
            })
            .collect();
        let mut refs = Vec::with_capacity(picked.len());
        for raw in picked {
            let Ok(address) = ContextAddress::parse(raw) else {
                return Ok(None);
            };
            let reference = match address {
                ContextAddress::Own(name) => ContextRef {
                    owner: user.id,
                    name,
                },
                ContextAddress::Of(owner, name) => ContextRef { owner, name },
            };
            if !visible.contains(&reference) {
                return Ok(None);
            }
            refs.push(reference);
        }
        Ok(GrantContexts::only(refs).ok())
    }
}

fn escape_html(raw: &str) -> String {
    let mut escaped = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    for (name, value) in PAGE_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn error_page(message: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mem0 - cannot connect this app</title>\
             <link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main class=\"card\">\
             <h1>This app cannot be connected</h1><p id=\"authorize-error\">{}</p>\
             <p>Nothing was shared. Go back to the app and try again, or ask its maker.</p></main></body></html>\n",
            escape_html(message)
        ),
    )
}

/// The consent page: who asks (`client_name`), where the answer goes, what for.
#[utoipa::path(get, path = "/oauth/authorize", tag = "oauth",
    params(
        ("response_type" = String, Query, description = "`code`"),
        ("client_id" = String, Query),
        ("redirect_uri" = String, Query, description = "Exactly as registered"),
        ("code_challenge" = String, Query, description = "PKCE S256 challenge"),
        ("code_challenge_method" = String, Query, description = "`S256`"),
        ("resource" = Option<String>, Query, description = "`<origin>/mcp`"),
        ("scope" = Option<String>, Query, description = "Default `memories:read memories:write`"),
        ("state" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "The consent page (HTML)", content_type = "text/html"),
        (status = 302, description = "A refused request, back at the client's redirect_uri with `error`, `state`, `iss`"),
        (status = 400, description = "Unknown client or unregistered redirect_uri (HTML)", content_type = "text/html"),
    ))]
pub async fn consent_page(State(app): State<SharedApp>, uri: Uri) -> ApiResult<Response> {
    let params = AuthorizationParams::from_query(&uri);
    Ok(
        match app
            .check_authorization(&params, ClientLookup::Fetched)
            .await?
        {
            Err(Refusal::Unverified(message)) => error_page(message),
            Err(Refusal::Redirect(url)) => {
                let mut response = StatusCode::FOUND.into_response();
                if let Ok(location) = HeaderValue::from_str(&url) {
                    response.headers_mut().insert(header::LOCATION, location);
                }
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            Ok(request) => html(
                StatusCode::OK,
                CONSENT_PAGE
                    .replace("{{client_name}}", &escape_html(&request.client.client_name))
                    .replace(
                        "{{redirect_target}}",
                        &escape_html(&params::redirect_target(&request.redirect_uri)),
                    )
                    .replace("{{scopes}}", &request.scopes.to_scope_string()),
            ),
        },
    )
}

/// The user's answer on the consent page: the request's parameters again, and what
/// the user allowed.
#[derive(Deserialize, ToSchema)]
pub struct Decision {
    #[serde(flatten)]
    request: AuthorizationParams,
    /// `allow` or `deny`
    decision: String,
    /// The scopes allowed, a subset of those asked; default all of them.
    scopes: Option<Vec<String>>,
    /// `"all"`, or the contexts allowed: `name` for the user's own, `<owner_id>:<name>`
    /// for one shared with the user's organization (as `GET /contexts`' `href` has it).
    #[schema(value_type = Object)]
    contexts: Option<serde_json::Value>,
}

/// Where the page sends the browser next.
#[derive(Serialize, ToSchema)]
pub struct Redirect {
    /// The client's redirect_uri with `code`, `state` and `iss`, or `error=access_denied`.
    redirect_to: String,
}

/// Records the user's consent (a code bound to the client, redirect URI, challenge,
/// resource, scopes and contexts, good for 60 s) or refusal.
#[utoipa::path(post, path = "/oauth/authorize", tag = "oauth", security(("bearer" = [])),
    request_body = Decision,
    responses(
        (status = 200, description = "Where to send the browser", body = Redirect),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
    ))]
pub async fn decide(
    State(app): State<SharedApp>,
    caller: Authenticated,
    JsonBody(decision): JsonBody<Decision>,
) -> ApiResult<Reply<Redirect>> {
    let request = match app
        .check_authorization(&decision.request, ClientLookup::FetchedAndKept)
        .await?
    {
        Err(Refusal::Unverified(message)) => return Err(ApiError::invalid(message)),
        Err(Refusal::Redirect(redirect_to)) => return Ok(Reply::ok(Redirect { redirect_to })),
        Ok(request) => request,
    };
    let issuer = app.oauth_audience().issuer;
    let answer = |pairs: &[(&str, &str)]| {
        let mut pairs = pairs.to_vec();
        if let Some(state) = request.state.as_deref() {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &issuer));
        Reply::ok(Redirect {
            redirect_to: redirect_url(&request.redirect_uri, &pairs),
        })
    };
    match decision.decision.as_str() {
        "deny" => {
            return Ok(answer(&[
                ("error", "access_denied"),
                ("error_description", "The user did not allow this app."),
            ]));
        }
        "allow" => {}
        _ => return Err(ApiError::invalid("The decision is allow or deny.")),
    }
    let scopes = match &decision.scopes {
        None => request.scopes,
        Some(picked) => {
            let mut scopes = Scopes::default();
            for raw in picked {
                let scope = Scope::parse(raw).map_err(|e| ApiError::invalid(e.to_string()))?;
                if !request.scopes.contains(scope) {
                    return Err(ApiError::invalid(
                        "A scope was allowed that the app did not ask for.",
                    ));
                }
                scopes = scopes.with(scope);
            }
            if scopes.is_empty() {
                return Err(ApiError::invalid(
                    "Allow at least one scope, or deny the request.",
                ));
            }
            scopes
        }
    };
    let contexts = match &decision.contexts {
        None => GrantContexts::All,
        Some(serde_json::Value::String(all)) if all == "all" => GrantContexts::All,
        Some(serde_json::Value::Array(picked)) => {
            let picked: Vec<String> = picked
                .iter()
                .map(|value| value.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| ApiError::invalid("contexts is \"all\" or a list of names."))?;
            app.granted_contexts(caller.user(), &picked)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        "Pick 1 to 50 of your contexts (one of those picked is not yours to give).",
                    )
                })?
        }
        Some(_) => return Err(ApiError::invalid("contexts is \"all\" or a list of names.")),
    };
    let code = params::new_code();
    app.store
        .put_authorization_code(&AuthorizationCode {
            digest: params::code_digest(&code),
            client_id: request.client.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            resource: request.resource.clone(),
            user_id: caller.user().id,
            scopes,
            contexts,
            expires_at: app.now().unix_timestamp().saturating_add(CODE_SECONDS),
        })
        .await?;
    Ok(answer(&[("code", &code)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_the_client_chose() {
        assert_eq!(
            escape_html("<script>\"x\"&'y'</script>"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn answers_are_added_to_the_redirect_uri_query() {
        assert_eq!(
            redirect_url(
                "https://app.example.com/cb?keep=1",
                &[("code", "a b"), ("state", "s&t")]
            ),
            "https://app.example.com/cb?keep=1&code=a+b&state=s%26t"
        );
        assert_eq!(
            redirect_url("cursor://x/cb", &[("code", "c")]),
            "cursor://x/cb?code=c"
        );
    }
}
