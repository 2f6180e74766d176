//! `/mcp`: the memory tools (`mcp_tools`, the same as `mem0 mcp`'s) over MCP Streamable
//! HTTP, stateless: each POST is answered on its own with a JSON response and no
//! session is kept, so any Lambda instance can answer any request.
//!
//! Who calls, and what they may do, comes from the access token only: the OAuth guard
//! in front verifies it and puts a [`GrantCaller`] in the request's extensions; rmcp
//! hands each tool the request's `http::request::Parts`, where the backend finds it. A
//! tool outside the grant's scopes answers a tool error naming the missing scope; a
//! context outside the grant's contexts is invisible (not listed, not found), and the
//! contexts the grant reaches obey the same visibility and write rules as the REST
//! routes (`contexts.rs`). Each call that did its work leaves an entry in the activity
//! trail (who, which tool, which context, how many memories; never their text).

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post_service;
use domain::{ContextAddress, Description};
use http::Method;
use mcp_tools::{Answer, Backend, CreateContext, Forget, Mem0Tools, Outcome, Recall, Remember};
use rmcp::model::Extensions;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Serialize;
use serde_json::{Value, json};
use store::search::Query;
use store::{ActivityEntry, Context, MemoryId, NewContext, Scope, Visibility};
use ulid::Ulid;

use crate::contexts::{self, ContextView, MemoryJson};
use crate::error::ApiError;
use crate::extract::MAX_BODY_BYTES;
use crate::{GrantCaller, SharedApp, summary};

/// Where the MCP server answers.
pub const PATH: &str = "/mcp";

/// The hosts a request to `/mcp` may name in `Host`: the public origin's (the deployed
/// API), and the loopback names local-dev answers on. Any other is refused before the
/// tools run, against DNS rebinding.
pub fn allowed_hosts(public_origin: Option<&str>) -> Vec<String> {
    let public = public_origin
        .and_then(|origin| origin.parse::<http::Uri>().ok())
        .and_then(|origin| origin.authority().map(|authority| authority.to_string()));
    public
        .into_iter()
        .chain(["localhost".to_owned(), "127.0.0.1".to_owned()])
        .collect()
}

/// `POST /mcp` served by rmcp's Streamable HTTP service, stateless with JSON answers;
/// `GET` and `DELETE` (the stream and the session a stateful server would keep) are 405.
/// A request without a [`GrantCaller`] (the guard was not in front) is 401.
pub fn router(app: SharedApp, allowed_hosts: Vec<String>) -> Router {
    let backend: Arc<dyn Backend> = Arc::new(StoreBackend { app });
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_sse_retry(None)
        .with_allowed_hosts(allowed_hosts)
        .with_max_request_body_bytes(MAX_BODY_BYTES);
    let service = StreamableHttpService::new(
        move || Ok(Mem0Tools::new(backend.clone())),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route(
            PATH,
            post_service(service).layer(middleware::from_fn(require_caller)),
        )
        .method_not_allowed_fallback(|| {
            std::future::ready(ApiError::MethodNotAllowed(vec![Method::POST]))
        })
        .layer(middleware::from_fn(summary::summarize))
}

/// [`router`] behind the OAuth guard ([`crate::oauth::require_grant`]), which verifies
/// the access token for this resource and puts its [`GrantCaller`] in the request: what
/// the `mcp` function and local-dev serve.
///
/// The body is read in full before the guard looks at the token (and refused above
/// 1 MiB, as on every route): a refusal that left it unread would make the server drop
/// the connection, and a client that reuses it for the metadata lookup the 401 asks for
/// would see it reset.
pub fn guarded_router(app: SharedApp, allowed_hosts: Vec<String>) -> Router {
    router(Arc::clone(&app), allowed_hosts)
        .route_layer(middleware::from_fn_with_state(
            app,
            crate::oauth::require_grant,
        ))
        .route_layer(middleware::from_fn(crate::routes::refuse_large_bodies))
        .layer(middleware::from_fn(crate::cors::allow_agents))
}

/// The guard's [`GrantCaller`], or 401.
async fn require_caller(request: Request, next: Next) -> Response {
    match request.extensions().get::<GrantCaller>() {
        Some(caller) => {
            summary::identify(caller.user.id);
            next.run(request).await
        }
        None => ApiError::Unauthorized.into_response(),
    }
}

/// The tools' work done by the store, within the caller's grant.
struct StoreBackend {
    app: SharedApp,
}

#[async_trait]
impl Backend for StoreBackend {
    async fn list_contexts(&self, request: &Extensions) -> Outcome {
        let caller = permitted(request, Scope::MemoriesRead, "list contexts")?;
        let user = &caller.user;
        let contexts: Vec<Context> = self
            .app
            .store
            .list_contexts(&user.viewer())
            .await
            .map_err(ApiError::from)
            .map_err(sentence)?
            .into_iter()
            .filter(|context| {
                contexts::visible(user, context) && caller.reaches(context.owner_id, &context.name)
            })
            .collect();
        let names = contexts::owner_names(&self.app, user, &contexts)
            .await
            .map_err(sentence)?;
        let listed = contexts
            .into_iter()
            .map(|context| {
                let name = names.get(&context.owner_id).cloned();
                context_json(ContextView::new(context, user, name))
            })
            .collect::<Result<Vec<Value>, String>>()?;
        self.record(caller, "list_contexts", None, 0).await;
        Ok(Answer::Json(Value::Array(listed)))
    }

    async fn create_context(&self, request: &Extensions, args: CreateContext) -> Outcome {
        let description = Description::parse(args.description.as_deref().unwrap_or_default())
            .map_err(|error| error.0)?;
        let caller = permitted(request, Scope::MemoriesWrite, "create contexts")?;
        if !caller.reaches(caller.user.id, &args.name) {
            return Err(format!(
                "This connection reaches only the contexts it was granted, and {} is not one \
                 of them: create it in mem0 itself, then connect again granting it.",
                args.name
            ));
        }
        let context = self
            .app
            .store
            .create_context(
                &caller.user.viewer(),
                NewContext {
                    name: args.name,
                    description,
                    visibility: Visibility::Private,
                },
            )
            .await
            .map_err(ApiError::from)
            .map_err(sentence)?;
        self.record(caller, "create_context", Some(&context), 0)
            .await;
        context_json(ContextView::new(context, &caller.user, None)).map(Answer::Json)
    }

    async fn remember(&self, request: &Extensions, args: Remember) -> Outcome {
        let memory = contexts::new_memory(&args.text, args.tags).map_err(sentence)?;
        let caller = permitted(request, Scope::MemoriesWrite, "remember")?;
        let context = self.reachable(caller, &args.context).await?;
        contexts::may_write(&caller.user, &context).map_err(sentence)?;
        let memory = self
            .app
            .store
            .put_memory(&context, memory)
            .await
            .map_err(|error| not_found_as(error.into(), || no_context(&args.context)))?;
        self.record(caller, "remember", Some(&context), 1).await;
        to_json(&MemoryJson::from(&memory)).map(Answer::Json)
    }

    async fn recall(&self, request: &Extensions, args: Recall) -> Outcome {
        let query = args
            .query
            .filter(|query| !query.trim().is_empty())
            .map(|query| Query::parse(&query).map_err(|error| error.to_string()))
            .transpose()?;
        let limit = match args.limit {
            None => contexts::DEFAULT_LIMIT,
            Some(limit) => usize::try_from(limit).map_err(|_| "limit is too large.".to_owned())?,
        };
        let caller = permitted(request, Scope::MemoriesRead, "recall")?;
        let context = self.reachable(caller, &args.context).await?;
        let (memories, next_cursor) = match query {
            None => contexts::list_page(&self.app, &context, limit, None).await,
            Some(query) => contexts::search_page(&self.app, &context, query, limit, None).await,
        }
        .map_err(sentence)?;
        self.record(caller, "recall", Some(&context), memories.len())
            .await;
        let memories: Vec<MemoryJson> = memories.iter().map(MemoryJson::from).collect();
        Ok(Answer::Json(
            json!({"memories": memories, "next_cursor": next_cursor}),
        ))
    }

    async fn forget(&self, request: &Extensions, args: Forget) -> Outcome {
        let no_memory = || format!("No memory {} in context {}.", args.id, args.context);
        let id = MemoryId::parse(&args.id).map_err(|_| no_memory())?;
        let caller = permitted(request, Scope::MemoriesWrite, "forget")?;
        let context = self.reachable(caller, &args.context).await?;
        contexts::may_write(&caller.user, &context).map_err(sentence)?;
        self.app
            .store
            .delete_memory(&context, &id)
            .await
            .map_err(|error| not_found_as(error.into(), no_memory))?;
        self.record(caller, "forget", Some(&context), 1).await;
        Ok(Answer::Said(format!(
            "Forgot memory {} in context {}.",
            args.id, args.context
        )))
    }
}

impl StoreBackend {
    /// The context at `address` if the caller may see it and the grant reaches it; any
    /// other is not found, whether it exists or not.
    async fn reachable(
        &self,
        caller: &GrantCaller,
        address: &ContextAddress,
    ) -> Result<Context, String> {
        let context = contexts::find_at(&self.app, &caller.user, address)
            .await
            .map_err(|error| not_found_as(error, || no_context(address)))?;
        if !caller.reaches(context.owner_id, &context.name) {
            return Err(no_context(address));
        }
        Ok(context)
    }

    /// Notes in the activity trail that `caller`'s agent did `tool` (on `context`, to
    /// `count` memories): who, what and how many, never the text. The tool's work is
    /// done by then, so a trail the store cannot write is logged, not the answer.
    async fn record(
        &self,
        caller: &GrantCaller,
        tool: &str,
        context: Option<&Context>,
        count: usize,
    ) {
        let entry = ActivityEntry {
            id: Ulid::new().to_string(),
            user_id: caller.user.id,
            grant_id: caller.grant.id.clone(),
            client_name: caller.grant.client_name.clone(),
            action: tool.to_owned(),
            context: context.map(|context| (context.owner_id, context.name.clone())),
            count: u32::try_from(count).unwrap_or(u32::MAX),
            at: self.app.now().unix_timestamp(),
        };
        if let Err(error) = self.app.store.record_activity(&entry).await {
            tracing::error!(%error, tool, "the activity trail missed a tool call");
        }
    }
}

/// The request's caller, if its grant holds `scope`; else the tool error naming it.
fn permitted<'a>(
    request: &'a Extensions,
    scope: Scope,
    doing: &str,
) -> Result<&'a GrantCaller, String> {
    let caller = request
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<GrantCaller>())
        .ok_or_else(|| {
            // `router` answers 401 before the tools run without one.
            tracing::error!("an MCP tool ran without a grant caller");
            ApiError::Unauthorized.message()
        })?;
    if !caller.may(scope) {
        return Err(format!(
            "This connection may not {doing}: it was not granted the {} scope. Connect \
             mem0 again and allow it.",
            scope.as_str()
        ));
    }
    Ok(caller)
}

fn no_context(address: &ContextAddress) -> String {
    format!(
        "No context {address} that this connection can see (list_contexts names the ones it can)."
    )
}

/// `error`'s sentence, with `not_found`'s for a not found.
fn not_found_as(error: ApiError, not_found: impl FnOnce() -> String) -> String {
    match error {
        ApiError::NotFound => not_found(),
        other => sentence(other),
    }
}

fn sentence(error: ApiError) -> String {
    error.message()
}

/// A context as the tools show it: as `GET /contexts` does, with its `address`.
fn context_json(view: ContextView) -> Result<Value, String> {
    let address = view.address().to_owned();
    let mut value = to_json(&view)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("address".to_owned(), Value::String(address));
    }
    Ok(value)
}

fn to_json(value: &impl Serialize) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|error| {
        tracing::error!(%error, "a tool answer did not serialize");
        ApiError::Internal.message()
    })
}
