//! `/contexts/**`: a user's contexts and the memories in them.

use axum::extract::{FromRequestParts, State};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{Description, MemoryText, Tags};
use http::request::Parts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use store::search::{self, Query};

use domain::ContextAddress;
use store::{
    Candidates, Context, ContextName, Memory, MemoryId, NewContext, NewMemory, OrgRole, User,
    UserId, Visibility,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Semaphore;
use utoipa::{IntoParams, ToSchema};

use crate::error::{self, ApiError, ApiResult};
use crate::extract::{Authenticated, JsonBody, PathParams, query_param};
use crate::reply::{Done, Reply, Succeeded};
use crate::{App, SharedApp};

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_TEXT_CHARS: usize = MemoryText::MAX_CHARS;
pub const MAX_TAGS: usize = Tags::MAX_TAGS;
pub const MAX_TAG_CHARS: usize = Tags::MAX_CHARS;
/// What a search ranks: the 1,000 newest memories, 4 MiB of text and tags at most (some
/// 65 memories of 16,000 emoji, 260 of 16,000 ASCII letters). Ranking time is
/// proportional to these bytes: the worst query over 4 MiB takes tens of milliseconds
/// (`cargo bench -p store --no-default-features --bench search`).
pub const SEARCH_CANDIDATES: Candidates = Candidates {
    memories: 1_000,
    bytes: 4 * 1024 * 1024,
    largest_memory: LARGEST_MEMORY_BYTES,
};
/// Four bytes per character at most, in UTF-8.
const LARGEST_MEMORY_BYTES: usize = 4 * (MAX_TEXT_CHARS + MAX_TAGS * MAX_TAG_CHARS);
/// The memories on one page take at most this many bytes of JSON (or one memory, which
/// is far less): every answer stays well under API Gateway's 6 MB.
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Rankings running at once in this process; more searches wait their turn, so a burst of
/// searches neither starves the CPU nor holds more than this many candidate sets.
const CONCURRENT_RANKINGS: usize = 4;
static RANKINGS: Semaphore = Semaphore::const_new(CONCURRENT_RANKINGS);

#[derive(Deserialize, ToSchema)]
pub struct CreateContext {
    /// 1-64 characters of `A-Z a-z 0-9 . _ -`; unique among the caller's contexts.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$", example = "my-project")]
    name: String,
    /// At most 1,000 characters.
    #[schema(max_length = 1000)]
    description: Option<String>,
    /// `private` (the default) or `organization`.
    #[schema(value_type = Option<Visibility>)]
    visibility: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct AddMemory {
    /// 1-16,000 characters; no control characters but line breaks and tabs.
    #[schema(min_length = 1, max_length = 16000)]
    text: String,
    /// At most 20 tags of 1-64 characters; duplicates are dropped.
    tags: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct ContextView {
    name: String,
    description: String,
    visibility: Visibility,
    #[schema(format = DateTime)]
    created_at: String,
    memory_count: u64,
    /// Where this context is addressed, its memories at `{href}/memories`:
    /// `/contexts/{name}` for the caller's own, `/contexts/{owner_id}:{name}` for one
    /// another member shared.
    #[schema(example = "/contexts/7:roadmap")]
    href: String,
    /// For a context shared with an organization: that organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_id: Option<u64>,
    /// For a context shared with an organization: who owns it.
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<Owner>,
}

/// The owner of a shared context.
#[derive(Serialize, ToSchema)]
pub struct Owner {
    user_id: u64,
    name: String,
}

impl ContextView {
    /// How the tools name this context: `href` without its `/contexts/`.
    pub(crate) fn address(&self) -> &str {
        self.href.strip_prefix("/contexts/").unwrap_or(&self.href)
    }

    /// `context` as `caller` sees it; `owner_name` names its owner when it is shared.
    pub(crate) fn new(context: Context, caller: &User, owner_name: Option<String>) -> Self {
        let own = context.owner_id == caller.id;
        let href = if own {
            format!("/contexts/{}", context.name)
        } else {
            format!(
                "/contexts/{}",
                domain::shared_address(context.owner_id, &context.name)
            )
        };
        let shared = context.visibility == Visibility::Organization;
        let owner = shared.then(|| Owner {
            user_id: context.owner_id.0,
            name: if own {
                caller.name.clone()
            } else {
                owner_name.unwrap_or_default()
            },
        });
        Self {
            name: context.name.as_str().to_owned(),
            created_at: rfc3339(context.created_at),
            description: context.description,
            visibility: context.visibility,
            memory_count: context.memory_count,
            href,
            organization_id: if shared {
                context.organization_id.map(|id| id.0)
            } else {
                None
            },
            owner,
        }
    }
}

/// A memory as replies show it.
#[derive(Serialize, ToSchema)]
#[schema(as = Memory)]
pub struct MemoryJson<'a> {
    id: &'a str,
    text: &'a str,
    tags: &'a [String],
    #[schema(format = DateTime)]
    created_at: String,
}

impl<'a> From<&'a Memory> for MemoryJson<'a> {
    fn from(memory: &'a Memory) -> Self {
        Self {
            id: memory.id.as_str(),
            text: &memory.text,
            tags: &memory.tags,
            created_at: rfc3339(memory.created_at),
        }
    }
}

/// A memory in a reply; it serialises as [`MemoryJson`], which `json_bytes` also
/// measures, without copying the text.
pub struct MemoryView(Memory);

impl Serialize for MemoryView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MemoryJson::from(&self.0).serialize(serializer)
    }
}

/// The caller's contexts and those shared with their organization.
#[derive(Serialize, ToSchema)]
pub struct ContextList {
    success: Succeeded,
    contexts: Vec<ContextView>,
}

#[derive(Serialize, ToSchema)]
pub struct OneContext {
    success: Succeeded,
    context: ContextView,
}

#[derive(Serialize, ToSchema)]
pub struct OneMemory {
    success: Succeeded,
    #[schema(value_type = MemoryJson)]
    memory: MemoryView,
}

/// A page of memories, newest first or best match first.
#[derive(Serialize, ToSchema)]
pub struct MemoryPage {
    success: Succeeded,
    #[schema(value_type = Vec<MemoryJson>)]
    memories: Vec<MemoryView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// `{name}` in a context's routes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ContextPath {
    /// The context's name (the caller's own), or `<owner_id>:<name>` (another member's,
    /// shared with the caller's organization), as `href` in `GET /contexts` says.
    pub(crate) name: String,
}

/// `{name}` and `{id}` in a memory's route.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemoryPath {
    /// The context's name, or `<owner_id>:<name>` (see `GET /contexts`'s `href`).
    name: String,
    /// The memory's id.
    id: String,
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// The caller's contexts, and those shared with their organization.
#[utoipa::path(get, path = "/contexts", tag = "contexts", security(("bearer" = [])),
    responses(
        (status = 200, description = "The contexts", body = ContextList),
        (status = 401, response = error::Unauthorized),
    ))]
pub async fn list(
    State(app): State<SharedApp>,
    caller: Authenticated,
) -> ApiResult<Reply<ContextList>> {
    let contexts: Vec<Context> = app
        .store
        .list_contexts(&caller.viewer())
        .await?
        .into_iter()
        .filter(|context| visible(&caller.user, context))
        .collect();
    let names = owner_names(&app, &caller.user, &contexts).await?;
    Ok(Reply::ok(ContextList {
        success: Succeeded,
        contexts: contexts
            .into_iter()
            .map(|context| {
                let name = names.get(&context.owner_id).cloned();
                ContextView::new(context, &caller.user, name)
            })
            .collect(),
    }))
}

/// Creates a context.
#[utoipa::path(post, path = "/contexts", tag = "contexts", security(("bearer" = [])),
    request_body = CreateContext,
    responses(
        (status = 201, description = "The new context", body = OneContext),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden),
        (status = 409, response = error::Conflict),
    ))]
pub async fn create(
    State(app): State<SharedApp>,
    caller: Authenticated,
    JsonBody(body): JsonBody<CreateContext>,
) -> ApiResult<Reply<OneContext>> {
    let viewer = caller.viewer();
    let name = ContextName::parse(&body.name).map_err(|e| ApiError::invalid(e.0))?;
    let description = Description::parse(body.description.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::invalid(e.0))?;
    let visibility = match body.visibility.as_deref() {
        None => Visibility::Private,
        Some(raw) => Visibility::parse(raw).map_err(|e| ApiError::invalid(e.0))?,
    };
    if visibility == Visibility::Organization {
        match caller.membership() {
            None => {
                return Err(ApiError::Forbidden(
                    "Only members of an organization can share a context with it.".into(),
                ));
            }
            Some(membership) if !membership.role.writes_shared() => {
                return Err(ApiError::Forbidden(
                    "Viewers cannot share contexts with the organization.".into(),
                ));
            }
            Some(_) => {}
        }
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
    Ok(Reply::created(OneContext {
        success: Succeeded,
        context: ContextView::new(context, &caller.user, None),
    }))
}

/// One context.
#[utoipa::path(get, path = "/contexts/{name}", tag = "contexts", security(("bearer" = [])),
    params(ContextPath),
    responses(
        (status = 200, description = "The context", body = OneContext),
        (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound),
    ))]
pub async fn get(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<ContextPath>,
) -> ApiResult<Reply<OneContext>> {
    let context = find(&app, &caller.user, &path.name).await?;
    let names = owner_names(&app, &caller.user, std::slice::from_ref(&context)).await?;
    let name = names.get(&context.owner_id).cloned();
    Ok(Reply::ok(OneContext {
        success: Succeeded,
        context: ContextView::new(context, &caller.user, name),
    }))
}

/// Deletes a context and every memory in it.
#[utoipa::path(delete, path = "/contexts/{name}", tag = "contexts", security(("bearer" = [])),
    params(ContextPath),
    responses(
        (status = 200, description = "Deleted", body = Done),
        (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden),
        (status = 404, response = error::NotFound),
    ))]
pub async fn delete(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<ContextPath>,
) -> ApiResult<Reply<Done>> {
    let context = find(&app, &caller.user, &path.name).await?;
    if !administers(&caller.user, &context) {
        return Err(ApiError::Forbidden(
            "Only the owner or an admin of the organization can delete a shared context.".into(),
        ));
    }
    app.store.delete_context(&context).await?;
    Ok(Reply::ok(Done { success: Succeeded }))
}

/// Stores a memory in the context.
#[utoipa::path(post, path = "/contexts/{name}/memories", tag = "memories",
    security(("bearer" = [])), params(ContextPath), request_body = AddMemory,
    responses(
        (status = 201, description = "The stored memory", body = OneMemory),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound),
    ))]
pub async fn add_memory(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<ContextPath>,
    JsonBody(body): JsonBody<AddMemory>,
) -> ApiResult<Reply<OneMemory>> {
    let memory = parse_memory(body)?;
    let context = find(&app, &caller.user, &path.name).await?;
    may_write(&caller.user, &context)?;
    let memory = app.store.put_memory(&context, memory).await?;
    Ok(Reply::created(OneMemory {
        success: Succeeded,
        memory: MemoryView(memory),
    }))
}

fn parse_memory(body: AddMemory) -> ApiResult<NewMemory> {
    new_memory(&body.text, body.tags.unwrap_or_default())
}

/// A memory's text and tags, parsed.
pub(crate) fn new_memory(text: &str, tags: Vec<String>) -> ApiResult<NewMemory> {
    let text = MemoryText::parse(text).map_err(|e| ApiError::invalid(e.0))?;
    let tags = Tags::parse(tags).map_err(|e| ApiError::invalid(e.0))?;
    Ok(NewMemory { text, tags })
}

/// Where the next page starts: after a memory id for plain listing, at an offset into the
/// ranked candidates for a search.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Position {
    After(MemoryId),
    Offset(usize),
}

/// A position as clients hold it: opaque, and bound by a digest to the context and query
/// it was handed out for, so that an edited cursor, or one from another query or context,
/// is refused rather than followed.
#[derive(Debug, PartialEq, Eq)]
pub struct Cursor {
    position: Position,
    binding: [u8; BINDING_BYTES],
}

const BINDING_BYTES: usize = 16;

impl Cursor {
    /// The binding of `position` to `context` and the search `query` (`None` for plain
    /// listing).
    fn binding(position: &Position, context: &Context, query: Option<&str>) -> [u8; BINDING_BYTES] {
        let mut digest = Sha256::new();
        digest.update(b"mem0 cursor v1\0");
        digest.update(context.id.as_bytes());
        digest.update(b"\0");
        match query {
            None => digest.update(b"list\0"),
            Some(query) => {
                digest.update(b"search\0");
                digest.update(query.as_bytes());
                digest.update(b"\0");
            }
        }
        digest.update(position.to_text().as_bytes());
        let mut binding = [0; BINDING_BYTES];
        binding.copy_from_slice(&digest.finalize()[..BINDING_BYTES]);
        binding
    }

    fn seal(position: Position, context: &Context, query: Option<&str>) -> String {
        let mut bytes = position.to_text().into_bytes();
        bytes.extend_from_slice(&Self::binding(&position, context, query));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a cursor's shape; `open` then checks what it is bound to.
    fn decode(raw: &str) -> ApiResult<Self> {
        let invalid = || ApiError::invalid("The cursor is not one this API handed out.");
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let split = bytes.len().checked_sub(BINDING_BYTES).ok_or_else(invalid)?;
        let (text, binding) = bytes.split_at(split);
        let text = std::str::from_utf8(text).map_err(|_| invalid())?;
        let position = match text.split_once(':') {
            Some(("after", id)) => Position::After(MemoryId::parse(id).map_err(|_| invalid())?),
            Some(("offset", offset)) => Position::Offset(offset.parse().map_err(|_| invalid())?),
            _ => return Err(invalid()),
        };
        let binding = binding.try_into().map_err(|_| invalid())?;
        Ok(Self { position, binding })
    }

    /// The position, if the cursor was handed out for this context and query.
    fn open(self, context: &Context, query: Option<&str>) -> ApiResult<Position> {
        if self.binding != Self::binding(&self.position, context, query) {
            return Err(mismatch());
        }
        Ok(self.position)
    }
}

impl Position {
    fn to_text(&self) -> String {
        match self {
            Self::After(id) => format!("after:{id}"),
            Self::Offset(offset) => format!("offset:{offset}"),
        }
    }
}

fn mismatch() -> ApiError {
    ApiError::invalid(
        "This cursor belongs to a different query or context; start again without it.",
    )
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

/// The bytes `memory` takes in a JSON answer.
fn json_bytes(memory: &Memory) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(bytes.len());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; were it to, the memory counts as too large.
    match serde_json::to_writer(&mut count, &MemoryJson::from(memory)) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// The leading memories that fit in `PAGE_BYTES` of JSON (at least one), and whether
/// any were left out.
fn within_page_bytes(memories: impl IntoIterator<Item = Memory>) -> (Vec<Memory>, bool) {
    let mut page = Vec::new();
    let mut bytes = 0usize;
    for memory in memories {
        let total = bytes.saturating_add(json_bytes(&memory));
        if total > PAGE_BYTES && !page.is_empty() {
            return (page, true);
        }
        bytes = total;
        page.push(memory);
    }
    (page, false)
}

/// `?limit=&cursor=&query=` of a memory listing, parsed.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Listing {
    /// Memories per page, 1-100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: usize,
    /// `next_cursor` of the previous page.
    #[param(value_type = Option<String>)]
    cursor: Option<Cursor>,
    /// Words to search for, best match first (at most 512 characters, 32 words).
    #[param(value_type = Option<String>, max_length = 512)]
    query: Option<Query>,
}

impl<S: Sync> FromRequestParts<S> for Listing {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        Ok(Self {
            limit: parse_limit(query_param(parts, "limit"))?,
            cursor: query_param(parts, "cursor")
                .filter(|raw| !raw.is_empty())
                .map(|raw| Cursor::decode(&raw))
                .transpose()?,
            query: query_param(parts, "query")
                .filter(|query| !query.trim().is_empty())
                .map(|query| {
                    Query::parse(&query).map_err(|error| ApiError::invalid(error.to_string()))
                })
                .transpose()?,
        })
    }
}

/// The context's memories, newest first, or best match first for a `query`.
#[utoipa::path(get, path = "/contexts/{name}/memories", tag = "memories",
    security(("bearer" = [])), params(ContextPath, Listing),
    responses(
        (status = 200, description = "A page of memories", body = MemoryPage),
        (status = 400, response = error::BadRequest),
        (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound),
    ))]
pub async fn list_memories(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<ContextPath>,
    listing: Listing,
) -> ApiResult<Reply<MemoryPage>> {
    let context = find(&app, &caller.user, &path.name).await?;
    let (memories, next) = match listing.query {
        None => list_page(&app, &context, listing.limit, listing.cursor).await?,
        Some(query) => search_page(&app, &context, query, listing.limit, listing.cursor).await?,
    };
    Ok(Reply::ok(MemoryPage {
        success: Succeeded,
        memories: memories.into_iter().map(MemoryView).collect(),
        next_cursor: next,
    }))
}

/// Newest first; the page ends early when its memories fill `PAGE_BYTES`.
pub(crate) async fn list_page(
    app: &App,
    context: &Context,
    limit: usize,
    cursor: Option<Cursor>,
) -> ApiResult<(Vec<Memory>, Option<String>)> {
    let after = match cursor
        .map(|cursor| cursor.open(context, None))
        .transpose()?
    {
        None => None,
        Some(Position::After(id)) => Some(id),
        Some(Position::Offset(_)) => return Err(mismatch()),
    };
    let page = app
        .store
        .list_memories(context, limit, after.as_ref())
        .await?;
    let (memories, cut) = within_page_bytes(page.memories);
    let next = if cut {
        memories.last().map(|memory| memory.id.clone())
    } else {
        page.next
    };
    let next = next.map(|id| Cursor::seal(Position::After(id), context, None));
    Ok((memories, next))
}

/// Best match first among the candidates; the page ends early when its memories fill
/// `PAGE_BYTES`.
pub(crate) async fn search_page(
    app: &App,
    context: &Context,
    query: Query,
    limit: usize,
    cursor: Option<Cursor>,
) -> ApiResult<(Vec<Memory>, Option<String>)> {
    let canonical = query.canonical().to_owned();
    let offset = match cursor
        .map(|cursor| cursor.open(context, Some(&canonical)))
        .transpose()?
    {
        None => 0,
        Some(Position::Offset(offset)) if offset <= SEARCH_CANDIDATES.memories => offset,
        Some(Position::Offset(_)) => {
            return Err(ApiError::invalid(
                "The cursor is not one this API handed out.",
            ));
        }
        Some(Position::After(_)) => return Err(mismatch()),
    };
    // The permit is taken before the candidates are read, and goes with the ranking onto
    // the blocking pool: it is given back when the ranking ends, even if the client has
    // gone away meanwhile.
    let permit = RANKINGS.acquire().await.map_err(|error| {
        tracing::error!(%error, "ranking semaphore closed");
        ApiError::Internal
    })?;
    let candidates = app
        .store
        .recent_memories(context, SEARCH_CANDIDATES)
        .await?;
    let ranked = tokio::task::spawn_blocking(move || {
        let ranked = search::rank(candidates, &query);
        drop(permit);
        ranked
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "ranking failed");
        ApiError::Internal
    })?;
    let total = ranked.len();
    let (memories, _) = within_page_bytes(ranked.into_iter().skip(offset).take(limit));
    let end = offset
        .checked_add(memories.len())
        .ok_or(ApiError::Internal)?;
    let next =
        (end < total).then(|| Cursor::seal(Position::Offset(end), context, Some(&canonical)));
    Ok((memories, next))
}

/// Deletes one memory.
#[utoipa::path(delete, path = "/contexts/{name}/memories/{id}", tag = "memories",
    security(("bearer" = [])), params(MemoryPath),
    responses(
        (status = 200, description = "Deleted", body = Done),
        (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound),
    ))]
pub async fn delete_memory(
    State(app): State<SharedApp>,
    caller: Authenticated,
    PathParams(path): PathParams<MemoryPath>,
) -> ApiResult<Reply<Done>> {
    let context = find(&app, &caller.user, &path.name).await?;
    may_write(&caller.user, &context)?;
    let id = MemoryId::parse(&path.id).map_err(|_| ApiError::NotFound)?;
    app.store.delete_memory(&context, &id).await?;
    Ok(Reply::ok(Done { success: Succeeded }))
}

/// The context at `address` (`name`, or `<owner_id>:<name>`) as the caller sees it; one
/// that cannot exist, or that the caller may not see, is simply not found.
pub(crate) async fn find(app: &App, caller: &User, address: &str) -> ApiResult<Context> {
    let address = ContextAddress::parse(address).map_err(|_| ApiError::NotFound)?;
    find_at(app, caller, &address).await
}

/// The context at `address` as the caller sees it, else not found.
pub(crate) async fn find_at(
    app: &App,
    caller: &User,
    address: &ContextAddress,
) -> ApiResult<Context> {
    let found = match address {
        ContextAddress::Own(name) => app.store.find_context(&caller.viewer(), name).await?,
        ContextAddress::Of(owner, name) => app.store.context_of(*owner, name).await?,
    };
    found
        .filter(|context| visible(caller, context))
        .ok_or(ApiError::NotFound)
}

/// Whether the caller may see `context`, from their membership as stored now: their own
/// private contexts; and contexts shared with the organization they belong to now
/// (their own included: one shared with an organization they left stays with it).
pub(crate) fn visible(caller: &User, context: &Context) -> bool {
    match context.visibility {
        Visibility::Private => context.owner_id == caller.id,
        Visibility::Organization => {
            context.organization_id.is_some() && context.organization_id == caller.organization_id
        }
    }
}

/// Whether the caller answers for `context`: its owner, or an admin of the organization
/// it is shared with (who may delete it and read its activity trail).
pub(crate) fn administers(caller: &User, context: &Context) -> bool {
    let admin = caller.membership().is_some_and(|membership| {
        membership.role == OrgRole::Admin
            && Some(membership.organization_id) == context.organization_id
    });
    context.owner_id == caller.id || admin
}

/// Viewers read shared contexts but do not write them; anyone writes their own private
/// ones.
pub(crate) fn may_write(caller: &User, context: &Context) -> ApiResult<()> {
    let viewer = caller
        .membership()
        .is_some_and(|membership| !membership.role.writes_shared());
    if context.visibility == Visibility::Organization && viewer {
        return Err(ApiError::Forbidden(
            "Viewers can read the organization's shared contexts but not change them.".into(),
        ));
    }
    Ok(())
}

/// The names of the owners of the shared contexts among `contexts` that others own:
/// one read of the organization's members, and one per owner who has left it since.
pub(crate) async fn owner_names(
    app: &App,
    caller: &User,
    contexts: &[Context],
) -> ApiResult<HashMap<UserId, String>> {
    let others: HashSet<UserId> = contexts
        .iter()
        .filter(|context| context.owner_id != caller.id)
        .map(|context| context.owner_id)
        .collect();
    let mut names = HashMap::new();
    let Some(organization) = caller.organization_id else {
        return Ok(names);
    };
    if others.is_empty() {
        return Ok(names);
    }
    for member in app.store.members(organization).await? {
        names.insert(member.user_id, member.name);
    }
    for owner in others {
        if !names.contains_key(&owner)
            && let Some(user) = app.store.user(owner).await?
        {
            names.insert(owner, user.name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::Viewer;

    fn context(owner: u64) -> Context {
        let viewer = Viewer {
            user_id: store::UserId(owner),
            organization_id: None,
        };
        let new = NewContext {
            name: ContextName::parse("proj").unwrap(),
            description: Description::default(),
            visibility: Visibility::Private,
        };
        Context::create(&viewer, new, OffsetDateTime::now_utc())
    }

    fn reopen(raw: &str, context: &Context, query: Option<&str>) -> ApiResult<Position> {
        Cursor::decode(raw)?.open(context, query)
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let context = context(1);
        let after = Position::After(MemoryId::generate());
        let sealed = Cursor::seal(after.clone(), &context, None);
        assert_eq!(reopen(&sealed, &context, None).unwrap(), after);
        let sealed = Cursor::seal(Position::Offset(40), &context, Some("deploy"));
        assert_eq!(
            reopen(&sealed, &context, Some("deploy")).unwrap(),
            Position::Offset(40)
        );
        for garbage in [
            "",
            "!!!",
            "bm9wZQ",
            &URL_SAFE_NO_PAD.encode("after:nope"),
            &URL_SAFE_NO_PAD.encode("offset:40"),
        ] {
            assert!(Cursor::decode(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn a_cursor_is_refused_for_another_query_context_or_kind_of_listing() {
        let (mine, other) = (context(1), context(2));
        let search = Cursor::seal(Position::Offset(20), &mine, Some("deploy"));
        assert!(reopen(&search, &mine, Some("lunch")).is_err());
        assert!(reopen(&search, &other, Some("deploy")).is_err());
        assert!(reopen(&search, &mine, None).is_err());
        let listing = Cursor::seal(Position::After(MemoryId::generate()), &mine, None);
        assert!(reopen(&listing, &other, None).is_err());
        assert!(reopen(&listing, &mine, Some("deploy")).is_err());
    }

    #[test]
    fn an_edited_offset_breaks_the_binding() {
        let context = context(1);
        let sealed = Cursor::seal(Position::Offset(20), &context, Some("deploy"));
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        // "offset:20" + binding: make it "offset:90".
        bytes[7] = b'9';
        let edited = URL_SAFE_NO_PAD.encode(&bytes);
        assert!(Cursor::decode(&edited).is_ok());
        assert!(reopen(&edited, &context, Some("deploy")).is_err());
        // A huge offset does not even parse into a position, let alone overflow.
        let mut huge = format!("offset:{}", u128::MAX).into_bytes();
        huge.extend_from_slice(&[0; BINDING_BYTES]);
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(huge)).is_err());
    }

    #[tokio::test]
    async fn a_well_bound_offset_outside_the_candidate_window_is_refused() {
        let secret = "unit-test-secret-unit-test-secret-0123456"
            .to_owned()
            .into();
        let keys = claims::TokenKeys::new(&secret, Default::default()).unwrap();
        let store = store::embedded::EmbeddedStore::in_memory().unwrap();
        let app = App::new(std::sync::Arc::new(store), keys, crate::Limits::default());
        let context = context(1);
        let page_at = async |offset: usize| {
            let sealed = Cursor::seal(Position::Offset(offset), &context, Some("deploy"));
            let cursor = Cursor::decode(&sealed).unwrap();
            let query = Query::parse("deploy").unwrap();
            search_page(&app, &context, query, DEFAULT_LIMIT, Some(cursor)).await
        };
        for offset in [SEARCH_CANDIDATES.memories + 1, usize::MAX] {
            assert!(
                matches!(page_at(offset).await, Err(ApiError::InvalidRequest(_))),
                "{offset}"
            );
        }
        let (memories, next) = page_at(SEARCH_CANDIDATES.memories).await.unwrap();
        assert!(memories.is_empty() && next.is_none());
    }

    #[test]
    fn a_page_stops_before_its_json_would_pass_the_byte_budget() {
        let big = |count: usize| -> Vec<Memory> {
            (0..count)
                .map(|_| Memory {
                    id: MemoryId::generate(),
                    text: "😀".repeat(MAX_TEXT_CHARS),
                    tags: Vec::new(),
                    created_at: OffsetDateTime::now_utc(),
                })
                .collect()
        };
        let (page, cut) = within_page_bytes(big(100));
        assert!(cut);
        let bytes: usize = page.iter().map(json_bytes).sum();
        assert!(
            bytes <= PAGE_BYTES && page.len() > 50,
            "{} memories, {bytes} bytes",
            page.len()
        );
        let (all, cut) = within_page_bytes(big(3));
        assert_eq!((all.len(), cut), (3, false));
        // JSON escapes count: 16,000 quotes are 32,000 bytes of JSON.
        let quotes = Memory {
            text: "\"".repeat(MAX_TEXT_CHARS),
            ..big(1).remove(0)
        };
        assert!(json_bytes(&quotes) > 2 * MAX_TEXT_CHARS);
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
    fn a_refused_memory_text_or_tag_is_an_invalid_request_saying_why() {
        let parse = |text: &str, tags: &[&str]| {
            parse_memory(AddMemory {
                text: text.into(),
                tags: Some(tags.iter().map(|tag| (*tag).to_owned()).collect()),
            })
        };
        let memory = parse("  note ", &[" a ", "a", "b"]).unwrap();
        assert_eq!(
            (memory.text.as_str(), memory.tags.as_slice()),
            ("note", &["a".to_owned(), "b".to_owned()][..])
        );
        for (text, tags, message) in [
            ("   ", &[][..], "The memory text must not be empty."),
            ("x", &[""][..], "Each tag must be 1-64 characters."),
        ] {
            assert!(
                matches!(parse(text, tags), Err(ApiError::InvalidRequest(m)) if m == message),
                "{text:?} {tags:?}"
            );
        }
    }
}
