//! `/contexts/**`: a user's contexts and the memories in them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use store::{
    Context, ContextName, Memory, MemoryId, NewContext, NewMemory, Viewer, Visibility, search,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::App;
use crate::error::{ApiError, ApiResult};
use crate::request::{Request, json_body, query_param};
use crate::response::{Response, json};

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;
pub const MAX_TEXT_CHARS: usize = 16_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 64;
/// How many of the newest memories a search ranks.
pub const SEARCH_CANDIDATES: usize = 1_000;

#[derive(Deserialize)]
struct CreateContext {
    name: String,
    description: Option<String>,
    visibility: Option<String>,
}

#[derive(Deserialize)]
struct AddMemory {
    text: String,
    tags: Option<Vec<String>>,
}

#[derive(Serialize)]
struct ContextView<'a> {
    name: &'a str,
    description: &'a str,
    visibility: Visibility,
    created_at: String,
    memory_count: u64,
}

impl<'a> From<&'a Context> for ContextView<'a> {
    fn from(context: &'a Context) -> Self {
        Self {
            name: context.name.as_str(),
            description: &context.description,
            visibility: context.visibility,
            created_at: rfc3339(context.created_at),
            memory_count: context.memory_count,
        }
    }
}

#[derive(Serialize)]
struct MemoryView<'a> {
    id: &'a str,
    text: &'a str,
    tags: &'a [String],
    created_at: String,
}

impl<'a> From<&'a Memory> for MemoryView<'a> {
    fn from(memory: &'a Memory) -> Self {
        Self {
            id: memory.id.as_str(),
            text: &memory.text,
            tags: &memory.tags,
            created_at: rfc3339(memory.created_at),
        }
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

pub async fn list(app: &App, request: Request) -> ApiResult<Response> {
    let viewer = app.authenticate(&request).await?;
    let contexts = app.store.list_contexts(&viewer).await?;
    let views: Vec<ContextView> = contexts.iter().map(ContextView::from).collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({"success": true, "contexts": views}),
    ))
}

pub async fn create(app: &App, request: Request) -> ApiResult<Response> {
    let viewer = app.authenticate(&request).await?;
    let body: CreateContext = json_body(&request)?;
    let name = ContextName::parse(&body.name).map_err(|e| ApiError::invalid(e.0))?;
    let description = body.description.unwrap_or_default().trim().to_owned();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::invalid(format!(
            "The description must be at most {MAX_DESCRIPTION_CHARS} characters."
        )));
    }
    let visibility = match body.visibility.as_deref() {
        None => Visibility::Private,
        Some(raw) => Visibility::parse(raw).map_err(|e| ApiError::invalid(e.0))?,
    };
    if visibility == Visibility::Organization && viewer.organization_id.is_none() {
        return Err(ApiError::Forbidden(
            "Only members of an organization can share a context with it.".into(),
        ));
    }
    let context = app
        .store
        .create_context(
            &viewer,
            NewContext {
                name,
                description,
                visibility,
            },
        )
        .await?;
    Ok(json(
        StatusCode::CREATED,
        &serde_json::json!({"success": true, "context": ContextView::from(&context)}),
    ))
}

pub async fn get(app: &App, request: Request, name: &str) -> ApiResult<Response> {
    let viewer = app.authenticate(&request).await?;
    let context = find(app, &viewer, name).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({"success": true, "context": ContextView::from(&context)}),
    ))
}

pub async fn delete(app: &App, request: Request, name: &str) -> ApiResult<Response> {
    let viewer = app.authenticate(&request).await?;
    let context = find(app, &viewer, name).await?;
    if context.owner_id != viewer.user_id {
        return Err(ApiError::Forbidden(
            "Only the owner can delete a shared context.".into(),
        ));
    }
    app.store.delete_context(&context).await?;
    Ok(json(StatusCode::OK, &serde_json::json!({"success": true})))
}

pub async fn add_memory(app: &App, request: Request, name: &str) -> ApiResult<Response> {
    let viewer = app.authenticate(&request).await?;
    let body: AddMemory = json_body(&request)?;
    let memory = parse_memory(body)?;
    let context = find(app, &viewer, name).await?;
    let memory = app.store.put_memory(&context, memory).await?;
    Ok(json(
        StatusCode::CREATED,
        &serde_json::json!({"success": true, "memory": MemoryView::from(&memory)}),
    ))
}

fn parse_memory(body: AddMemory) -> ApiResult<NewMemory> {
    let text = body.text.trim();
    if text.is_empty() {
        return Err(ApiError::invalid("The memory text must not be empty."));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::invalid(format!(
            "The memory text must be at most {MAX_TEXT_CHARS} characters."
        )));
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in body.tags.unwrap_or_default() {
        let tag = tag.trim();
        if tag.is_empty()
            || tag.chars().count() > MAX_TAG_CHARS
            || tag.chars().any(char::is_control)
        {
            return Err(ApiError::invalid(format!(
                "Each tag must be 1-{MAX_TAG_CHARS} characters."
            )));
        }
        if !tags.iter().any(|seen| seen == tag) {
            tags.push(tag.to_owned());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid(format!(
            "At most {MAX_TAGS} tags per memory."
        )));
    }
    Ok(NewMemory {
        text: text.to_owned(),
        tags,
    })
}

/// Where the next page starts: after a memory id for plain listing, at an offset for
/// a ranked search. Opaque to clients.
#[derive(Debug, PartialEq, Eq)]
enum Cursor {
    After(MemoryId),
    Offset(usize),
}

impl Cursor {
    fn encode(&self) -> String {
        let raw = match self {
            Self::After(id) => format!("after:{id}"),
            Self::Offset(offset) => format!("offset:{offset}"),
        };
        URL_SAFE_NO_PAD.encode(raw)
    }

    fn decode(raw: &str) -> ApiResult<Self> {
        let invalid = || ApiError::invalid("The cursor is not one this API handed out.");
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        match text.split_once(':') {
            Some(("after", id)) => Ok(Self::After(MemoryId::parse(id).map_err(|_| invalid())?)),
            Some(("offset", offset)) => Ok(Self::Offset(offset.parse().map_err(|_| invalid())?)),
            _ => Err(invalid()),
        }
    }

    fn mismatch() -> ApiError {
        ApiError::invalid("This cursor belongs to a different query; start again without it.")
    }
}

fn parse_limit(raw: Option<String>) -> ApiResult<usize> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => match raw.parse::<usize>() {
            Ok(limit @ 1..=store::MAX_PAGE) => Ok(limit),
            _ => Err(ApiError::invalid(format!(
                "limit must be a whole number from 1 to {}.",
                store::MAX_PAGE
            ))),
        },
    }
}

pub async fn list_memories(app: &App, request: Request, name: &str) -> ApiResult<Response> {
    let viewer = app.authenticate(&request).await?;
    let limit = parse_limit(query_param(&request, "limit"))?;
    let cursor = query_param(&request, "cursor")
        .filter(|raw| !raw.is_empty())
        .map(|raw| Cursor::decode(&raw))
        .transpose()?;
    let query = query_param(&request, "query").filter(|query| !query.trim().is_empty());
    let context = find(app, &viewer, name).await?;

    let (memories, next) = match query {
        None => {
            let after = match cursor {
                None => None,
                Some(Cursor::After(id)) => Some(id),
                Some(Cursor::Offset(_)) => return Err(Cursor::mismatch()),
            };
            let page = app
                .store
                .list_memories(&context, limit, after.as_ref())
                .await?;
            (page.memories, page.next.map(Cursor::After))
        }
        Some(query) => {
            let offset = match cursor {
                None => 0,
                Some(Cursor::Offset(offset)) => offset,
                Some(Cursor::After(_)) => return Err(Cursor::mismatch()),
            };
            let candidates = app
                .store
                .recent_memories(&context, SEARCH_CANDIDATES)
                .await?;
            let ranked = search::rank(candidates, &query);
            let more = ranked.len() > offset + limit;
            let page: Vec<Memory> = ranked.into_iter().skip(offset).take(limit).collect();
            (page, more.then_some(Cursor::Offset(offset + limit)))
        }
    };
    let views: Vec<MemoryView> = memories.iter().map(MemoryView::from).collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "success": true,
            "memories": views,
            "next_cursor": next.map(|cursor| cursor.encode()),
        }),
    ))
}

pub async fn delete_memory(
    app: &App,
    request: Request,
    name: &str,
    id: &str,
) -> ApiResult<Response> {
    let viewer = app.authenticate(&request).await?;
    let context = find(app, &viewer, name).await?;
    let id = MemoryId::parse(id).map_err(|_| ApiError::NotFound)?;
    app.store.delete_memory(&context, &id).await?;
    Ok(json(StatusCode::OK, &serde_json::json!({"success": true})))
}

/// The context `name` as `viewer` sees it; a name that cannot exist is simply not found.
async fn find(app: &App, viewer: &Viewer, name: &str) -> ApiResult<Context> {
    let name = ContextName::parse(name).map_err(|_| ApiError::NotFound)?;
    app.store
        .find_context(viewer, &name)
        .await?
        .ok_or(ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let after = Cursor::After(MemoryId::generate());
        assert_eq!(Cursor::decode(&after.encode()).unwrap(), after);
        assert_eq!(
            Cursor::decode(&Cursor::Offset(40).encode()).unwrap(),
            Cursor::Offset(40)
        );
        for garbage in ["", "!!!", "bm9wZQ", &URL_SAFE_NO_PAD.encode("after:nope")] {
            assert!(Cursor::decode(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_refused() {
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some("100".into())).unwrap(), 100);
        for bad in ["0", "101", "-1", "ten", ""] {
            assert!(parse_limit(Some(bad.into())).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn memory_tags_are_trimmed_deduplicated_and_bounded() {
        let memory = parse_memory(AddMemory {
            text: "  note ".into(),
            tags: Some(vec![" a ".into(), "a".into(), "b".into()]),
        })
        .unwrap();
        assert_eq!(memory.text, "note");
        assert_eq!(memory.tags, vec!["a", "b"]);
        let too_many = (0..=MAX_TAGS).map(|i| i.to_string()).collect();
        assert!(
            parse_memory(AddMemory {
                text: "x".into(),
                tags: Some(too_many)
            })
            .is_err()
        );
        assert!(
            parse_memory(AddMemory {
                text: "   ".into(),
                tags: None
            })
            .is_err()
        );
    }
}
