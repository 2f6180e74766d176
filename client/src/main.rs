//! `mem0`: the command line and MCP server for mem0, a client of the public HTTP API only.
//!
//! Exit codes: 0 ok, 1 error, 2 usage, 3 authentication (not logged in, expired or
//! refused token, wrong password).

mod api;
mod api_url;
mod auth;
mod cli;
mod credentials;
mod mcp;
mod session;
mod token;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use api_url::ApiUrl;
use domain::{ContextAddress, ContextName};

#[derive(Debug, Parser)]
#[command(
    name = "mem0",
    version,
    about = "Keep memories in named contexts and recall them; also an MCP server (`mem0 mcp`).",
    after_help = "Token: MEM0_USER_TOKEN, else the saved login (`mem0 login`), which renews itself \
                  before it expires. A saved token is only sent to the server that issued it, \
                  and no token goes over plain http:// to another machine.\n\
                  Exit codes: 0 ok, 1 error, 2 usage, 3 not logged in / token expired or refused."
)]
pub struct Cli {
    /// The mem0 API [default: the saved login's server, else http://127.0.0.1:8000]
    #[arg(long, global = true, env = "MEM0_API_URL", value_parser = ApiUrl::parse)]
    pub api_url: Option<ApiUrl>,
    /// Print the API's JSON reply instead of text (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account (individual, or organization with --organization) and log in.
    Signup(Signup),
    /// Log in and save the token for later commands.
    Login(Login),
    /// End this session on the server (or with --all every session) and delete the saved login.
    Logout(Logout),
    /// List your sessions (where and when each logged in), or end one.
    Sessions {
        #[command(subcommand)]
        command: Option<SessionsCommand>,
    },
    /// List the apps (agents) you connected over OAuth, or revoke one.
    Apps {
        #[command(subcommand)]
        command: Option<AppsCommand>,
    },
    /// What connected apps did: a context's trail (--context) or one app's (--app), newest first.
    Activity(Activity),
    /// Show who the token belongs to and when it expires.
    Whoami,
    /// List your contexts and those shared with your organization.
    Contexts,
    /// Create or delete a context.
    #[command(subcommand)]
    Context(ContextCommand),
    /// Store a memory in a context (the text from the arguments, else from stdin).
    Remember(Remember),
    /// List memories of a context, newest first, or best match first with --query.
    Recall(Recall),
    /// Delete one memory by its id.
    Forget(Forget),
    /// Your organization: its members, roles and invitations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Serve the MCP tools over stdio (token from MEM0_JWT_TOKEN [+ MEM0_REFRESH_TOKEN], MEM0_USER_TOKEN or the saved login).
    Mcp,
}

#[derive(Debug, Args)]
pub struct Logout {
    /// End every session of yours, on every device (the CLI, MCP servers, browsers).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// End one session by its id, as `mem0 sessions` shows it.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// Revoke a connected app by its id, as `mem0 apps` shows it: its tokens stop working at once.
    Revoke { id: String },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ActivityOf {
    /// A context: NAME (yours), or OWNER_ID:NAME (one shared with your organization; admins).
    #[arg(long, value_parser = parse_address)]
    pub context: Option<ContextAddress>,
    /// A connected app's id, as `mem0 apps` shows it.
    #[arg(long)]
    pub app: Option<String>,
}

#[derive(Debug, Args)]
pub struct Activity {
    #[command(flatten)]
    pub of: ActivityOf,
    /// How many entries, 1-100 (the server's default is 20).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: Option<u32>,
}

#[derive(Debug, Args)]
pub struct Password {
    /// Read the password from the first line of stdin instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct Signup {
    #[arg(long)]
    pub email: String,
    /// Your name.
    #[arg(long)]
    pub name: String,
    /// Sign up an organization with this name; you become its admin.
    #[arg(long)]
    pub organization: Option<String>,
    #[arg(long, requires = "organization")]
    pub domain: Option<String>,
    #[arg(long, requires = "organization")]
    pub size: Option<String>,
    #[arg(long, requires = "organization")]
    pub industry: Option<String>,
    #[command(flatten)]
    pub password: Password,
}

#[derive(Debug, Args)]
pub struct Login {
    #[arg(long)]
    pub email: String,
    #[command(flatten)]
    pub password: Password,
}

#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// Create a context.
    Create {
        #[arg(value_parser = parse_context)]
        name: ContextName,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, value_enum)]
        visibility: Option<Visibility>,
    },
    /// Delete a context and all its memories (NAME, or OWNER_ID:NAME for a shared one).
    Delete {
        #[arg(value_parser = parse_address)]
        name: ContextAddress,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Your organization and your role in it.
    Show,
    /// Its members with their roles.
    Members,
    /// Invite an email with a role (admins); the link is mailed.
    Invite {
        email: String,
        #[arg(long, value_enum)]
        role: OrgRole,
    },
    /// Pending invitations (admins).
    Invitations,
    /// Revoke a pending invitation by its id (admins).
    Revoke { id: String },
    /// Give a member a role (admins).
    Role {
        user_id: u64,
        #[arg(value_enum)]
        role: OrgRole,
    },
    /// Remove a member (admins); they keep their account and private contexts.
    Remove { user_id: u64 },
    /// Leave the organization; you keep your account and private contexts.
    Leave,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OrgRole {
    Admin,
    Member,
    Viewer,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Admin => "admin",
            OrgRole::Member => "member",
            OrgRole::Viewer => "viewer",
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Visibility {
    Private,
    Organization,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Organization => "organization",
        }
    }
}

#[derive(Debug, Args)]
pub struct Remember {
    /// The context: NAME (yours), or OWNER_ID:NAME (one shared with your organization,
    /// as `mem0 contexts` lists it).
    #[arg(long, value_parser = parse_address)]
    pub context: ContextAddress,
    /// A tag (repeat for more).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// The memory; words are joined with spaces. Omit it to read the text from stdin.
    pub text: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Recall {
    /// The context: NAME (yours), or OWNER_ID:NAME (one shared with your organization,
    /// as `mem0 contexts` lists it).
    #[arg(long, value_parser = parse_address)]
    pub context: ContextAddress,
    /// Words to look for; best match first.
    #[arg(long)]
    pub query: Option<String>,
    /// How many memories, 1-100 (the server's default is 20).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: Option<u32>,
}

#[derive(Debug, Args)]
pub struct Forget {
    /// The context: NAME (yours), or OWNER_ID:NAME (one shared with your organization,
    /// as `mem0 contexts` lists it).
    #[arg(long, value_parser = parse_address)]
    pub context: ContextAddress,
    /// The memory's id, as `mem0 recall` shows it.
    pub id: String,
}

fn parse_context(raw: &str) -> Result<ContextName, String> {
    ContextName::parse(raw).map_err(|error| error.0)
}

fn parse_address(raw: &str) -> Result<ContextAddress, String> {
    ContextAddress::parse(raw).map_err(|error| error.0)
}

/// A saved token only works on the server that issued it, so that server is the default.
fn saved_or_default_url() -> ApiUrl {
    credentials::load()
        .ok()
        .flatten()
        .map(|saved| saved.api_url)
        .or_else(|| ApiUrl::parse(api::DEFAULT_URL).ok())
        .expect("the default URL parses")
}

fn main() -> ExitCode {
    // Usage errors exit 2 and --help/--version 0, as clap does.
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mem0: error: cannot start: {error}");
            return ExitCode::from(1);
        }
    };
    let api_url = cli.api_url.unwrap_or_else(saved_or_default_url);
    let api = match api::Api::new(&api_url) {
        Ok(api) => api,
        Err(error) => {
            eprintln!("mem0: error: cannot set up HTTP: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cli::run(cli.command, api, cli.json)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("mem0: error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}
