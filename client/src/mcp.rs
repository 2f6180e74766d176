//! `mem0 mcp`: the memory tools over MCP on stdio, each a call to the HTTP API.
//!
//! Any failure (no token, expired token, server down, bad input) is a tool result with
//! `isError` and a sentence saying what to do; the server itself keeps running.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use std::sync::Arc;

use crate::api::{Api, Reply};
use crate::auth::{Auth, AuthError};
use crate::cli::Failure;
use crate::session::{Caller, NoSession, Session};
use domain::{ContextAddress, ContextName};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RememberArgs {
    /// The context to store the memory in, as list_contexts names it: your own by its
    /// name (1-64 of A-Z a-z 0-9 . _ -), one shared with your organization as
    /// OWNER_ID:NAME. It must exist.
    context: String,
    /// The memory, 1-16000 characters.
    text: String,
    /// Optional tags, at most 20.
    tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RecallArgs {
    /// The context to search: NAME (yours) or OWNER_ID:NAME (shared), as list_contexts says.
    context: String,
    /// Words to look for; without it the newest memories come first.
    query: Option<String>,
    /// How many memories, 1-100 (default 20).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateContextArgs {
    /// The new context's name: 1-64 of A-Z a-z 0-9 . _ -
    name: String,
    /// What the context is for.
    description: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ForgetArgs {
    /// The context holding the memory: NAME or OWNER_ID:NAME.
    context: String,
    /// The memory's id, as remember or recall returned it.
    id: String,
}

#[derive(Clone)]
pub struct Mem0Tools {
    api: Api,
    /// One for all tool calls, so that concurrent calls share a refresh.
    auth: Arc<Auth<Api>>,
    tool_router: ToolRouter<Self>,
}

type ToolResult = Result<String, String>;

#[tool_router]
impl Mem0Tools {
    fn new(api: Api) -> Self {
        let auth = Auth::new(Caller::Mcp, api.url().clone(), api.clone());
        Self {
            api,
            auth: Arc::new(auth),
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Store a memory (a note to recall later) in a mem0 context. Returns the stored memory with its id."
    )]
    async fn remember(&self, Parameters(args): Parameters<RememberArgs>) -> ToolResult {
        let context = parse_address(&args.context)?;
        let tags = args.tags.unwrap_or_default();
        let (api, context, text, tags) = (&self.api, &context, &args.text, &tags);
        let reply = self
            .auth
            .send(|token| async move { api.remember(&token, context, text, tags).await })
            .await;
        answer(reply, "memory")
    }

    #[tool(
        description = "Recall memories from a mem0 context: the best matches for the query, or the newest without one. Returns {memories:[{id,text,tags,created_at}], next_cursor}."
    )]
    async fn recall(&self, Parameters(args): Parameters<RecallArgs>) -> ToolResult {
        let context = parse_address(&args.context)?;
        if args.limit.is_some_and(|limit| !(1..=100).contains(&limit)) {
            return Err("limit must be from 1 to 100.".to_owned());
        }
        let (api, context, query, limit) = (&self.api, &context, args.query.as_deref(), args.limit);
        let reply = self
            .auth
            .send(|token| async move { api.recall(&token, context, query, limit).await })
            .await;
        let mut page = answer_value(reply)?;
        if let Some(object) = page.as_object_mut() {
            object.remove("success");
        }
        Ok(page.to_string())
    }

    #[tool(
        description = "List the mem0 contexts you can use (yours and those shared with your organization), with their descriptions and memory counts. Each has an `address` to pass as `context` to the other tools: its name for your own, OWNER_ID:NAME for one shared by another member (shown with its `owner`)."
    )]
    async fn list_contexts(&self) -> ToolResult {
        let api = &self.api;
        let reply = self
            .auth
            .send(|token| async move { api.contexts(&token).await })
            .await;
        let mut listed = answer_value(reply)?;
        if let Some(contexts) = listed["contexts"].as_array_mut() {
            for context in contexts {
                let address = context["href"]
                    .as_str()
                    .and_then(|href| href.strip_prefix("/contexts/"))
                    .map(str::to_owned);
                if let (Some(address), Some(object)) = (address, context.as_object_mut()) {
                    object.insert("address".to_owned(), Value::String(address));
                }
            }
        }
        Ok(listed["contexts"].to_string())
    }

    #[tool(description = "Create a private mem0 context to keep memories in.")]
    async fn create_context(&self, Parameters(args): Parameters<CreateContextArgs>) -> ToolResult {
        let name = parse_context(&args.name)?;
        let (api, name, description) = (&self.api, &name, args.description.as_deref());
        let reply = self
            .auth
            .send(|token| async move { api.create_context(&token, name, description, None).await })
            .await;
        answer(reply, "context")
    }

    #[tool(description = "Delete one memory from a mem0 context by its id.")]
    async fn forget(&self, Parameters(args): Parameters<ForgetArgs>) -> ToolResult {
        let context = parse_address(&args.context)?;
        let (api, context_ref, id) = (&self.api, &context, &args.id);
        let reply = self
            .auth
            .send(|token| async move { api.forget(&token, context_ref, id).await })
            .await;
        answer_value(reply)?;
        Ok(format!("Forgot memory {} in context {context}.", args.id))
    }
}

/// The reply's `field` as JSON text.
fn answer<T>(reply: Result<(Session, Reply<T>), AuthError>, field: &str) -> ToolResult {
    let body = answer_value(reply)?;
    Ok(body[field].to_string())
}

fn answer_value<T>(reply: Result<(Session, Reply<T>), AuthError>) -> Result<Value, String> {
    reply
        .map(|(_, reply)| reply.raw)
        .map_err(|error| match error {
            AuthError::NoSession(NoSession::Credentials(error)) => error.to_string(),
            AuthError::NoSession(missing) => missing.explain(Caller::Mcp),
            other => other.to_string(),
        })
}

fn parse_context(raw: &str) -> Result<ContextName, String> {
    ContextName::parse(raw).map_err(|error| error.0)
}

fn parse_address(raw: &str) -> Result<ContextAddress, String> {
    ContextAddress::parse(raw).map_err(|error| error.0)
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Mem0Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("mem0", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "mem0 keeps memories in named contexts. Use list_contexts to see them, \
                 recall to look things up before answering, and remember to store what is \
                 worth keeping.",
            )
    }
}

pub async fn serve(api: Api) -> Result<(), Failure> {
    let running = Mem0Tools::new(api)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|error| Failure::Other(format!("MCP session did not start: {error}")))?;
    running
        .waiting()
        .await
        .map_err(|error| Failure::Other(format!("MCP server stopped: {error}")))?;
    Ok(())
}
