//! Which handler answers which route: each function's routes, declared once.
//!
//! A route's path and method are written in its handler's `#[utoipa::path]`, which both
//! the router and the OpenAPI document read, so the two cannot disagree. Each Lambda
//! builds only its own group, plain (the signup function alone links the password-strength
//! dictionaries, and none builds the document); local-dev serves them all, plain too. The
//! documented groups make the OpenAPI document and the tests' routers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::handler::Handler;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use http::Method;
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::HttpMethod;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::{PathItemExt, routes};

use crate::error::ApiError;
use crate::extract::MAX_BODY_BYTES;
use crate::{SharedApp, summary};

/// A function's routes with their documentation, before they get their state.
pub type Routes = OpenApiRouter<SharedApp>;

/// Declares each function's group of routes once, and from that one list builds it twice:
/// documented (`routes::login()`: the OpenAPI router that the tests and `/openapi.json`
/// read) and plain (`routes::plain::login()`: the handlers on their paths and methods
/// alone, which is what a Lambda and local-dev serve, so a cold start neither builds the
/// document's schemas nor links the code that would).
macro_rules! groups {
    ($(
        $(#[$doc:meta])*
        $group:ident { $( [$($module:ident :: $handler:ident),+] )+ }
    )+) => {
        $(
            $(#[$doc])*
            pub fn $group() -> Routes {
                OpenApiRouter::new() $( .routes(routes!($(crate::$module::$handler),+)) )+
            }
        )+

        /// Every route, as the OpenAPI document describes them.
        pub fn all() -> Routes {
            OpenApiRouter::new() $( .merge($group()) )+
        }

        /// The same groups as the Lambdas serve them: without their documentation.
        pub mod plain {
            use super::Plain;
            $(
                #[doc = concat!("[`super::", stringify!($group), "`] without its documentation.")]
                pub fn $group() -> Plain {
                    let plain = Plain::default();
                    $($(
                        let plain = utoipa_axum::paste! {
                            plain.route::<crate::$module::[<__path_ $handler>], _, _>(crate::$module::$handler)
                        };
                    )+)+
                    plain
                }
            )+

            /// Every route, as local-dev serves them.
            pub fn all() -> Plain {
                Plain::default() $( .merge($group()) )+
            }
        }
    };
}

groups! {
    /// The `signup` function: `POST /auth/signup/individual`, `POST /auth/signup/organization`,
    /// the routes that mail links or set passwords (it links the password-strength
    /// dictionaries already): `GET /auth/verify-email`, `POST /auth/verify-email/resend`,
    /// `POST /auth/password/forgot`, `POST /auth/password/reset`, `POST /auth/password`;
    /// and `POST /invitations/{preview,accept}` (accepting may create the account).
    signup {
        [auth::signup_individual]
        [auth::signup_organization]
        [orgs::preview]
        [orgs::accept]
        [account::verify_email]
        [account::resend_verification]
        [account::forgot_password]
        [account::reset_password]
        [account::change_password]
    }

    /// The `login` function: `POST /auth/login`, `GET /auth/me`, and the sessions:
    /// `POST /auth/refresh`, `POST /auth/logout`, `GET /auth/sessions`,
    /// `DELETE /auth/sessions/{session_id}`.
    login {
        [auth::login]
        [auth::me]
        [sessions::refresh]
        [sessions::logout]
        [sessions::list]
        [sessions::end]
    }

    /// The `contexts` function: `/contexts/**`.
    contexts {
        [contexts::list, contexts::create]
        [contexts::get, contexts::delete]
        [contexts::list_memories, contexts::add_memory]
        [contexts::delete_memory]
        [activity::context_activity]
    }

    /// The `orgs` function: `/orgs/{organization_id}/**`.
    orgs {
        [orgs::show]
        [orgs::members]
        [orgs::invite, orgs::invitations]
        [orgs::revoke]
        [orgs::set_role, orgs::remove]
    }

    /// The `oauth` function: the OAuth 2.1 authorization server of `/mcp`: the metadata
    /// (`/.well-known/oauth-protected-resource{,/mcp}`, `/.well-known/oauth-authorization-server`),
    /// `POST /oauth/register`, `GET`/`POST /oauth/authorize`, `POST /oauth/token`,
    /// `POST /oauth/revoke`, and the user's connected apps: `GET /auth/grants`,
    /// `DELETE /auth/grants/{grant_id}`, `GET /auth/grants/{grant_id}/activity`.
    oauth {
        [oauth::protected_resource]
        [oauth::protected_resource_root]
        [oauth::authorization_server]
        [oauth::register]
        [oauth::consent_page, oauth::decide]
        [oauth::token]
        [oauth::revoke]
        [oauth::list_grants]
        [oauth::revoke_grant]
        [activity::grant_activity]
    }
}

/// Routes ready for their state: the handlers on their paths, and each path's methods
/// (for `Allow` on a 405).
#[derive(Default)]
pub struct Plain {
    router: Router<SharedApp>,
    allowed: HashMap<String, Vec<Method>>,
}

impl Plain {
    /// `handler` on the path and methods its `#[utoipa::path]` (`P`) declares.
    fn route<P: utoipa::Path, H: Handler<T, SharedApp>, T: 'static>(mut self, handler: H) -> Self {
        let path = P::path();
        let methods = P::methods();
        let served = methods.iter().fold(MethodRouter::new(), |router, method| {
            router.on(method.to_method_filter(), handler.clone())
        });
        self.router = self.router.route(&path, served);
        self.allow(path, methods.into_iter().filter_map(http_method));
        self
    }

    /// Both groups' routes (axum refuses a method declared on one path twice).
    fn merge(mut self, other: Plain) -> Self {
        self.router = self.router.merge(other.router);
        for (path, methods) in other.allowed {
            self.allow(path, methods);
        }
        self
    }

    fn allow(&mut self, path: String, methods: impl IntoIterator<Item = Method>) {
        let allowed = self.allowed.entry(path).or_default();
        allowed.extend(methods);
        allowed.sort_by_key(|method| ALLOW_ORDER.iter().position(|listed| listed == method));
    }
}

impl From<Routes> for Plain {
    fn from(routes: Routes) -> Self {
        let (router, document) = routes.split_for_parts();
        Self {
            router,
            allowed: allowed_methods(&document),
        }
    }
}

/// The methods a route may declare, in the order a client reads them in `Allow`.
const ALLOW_ORDER: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

fn http_method(method: HttpMethod) -> Option<Method> {
    match method {
        HttpMethod::Get => Some(Method::GET),
        HttpMethod::Post => Some(Method::POST),
        HttpMethod::Put => Some(Method::PUT),
        HttpMethod::Patch => Some(Method::PATCH),
        HttpMethod::Delete => Some(Method::DELETE),
        HttpMethod::Head | HttpMethod::Options | HttpMethod::Trace => None,
    }
}

/// `routes` (documented or [`plain`]) ready to serve with `app`: a wrong method is the
/// contract's JSON 405 with `Allow`, an unknown path its JSON 404, a body over 1 MiB its
/// 413, and every answer carries its [`crate::RequestSummary`] for the front door's log line.
pub fn router(app: SharedApp, routes: impl Into<Plain>) -> Router {
    let Plain { router, allowed } = routes.into();
    let allowed = Arc::new(allowed);
    router
        .method_not_allowed_fallback(move |path: MatchedPath| {
            let methods = allowed.get(path.as_str()).cloned().unwrap_or_default();
            std::future::ready(ApiError::MethodNotAllowed(methods))
        })
        .fallback(|| std::future::ready(ApiError::NotFound))
        .layer(middleware::from_fn(summary::summarize))
        .layer(middleware::from_fn(refuse_large_bodies))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(crate::cors::allow_agents))
        .with_state(app)
}

/// Each documented path's methods, in the order a client reads them in `Allow`.
fn allowed_methods(document: &OpenApi) -> HashMap<String, Vec<Method>> {
    document
        .paths
        .paths
        .iter()
        .map(|(path, item)| {
            let declared = [
                item.get.is_some(),
                item.post.is_some(),
                item.put.is_some(),
                item.patch.is_some(),
                item.delete.is_some(),
            ];
            let methods = ALLOW_ORDER
                .into_iter()
                .zip(declared)
                .filter_map(|(method, declared)| declared.then_some(method))
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// The whole body is read (Lambda has it in memory anyway) and refused above 1 MiB
/// before any handler, authentication included, spends work on it.
pub(crate) async fn refuse_large_bodies(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => next.run(Request::from_parts(parts, bytes.into())).await,
        Err(_) => ApiError::PayloadTooLarge.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_plain_group_serves_the_paths_and_methods_its_documented_group_declares() {
        type Group = (fn() -> Routes, fn() -> Plain);
        let groups: [Group; 5] = [
            (signup, plain::signup),
            (login, plain::login),
            (contexts, plain::contexts),
            (orgs, plain::orgs),
            (oauth, plain::oauth),
        ];
        for (documented, plain) in groups {
            let (documented, plain) = (Plain::from(documented()).allowed, plain().allowed);
            assert!(!plain.is_empty());
            assert_eq!(documented, plain);
        }
        assert_eq!(Plain::from(all()).allowed, plain::all().allowed);
        // Two handlers on one path share it, in Allow's order.
        assert_eq!(
            plain::contexts().allowed.get("/contexts"),
            Some(&vec![Method::GET, Method::POST])
        );
    }
}
