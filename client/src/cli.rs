//! The subcommands: each reads its input, calls the API, and prints text or, with
//! `--json`, the API's reply as it came.

use std::io::{self, BufRead, IsTerminal, Read, Write};

use std::future::Future;

use crate::api::{
    ActivityEntry, Api, ApiError, App, Context, Memory, NewOrganization, NewUser, Reply,
    SessionInfo, User, UserBody,
};
use crate::api_url::ApiUrl;
use crate::auth::{Auth, AuthError};
use crate::credentials::{self, CredentialsError, Saved};
use crate::session::{Caller, NoSession, Session, Source};
use crate::{
    Activity, AppsCommand, Command, ContextCommand, OrgCommand, Password, SessionsCommand, token,
};

/// Why a command failed; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Exit 2: the command line (or its input) can't be used as given.
    #[error("{0}")]
    Usage(String),
    /// Exit 3: not logged in, token expired or refused, wrong password.
    #[error("{0}")]
    Auth(String),
    /// Exit 1: anything else (server unreachable, refused request, local file trouble).
    #[error("{0}")]
    Other(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Other(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Auth(_) => 3,
        }
    }
}

impl From<CredentialsError> for Failure {
    fn from(error: CredentialsError) -> Self {
        Failure::Other(error.to_string())
    }
}

/// An API error where no token was involved (signup, login).
impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Unauthorized { message }
            | ApiError::Api {
                status: 401,
                message,
                ..
            } => Failure::Auth(message),
            // No new login fixes the URL; it has to change.
            insecure @ ApiError::Insecure { .. } => Failure::Usage(insecure.to_string()),
            other => Failure::Other(other.to_string()),
        }
    }
}

impl From<AuthError> for Failure {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::NoSession(NoSession::Credentials(error)) => error.into(),
            AuthError::NoSession(missing) => Failure::Auth(missing.explain(Caller::Cli)),
            AuthError::Refused(message) => Failure::Auth(message),
            AuthError::Api(error) => error.into(),
        }
    }
}

struct Ctx {
    api: Api,
    auth: Auth<Api>,
    json: bool,
}

impl Ctx {
    /// `request` with the session's token, renewed when due or refused (see `Auth`).
    async fn send<T, F, Fut>(&self, request: F) -> Result<(Session, T), Failure>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        Ok(self.auth.send(request).await?)
    }

    /// A message of the client's own; with `--json` in the API's `{success, message}` shape.
    fn say(&self, message: &str) {
        if self.json {
            println!(
                "{}",
                serde_json::json!({"success": true, "message": message})
            );
        } else {
            println!("{message}");
        }
    }

    /// `--json`: the reply as the API sent it, one line. Otherwise the text.
    fn print<T>(&self, reply: &Reply<T>, text: impl FnOnce(&T) -> String) {
        let out = if self.json {
            reply.raw.to_string()
        } else {
            text(&reply.data)
        };
        let mut stdout = io::stdout().lock();
        // A closed pipe (e.g. `| head`) is not worth an error.
        let _ = writeln!(stdout, "{}", out.trim_end());
    }
}

pub async fn run(command: Command, api: Api, json: bool) -> Result<(), Failure> {
    let auth = Auth::new(Caller::Cli, api.url().clone(), api.clone());
    let ctx = Ctx { api, auth, json };
    let api = &ctx.api;
    match command {
        Command::Signup(args) => {
            let password = read_password(&args.password, true)?;
            let user = NewUser {
                email: &args.email,
                password: &password,
                name: &args.name,
            };
            let organization = args.organization.as_deref().map(|name| NewOrganization {
                name,
                domain: args.domain.as_deref(),
                size: args.size.as_deref(),
                industry: args.industry.as_deref(),
            });
            let reply = ctx.api.signup(user, organization).await?;
            let path = save_login(&ctx, &reply.data)?;
            ctx.print(&reply, |body| {
                format!(
                    "Signed up and logged in as {} ({}).\nToken saved to {}.",
                    body.user.email,
                    body.user.account_type,
                    path.display()
                )
            });
        }
        Command::Login(args) => {
            let password = read_password(&args.password, false)?;
            let reply = ctx.api.login(&args.email, &password).await?;
            let path = save_login(&ctx, &reply.data)?;
            ctx.print(&reply, |body| {
                let expiry = match (
                    body.user.jwt_token.as_deref().and_then(token::expiry),
                    &body.refresh_token,
                ) {
                    (Some(_), Some(_)) => " It renews itself before it expires.".to_owned(),
                    (Some(exp), None) => format!(" It expires at {}.", token::rfc3339(exp)),
                    (None, _) => String::new(),
                };
                format!(
                    "Logged in as {}. Token saved to {}.{expiry}",
                    body.user.email,
                    path.display()
                )
            });
        }
        Command::Logout(args) => logout(&ctx, args.all).await?,
        Command::Sessions { command: None } => {
            let (_, reply) = ctx
                .send(|token| async move { api.sessions(&token).await })
                .await?;
            ctx.print(&reply, |body| session_table(&body.sessions));
        }
        Command::Sessions {
            command: Some(SessionsCommand::Revoke { id }),
        } => {
            let id = &id;
            let (_, reply) = ctx
                .send(|token| async move { api.end_session(&token, id).await })
                .await?;
            ctx.print(&reply, |_| {
                format!("Ended session {id}: its tokens no longer work.")
            });
        }
        Command::Apps { command: None } => {
            let (_, reply) = ctx
                .send(|token| async move { api.apps(&token).await })
                .await?;
            ctx.print(&reply, |body| app_table(&body.grants));
        }
        Command::Apps {
            command: Some(AppsCommand::Revoke { id }),
        } => {
            let id = &id;
            let (_, reply) = ctx
                .send(|token| async move { api.revoke_app(&token, id).await })
                .await?;
            ctx.print(&reply, |_| {
                format!("Revoked app {id}: its tokens no longer work.")
            });
        }
        Command::Activity(args) => activity(&ctx, args).await?,
        Command::Whoami => {
            let (session, mut reply) = ctx
                .send(|token| async move { api.me(&token).await })
                .await?;
            let expires_at = token::expiry(&session.token);
            reply.raw["token"] = serde_json::json!({
                "source": session.describe_source(),
                "expires_at": expires_at.map(token::rfc3339),
            });
            ctx.print(&reply, |body| {
                describe_user(&body.user, &session, expires_at, ctx.api.url())
            });
        }
        Command::Contexts => {
            let (_, reply) = ctx
                .send(|token| async move { api.contexts(&token).await })
                .await?;
            ctx.print(&reply, |body| context_table(&body.contexts));
        }
        Command::Context(ContextCommand::Create {
            name,
            description,
            visibility,
        }) => {
            let (name_ref, description) = (&name, description.as_deref());
            let visibility = visibility.map(|v| v.as_str());
            let (_, reply) = ctx
                .send(|token| async move {
                    api.create_context(&token, name_ref, description, visibility)
                        .await
                })
                .await?;
            ctx.print(&reply, |body| {
                format!(
                    "Created context {} ({}).",
                    body.context.name, body.context.visibility
                )
            });
        }
        Command::Context(ContextCommand::Delete { name }) => {
            let name_ref = &name;
            let (_, reply) = ctx
                .send(|token| async move { api.delete_context(&token, name_ref).await })
                .await?;
            ctx.print(&reply, |_| {
                format!("Deleted context {name} and its memories.")
            });
        }
        Command::Remember(args) => {
            let text = memory_text(args.text)?;
            let (context, text, tags) = (&args.context, &text, &args.tags);
            let (_, reply) = ctx
                .send(|token| async move { api.remember(&token, context, text, tags).await })
                .await?;
            ctx.print(&reply, |body| {
                format!("Remembered in {} (id {}).", args.context, body.memory.id)
            });
        }
        Command::Recall(args) => {
            let (context, query, limit) = (&args.context, args.query.as_deref(), args.limit);
            let (_, reply) = ctx
                .send(|token| async move { api.recall(&token, context, query, limit).await })
                .await?;
            ctx.print(&reply, |page| {
                let mut text = memory_list(&page.memories);
                if page.next_cursor.is_some() {
                    text.push_str("\n(more memories: raise --limit, up to 100)");
                }
                text
            });
        }
        Command::Forget(args) => {
            let (context, id) = (&args.context, &args.id);
            let (_, reply) = ctx
                .send(|token| async move { api.forget(&token, context, id).await })
                .await?;
            ctx.print(&reply, |_| {
                format!("Forgot memory {} in {}.", args.id, args.context)
            });
        }
        Command::Org(command) => org(&ctx, command).await?,
        Command::Mcp => crate::mcp::serve(ctx.api.clone()).await?,
    }
    Ok(())
}

/// `mem0 activity`: one page of a context's or an app's trail.
async fn activity(ctx: &Ctx, args: Activity) -> Result<(), Failure> {
    let (api, limit) = (&ctx.api, args.limit);
    let reply = match (&args.of.context, &args.of.app) {
        (Some(context), _) => {
            ctx.send(|token| async move { api.context_activity(&token, context, limit).await })
                .await?
                .1
        }
        (None, Some(id)) => {
            ctx.send(|token| async move { api.app_activity(&token, id, limit).await })
                .await?
                .1
        }
        (None, None) => {
            return Err(Failure::Usage(
                "say whose activity: --context NAME or --app ID".to_owned(),
            ));
        }
    };
    ctx.print(&reply, |page| {
        let mut text = activity_table(&page.activity);
        if page.next.is_some() {
            text.push_str("\n(older entries: raise --limit, up to 100)");
        }
        text
    });
    Ok(())
}

/// `mem0 org ...`: the caller's organization is the one the server says they are in now.
async fn org(ctx: &Ctx, command: OrgCommand) -> Result<(), Failure> {
    use reqwest::Method;
    use serde_json::{Value, json};
    let api = &ctx.api;
    let (_, me) = ctx
        .send(|token| async move { api.me(&token).await })
        .await?;
    let Some(org) = me.data.user.organization_id else {
        return Err(Failure::Other(
            "You belong to no organization. Accept an invitation (the link in its mail) to join one."
                .to_owned(),
        ));
    };
    let user_id = me.raw["user"]["user_id"].as_u64().unwrap_or_default();
    let base = format!("/orgs/{org}");
    let (method, path, body) = match &command {
        OrgCommand::Show => (Method::GET, base.clone(), None),
        OrgCommand::Members => (Method::GET, format!("{base}/members"), None),
        OrgCommand::Invite { email, role } => (
            Method::POST,
            format!("{base}/invitations"),
            Some(json!({"email": email, "role": role.as_str()})),
        ),
        OrgCommand::Invitations => (Method::GET, format!("{base}/invitations"), None),
        OrgCommand::Revoke { id } => {
            let id: String = id.chars().filter(char::is_ascii_alphanumeric).collect();
            (Method::DELETE, format!("{base}/invitations/{id}"), None)
        }
        OrgCommand::Role { user_id, role } => (
            Method::PATCH,
            format!("{base}/members/{user_id}"),
            Some(json!({"role": role.as_str()})),
        ),
        OrgCommand::Remove { user_id } => {
            (Method::DELETE, format!("{base}/members/{user_id}"), None)
        }
        OrgCommand::Leave => (Method::DELETE, format!("{base}/members/{user_id}"), None),
    };
    let (method, path, body) = (&method, &path, &body);
    let (_, reply) = ctx
        .send(|token| async move { api.call(method.clone(), path, &token, body.clone()).await })
        .await?;
    let text = |body: &Value| -> String {
        let s = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        match &command {
            OrgCommand::Show => format!(
                "{} (organization {org}); your role: {}",
                s(&body["organization"]["name"]),
                s(&body["role"])
            ),
            OrgCommand::Members => {
                let mut out = format!("{:>8}  {:7}  {:30}  NAME\n", "USER_ID", "ROLE", "EMAIL");
                for member in body["members"].as_array().into_iter().flatten() {
                    out.push_str(&format!(
                        "{:>8}  {:7}  {:30}  {}\n",
                        member["user_id"],
                        s(&member["role"]),
                        s(&member["email"]),
                        one_line(&s(&member["name"]))
                    ));
                }
                out
            }
            OrgCommand::Invite { email, role } => format!(
                "Invited {email} as {} (invitation {}); the link was mailed and works until {}.",
                role.as_str(),
                s(&body["invitation"]["invitation_id"]),
                s(&body["invitation"]["expires_at"])
            ),
            OrgCommand::Invitations => {
                let list = body["invitations"].as_array().cloned().unwrap_or_default();
                if list.is_empty() {
                    return "No pending invitations.".to_owned();
                }
                let mut out = format!("{:26}  {:7}  {:30}  EXPIRES\n", "ID", "ROLE", "EMAIL");
                for invitation in list {
                    out.push_str(&format!(
                        "{:26}  {:7}  {:30}  {}\n",
                        s(&invitation["invitation_id"]),
                        s(&invitation["role"]),
                        s(&invitation["email"]),
                        s(&invitation["expires_at"])
                    ));
                }
                out
            }
            OrgCommand::Revoke { id } => format!("Revoked invitation {id}."),
            OrgCommand::Role { user_id, role } => {
                format!("User {user_id} is now {}.", role.as_str())
            }
            OrgCommand::Remove { user_id } => {
                format!("Removed user {user_id} from the organization.")
            }
            OrgCommand::Leave => {
                "You left the organization; your private contexts stay yours.".to_owned()
            }
        }
    };
    ctx.print(&reply, text);
    Ok(())
}

fn save_login(ctx: &Ctx, body: &UserBody) -> Result<std::path::PathBuf, Failure> {
    let token = body
        .user
        .jwt_token
        .clone()
        .ok_or_else(|| Failure::Other("the server's reply has no token".to_owned()))?;
    Ok(credentials::save(&Saved {
        token,
        email: body.user.email.clone(),
        api_url: ctx.api.url().clone(),
        refresh_token: body.refresh_token.clone(),
    })?)
}

/// Ends the saved login's session (or, with none saved, MEM0_USER_TOKEN's) on the
/// server, or with `all` every session, and deletes the saved file even if the server
/// can't be reached.
async fn logout(ctx: &Ctx, all: bool) -> Result<(), Failure> {
    let saved = credentials::load()?;
    let env_var = Caller::Cli.token_vars()[0];
    let (api, source) = match (saved, Session::from_env(Caller::Cli)) {
        // A saved token is revoked where it was issued, whatever MEM0_API_URL says now:
        // it is never sent anywhere else.
        (Some(saved), _) => {
            let api = Api::new(&saved.api_url)
                .map_err(|error| Failure::Other(format!("cannot set up HTTP: {error}")))?;
            (api, Source::Saved)
        }
        (None, Some(session)) => (ctx.api.clone(), session.source),
        (None, None) => {
            ctx.say("Not logged in; nothing to do.");
            return Ok(());
        }
    };
    // Through `Auth`, so an expired access token is renewed first: the session it
    // belongs to may well be alive, and that is what is being ended.
    let auth = match source {
        Source::Saved => Auth::saved(Caller::Cli, api.url().clone(), api.clone()),
        Source::Env(_) => Auth::new(Caller::Cli, api.url().clone(), api.clone()),
    };
    let api = &api;
    let revoked = auth
        .send(|token| async move { api.logout(&token, all).await })
        .await;
    // Whatever the server said, this machine forgets the login.
    if source == Source::Saved {
        credentials::remove()?;
    }
    let note = match source {
        Source::Saved if std::env::var_os(env_var).is_some() => {
            format!(" {env_var} is still set in this shell.")
        }
        Source::Env(var) => format!(" Unset {var} in this shell."),
        Source::Saved => String::new(),
    };
    let done = if all {
        "Logged out everywhere: every session of yours has ended."
    } else {
        "Logged out: this session has ended and its tokens no longer work."
    };
    match revoked {
        Ok((_, reply)) => {
            ctx.print(&reply, |_| format!("{done}{note}"));
            Ok(())
        }
        // Expired, revoked or ended already: nothing left to end here.
        Err(AuthError::Refused(_)) => {
            ctx.say(&format!(
                "Logged out (the token was already expired or revoked).{note}"
            ));
            Ok(())
        }
        Err(AuthError::NoSession(error)) => Err(Failure::from(AuthError::NoSession(error))),
        Err(AuthError::Api(error)) => Err(Failure::Other(format!(
            "{}the session could not be ended on the server: {error}",
            if source == Source::Saved {
                "Deleted the saved login, but "
            } else {
                ""
            }
        ))),
    }
}

fn read_password(args: &Password, confirm: bool) -> Result<String, Failure> {
    let password = if args.password_stdin {
        let mut line = String::new();
        io::stdin().lock().read_line(&mut line).map_err(|error| {
            Failure::Other(format!("cannot read the password from stdin: {error}"))
        })?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else if io::stdin().is_terminal() {
        let ask = |prompt: &str| {
            rpassword::prompt_password(prompt)
                .map_err(|error| Failure::Other(format!("cannot read the password: {error}")))
        };
        let password = ask("Password: ")?;
        if confirm && ask("Password again: ")? != password {
            return Err(Failure::Usage("the two passwords differ".to_owned()));
        }
        password
    } else {
        return Err(Failure::Usage(
            "stdin is not a terminal, so the password can't be asked for: pipe it in with --password-stdin"
                .to_owned(),
        ));
    };
    if password.is_empty() {
        return Err(Failure::Usage("the password is empty".to_owned()));
    }
    Ok(password)
}

fn memory_text(words: Vec<String>) -> Result<String, Failure> {
    let text = if words.is_empty() {
        let mut stdin = io::stdin();
        if stdin.is_terminal() {
            return Err(Failure::Usage(
                "give the memory's text as arguments, or pipe it in on stdin".to_owned(),
            ));
        }
        let mut text = String::new();
        stdin
            .read_to_string(&mut text)
            .map_err(|error| Failure::Other(format!("cannot read stdin: {error}")))?;
        text
    } else {
        words.join(" ")
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(Failure::Usage("the memory's text is empty".to_owned()));
    }
    Ok(text.to_owned())
}

fn describe_user(user: &User, session: &Session, expires_at: Option<i64>, url: &ApiUrl) -> String {
    let mut lines = vec![
        format!("{} <{}>", user.name, user.email),
        format!("account: {} (role {})", user.account_type, user.role),
    ];
    if let Some(organization) = user.organization_id {
        lines.push(format!("organization: {organization}"));
    }
    lines.push(match expires_at {
        Some(exp) => format!(
            "token: expires {} ({})",
            token::rfc3339(exp),
            token::relative(exp)
        ),
        None => "token: expiry unknown".to_owned(),
    });
    if session.refresh.is_some() {
        lines.push("token renewal: automatic (refresh token saved)".to_owned());
    }
    lines.push(format!("token from: {}", session.describe_source()));
    lines.push(format!("server: {url}"));
    lines.join("\n")
}

fn session_table(sessions: &[SessionInfo]) -> String {
    if sessions.is_empty() {
        return "No sessions.".to_owned();
    }
    let width = sessions
        .iter()
        .map(|s| s.session_id.chars().count())
        .max()
        .unwrap_or(0)
        .max(2);
    let mut out = format!(
        "  {:width$}  {:20}  {:20}  WHERE\n",
        "ID", "CREATED", "LAST USED"
    );
    for s in sessions {
        let place = [s.user_agent.as_deref(), s.address.as_deref()]
            .into_iter()
            .flatten()
            .map(one_line)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" from ");
        out.push_str(&format!(
            "{} {:width$}  {:20}  {:20}  {}\n",
            if s.current { "*" } else { " " },
            s.session_id,
            token::short_time(&s.created_at),
            s.last_used_at
                .as_deref()
                .map(token::short_time)
                .unwrap_or_default(),
            if place.is_empty() {
                "unknown".to_owned()
            } else {
                place
            },
        ));
    }
    out.push_str(
        "* this session. End one with `mem0 sessions revoke ID`, all with `mem0 logout --all`.",
    );
    out
}

fn app_table(apps: &[App]) -> String {
    if apps.is_empty() {
        return "No connected apps.".to_owned();
    }
    let width = apps
        .iter()
        .map(|app| app.grant_id.chars().count())
        .max()
        .unwrap_or(0)
        .max(2);
    let mut out = format!(
        "{:width$}  {:24}  {:30}  {:24}  {:20}  LAST USED\n",
        "ID", "APP", "SCOPES", "CONTEXTS", "CREATED"
    );
    for app in apps {
        let contexts = match &app.contexts {
            serde_json::Value::Array(list) => list
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            serde_json::Value::String(all) => all.clone(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{:width$}  {:24}  {:30}  {:24}  {:20}  {}\n",
            app.grant_id,
            one_line(&app.client_name),
            app.scopes.join(" "),
            contexts,
            token::short_time(&app.created_at),
            app.last_used_at
                .as_deref()
                .map(token::short_time)
                .unwrap_or_default(),
        ));
    }
    out.push_str(
        "Revoke one with `mem0 apps revoke ID`; see what it did with `mem0 activity --app ID`.",
    );
    out
}

fn activity_table(entries: &[ActivityEntry]) -> String {
    if entries.is_empty() {
        return "No activity.".to_owned();
    }
    let mut out = format!(
        "{:20}  {:24}  {:36}  {:24}  {:>5}  APP ID\n",
        "WHEN", "APP", "ACTION", "CONTEXT", "COUNT"
    );
    for entry in entries {
        out.push_str(&format!(
            "{:20}  {:24}  {:36}  {:24}  {:>5}  {}\n",
            token::short_time(&entry.at),
            one_line(&entry.client_name),
            one_line(&entry.action),
            entry.context.as_deref().unwrap_or("-"),
            entry.count,
            entry.grant_id,
        ));
    }
    out
}

fn context_table(contexts: &[Context]) -> String {
    if contexts.is_empty() {
        return "No contexts yet. Create one with `mem0 context create NAME`.".to_owned();
    }
    // What `--context` takes: the name for one's own, OWNER_ID:NAME for another's.
    let address = |c: &Context| {
        c.href
            .as_deref()
            .and_then(|href| href.strip_prefix("/contexts/"))
            .map_or_else(|| c.name.clone(), str::to_owned)
    };
    let width = contexts
        .iter()
        .map(|c| address(c).chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!(
        "{:width$}  {:12}  {:>8}  DESCRIPTION\n",
        "NAME", "VISIBILITY", "MEMORIES"
    );
    for c in contexts {
        let owner = c
            .owner
            .as_ref()
            .map(|owner| format!(" (shared by {})", one_line(&owner.name)))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:width$}  {:12}  {:>8}  {}{owner}\n",
            address(c),
            c.visibility,
            c.memory_count,
            one_line(c.description.as_deref().unwrap_or(""))
        ));
    }
    out
}

fn memory_list(memories: &[Memory]) -> String {
    if memories.is_empty() {
        return "No memories found.".to_owned();
    }
    let mut out = String::new();
    for memory in memories {
        let tags = if memory.tags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", memory.tags.join(", "))
        };
        out.push_str(&format!(
            "{}  {}{tags}\n",
            memory.id,
            token::short_time(&memory.created_at)
        ));
        for line in memory.text.lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
