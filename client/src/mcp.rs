//! `mem0 mcp`: the memory tools (`mcp_tools`) over MCP on stdio, each a call to the
//! HTTP API.
//!
//! Any failure (no token, expired token, server down, bad input) is a tool result with
//! `isError` and a sentence saying what to do; the server itself keeps running.

use async_trait::async_trait;
use mcp_tools::{Answer, Backend, CreateContext, Forget, Mem0Tools, Outcome, Recall, Remember};
use rmcp::ServiceExt;
use rmcp::model::Extensions;
use serde_json::Value;

use std::sync::Arc;

use crate::api::{Api, Reply};
use crate::auth::{Auth, AuthError};
use crate::cli::Failure;
use crate::session::{Caller, NoSession, Session};

/// The tools' work done by the HTTP API, as the caller's saved or configured login.
struct HttpBackend {
    api: Api,
    /// One for all tool calls, so that concurrent calls share a refresh.
    auth: Auth<Api>,
}

impl HttpBackend {
    fn new(api: Api) -> Self {
        let auth = Auth::new(Caller::Mcp, api.url().clone(), api.clone());
        Self { api, auth }
    }
}

#[async_trait]
impl Backend for HttpBackend {
    async fn remember(&self, _: &Extensions, args: Remember) -> Outcome {
        let (api, context, text, tags) = (&self.api, &args.context, &args.text, &args.tags);
        let reply = self
            .auth
            .send(|token| async move { api.remember(&token, context, text, tags).await })
            .await;
        answer(reply, "memory")
    }

    async fn recall(&self, _: &Extensions, args: Recall) -> Outcome {
        let (api, context, query, limit) =
            (&self.api, &args.context, args.query.as_deref(), args.limit);
        let reply = self
            .auth
            .send(|token| async move { api.recall(&token, context, query, limit).await })
            .await;
        let mut page = answer_value(reply)?;
        if let Some(object) = page.as_object_mut() {
            object.remove("success");
        }
        Ok(Answer::Json(page))
    }

    async fn list_contexts(&self, _: &Extensions) -> Outcome {
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
        Ok(Answer::Json(listed["contexts"].take()))
    }

    async fn create_context(&self, _: &Extensions, args: CreateContext) -> Outcome {
        let (api, name, description) = (&self.api, &args.name, args.description.as_deref());
        let reply = self
            .auth
            .send(|token| async move { api.create_context(&token, name, description, None).await })
            .await;
        answer(reply, "context")
    }

    async fn forget(&self, _: &Extensions, args: Forget) -> Outcome {
        let (api, context, id) = (&self.api, &args.context, &args.id);
        let reply = self
            .auth
            .send(|token| async move { api.forget(&token, context, id).await })
            .await;
        answer_value(reply)?;
        Ok(Answer::Said(format!(
            "Forgot memory {} in context {}.",
            args.id, args.context
        )))
    }
}

/// The reply's `field`.
fn answer<T>(reply: Result<(Session, Reply<T>), AuthError>, field: &str) -> Outcome {
    let mut body = answer_value(reply)?;
    Ok(Answer::Json(body[field].take()))
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

pub async fn serve(api: Api) -> Result<(), Failure> {
    let running = Mem0Tools::new(Arc::new(HttpBackend::new(api)))
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|error| Failure::Other(format!("MCP session did not start: {error}")))?;
    running
        .waiting()
        .await
        .map_err(|error| Failure::Other(format!("MCP server stopped: {error}")))?;
    Ok(())
}
