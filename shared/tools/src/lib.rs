//! The mem0 memory tools as MCP sees them, written once: their names, descriptions,
//! input schemas and annotations, and the rmcp `ServerHandler` that serves them. `mem0
//! mcp` (stdio, each tool a call to the HTTP API) and `/mcp` (Streamable HTTP, each tool
//! a call to the store within the caller's grant) differ only in the [`Backend`] behind
//! them, so an agent sees the same tools from either.
//!
//! The arguments parse here (context names and addresses, the limit) before a backend
//! sees them; a backend's failure is a tool result with `isError` and a sentence saying
//! what to do, never a protocol error.

use std::sync::Arc;

use async_trait::async_trait;
use domain::{ContextAddress, ContextName};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Extensions, Implementation, ServerCapabilities, ServerConfig,
    Tool,
};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// Most memories one recall returns.
pub const MAX_RECALL: u32 = 100;

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

/// `remember`'s arguments, parsed.
#[derive(Debug)]
pub struct Remember {
    pub context: ContextAddress,
    /// As the agent wrote it; the backend's rules (length, characters) decide.
    pub text: String,
    pub tags: Vec<String>,
}

/// `recall`'s arguments, parsed.
#[derive(Debug)]
pub struct Recall {
    pub context: ContextAddress,
    pub query: Option<String>,
    /// 1 to [`MAX_RECALL`]; `None` leaves the default to the backend.
    pub limit: Option<u32>,
}

/// `create_context`'s arguments, parsed.
#[derive(Debug)]
pub struct CreateContext {
    pub name: ContextName,
    pub description: Option<String>,
}

/// `forget`'s arguments, parsed.
#[derive(Debug)]
pub struct Forget {
    pub context: ContextAddress,
    /// As the agent gave it; an id that names no memory is the backend's not found.
    pub id: String,
}

/// What a tool answers on success.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Data for the agent: sent as JSON text, and as structured content when it is an
    /// object.
    Json(Value),
    /// A sentence.
    Said(String),
}

/// A tool's answer, or the sentence of its tool error.
pub type Outcome = Result<Answer, String>;

/// What the tools do. `request` is the MCP request's extensions: over Streamable HTTP
/// they hold the HTTP request's `http::request::Parts` (and, through them, whatever the
/// layers in front put there, such as the caller); on stdio they are empty.
#[async_trait]
pub trait Backend: Send + Sync {
    async fn list_contexts(&self, request: &Extensions) -> Outcome;
    async fn create_context(&self, request: &Extensions, args: CreateContext) -> Outcome;
    async fn remember(&self, request: &Extensions, args: Remember) -> Outcome;
    async fn recall(&self, request: &Extensions, args: Recall) -> Outcome;
    async fn forget(&self, request: &Extensions, args: Forget) -> Outcome;
}

/// The MCP server of the memory tools over `backend`.
#[derive(Clone)]
pub struct Mem0Tools {
    backend: Arc<dyn Backend>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Mem0Tools {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self {
            backend,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Store a memory (a note to recall later) in a mem0 context. Returns the stored memory with its id.",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn remember(
        &self,
        request: Extensions,
        Parameters(args): Parameters<RememberArgs>,
    ) -> CallToolResult {
        let parsed = parse_address(&args.context).map(|context| Remember {
            context,
            text: args.text,
            tags: args.tags.unwrap_or_default(),
        });
        match parsed {
            Ok(args) => respond(self.backend.remember(&request, args).await),
            Err(error) => respond(Err(error)),
        }
    }

    #[tool(
        description = "Recall memories from a mem0 context: the best matches for the query, or the newest without one. Returns {memories:[{id,text,tags,created_at}], next_cursor}.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn recall(
        &self,
        request: Extensions,
        Parameters(args): Parameters<RecallArgs>,
    ) -> CallToolResult {
        let parsed = parse_address(&args.context).and_then(|context| {
            if args
                .limit
                .is_some_and(|limit| !(1..=MAX_RECALL).contains(&limit))
            {
                return Err(format!("limit must be from 1 to {MAX_RECALL}."));
            }
            Ok(Recall {
                context,
                query: args.query,
                limit: args.limit,
            })
        });
        match parsed {
            Ok(args) => respond(self.backend.recall(&request, args).await),
            Err(error) => respond(Err(error)),
        }
    }

    #[tool(
        description = "List the mem0 contexts you can use (yours and those shared with your organization), with their descriptions and memory counts. Each has an `address` to pass as `context` to the other tools: its name for your own, OWNER_ID:NAME for one shared by another member (shown with its `owner`).",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_contexts(&self, request: Extensions) -> CallToolResult {
        respond(self.backend.list_contexts(&request).await)
    }

    #[tool(
        description = "Create a private mem0 context to keep memories in.",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn create_context(
        &self,
        request: Extensions,
        Parameters(args): Parameters<CreateContextArgs>,
    ) -> CallToolResult {
        let parsed = ContextName::parse(&args.name)
            .map_err(|error| error.0)
            .map(|name| CreateContext {
                name,
                description: args.description,
            });
        match parsed {
            Ok(args) => respond(self.backend.create_context(&request, args).await),
            Err(error) => respond(Err(error)),
        }
    }

    #[tool(
        description = "Delete one memory from a mem0 context by its id.",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn forget(
        &self,
        request: Extensions,
        Parameters(args): Parameters<ForgetArgs>,
    ) -> CallToolResult {
        let parsed = parse_address(&args.context).map(|context| Forget {
            context,
            id: args.id,
        });
        match parsed {
            Ok(args) => respond(self.backend.forget(&request, args).await),
            Err(error) => respond(Err(error)),
        }
    }
}

/// The tools as `tools/list` shows them, from either server.
pub fn tools() -> Vec<Tool> {
    Mem0Tools::tool_router().list_all()
}

fn parse_address(raw: &str) -> Result<ContextAddress, String> {
    ContextAddress::parse(raw).map_err(|error| error.0)
}

fn respond(outcome: Outcome) -> CallToolResult {
    match outcome {
        Ok(Answer::Json(value)) if value.is_object() => CallToolResult::structured(value),
        Ok(Answer::Json(value)) => {
            CallToolResult::success(vec![ContentBlock::text(value.to_string())])
        }
        Ok(Answer::Said(sentence)) => CallToolResult::success(vec![ContentBlock::text(sentence)]),
        Err(sentence) => CallToolResult::error(vec![ContentBlock::text(sentence)]),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str) -> Tool {
        tools()
            .into_iter()
            .find(|tool| tool.name == name)
            .unwrap_or_else(|| panic!("{name} is a tool"))
    }

    #[test]
    fn reading_tools_say_they_only_read_and_forget_says_it_destroys() {
        for name in ["list_contexts", "recall"] {
            let hints = tool(name).annotations.expect("annotations");
            assert_eq!(hints.read_only_hint, Some(true), "{name}");
        }
        for name in ["remember", "create_context", "forget"] {
            let hints = tool(name).annotations.expect("annotations");
            assert_eq!(hints.read_only_hint, Some(false), "{name}");
        }
        let forget = tool("forget").annotations.expect("annotations");
        assert_eq!(
            (forget.destructive_hint, forget.idempotent_hint),
            (Some(true), Some(true))
        );
        let remember = tool("remember").annotations.expect("annotations");
        assert_eq!(
            (remember.destructive_hint, remember.idempotent_hint),
            (Some(false), Some(false))
        );
    }

    #[test]
    fn recall_schema_bounds_the_limit() {
        let schema = tool("recall").input_schema;
        let limit = &schema["properties"]["limit"];
        assert_eq!(limit["minimum"], 1, "{limit}");
        assert_eq!(limit["maximum"], MAX_RECALL, "{limit}");
    }
}
