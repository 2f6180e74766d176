//! The saved login: one small JSON file, readable by its owner only; beside it, the
//! MCP server's record of where a configured refresh token's rotations have got to.
//!
//! They live in `$MEM0_CONFIG_DIR` if set, else the platform's config directory
//! (`$XDG_CONFIG_HOME/mem0`, usually `~/.config/mem0/credentials.json`).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use etcetera::BaseStrategy;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::api_url::ApiUrl;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub token: String,
    pub email: String,
    /// The API the token was issued by: it is only good there, and only ever sent there.
    pub api_url: ApiUrl,
    /// Rotates on every refresh; files written before sessions have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot find a config directory: set MEM0_CONFIG_DIR or HOME")]
    NoConfigDir,
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{path} is not a mem0 credentials file; delete it and run `mem0 login`")]
    Corrupt { path: PathBuf },
}

/// The newest tokens descended from a refresh token in an MCP client's configuration.
/// The configuration can't be written back, and its refresh token is spent after the
/// first rotation (presenting it again ends the session), so a restarted server picks
/// up the chain here instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Chain {
    pub token: String,
    pub refresh_token: String,
    pub api_url: ApiUrl,
}

fn dir() -> Result<PathBuf, CredentialsError> {
    match std::env::var_os("MEM0_CONFIG_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(etcetera::choose_base_strategy()
            .map_err(|_| CredentialsError::NoConfigDir)?
            .config_dir()
            .join("mem0")),
    }
}

pub fn path() -> Result<PathBuf, CredentialsError> {
    Ok(dir()?.join("credentials.json"))
}

/// The chain file of the configured refresh token `seed`, named by its SHA-256 so that
/// the name gives nothing away.
pub fn chain_path(seed: &str) -> Result<PathBuf, CredentialsError> {
    let digest = Sha256::digest(seed.as_bytes());
    let name: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(dir()?.join(format!("mcp-chain-{name}.json")))
}

pub fn load() -> Result<Option<Saved>, CredentialsError> {
    read(&path()?)
}

pub fn load_chain(path: &Path) -> Result<Option<Chain>, CredentialsError> {
    read(path)
}

pub fn save_chain(path: &Path, chain: &Chain) -> Result<(), CredentialsError> {
    write_private(path, chain)
}

fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, CredentialsError> {
    let path = path.to_owned();
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CredentialsError::Io {
                action: "read",
                path,
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|_| CredentialsError::Corrupt { path })
}

pub fn save(saved: &Saved) -> Result<PathBuf, CredentialsError> {
    let path = path()?;
    write_private(&path, saved)?;
    Ok(path)
}

/// Writes the file atomically: a new 0600 file beside it, then a rename over the old one,
/// so the token is never readable by others, not even for a moment.
fn write_private<T: Serialize>(path: &Path, value: &T) -> Result<(), CredentialsError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io_error = |action, path: &Path| {
        let path = path.to_owned();
        move |source| CredentialsError::Io {
            action,
            path,
            source,
        }
    };
    create_private_dir(dir).map_err(io_error("create", dir))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let body = serde_json::to_vec_pretty(value).unwrap_or_default();
    // A leftover from a crashed run with the same pid would block create_new.
    let _ = fs::remove_file(&temp);
    let written = (|| {
        let mut file = private_file(&temp)?;
        file.write_all(&body)?;
        file.sync_all()
    })();
    if let Err(source) = written.and_then(|()| fs::rename(&temp, path)) {
        let _ = fs::remove_file(&temp);
        return Err(io_error("write", path)(source));
    }
    Ok(())
}

/// Held while a refresh is under way, so that two mem0 processes never present the
/// same refresh token one after the other (the second would end the session). The lock
/// is the kernel's (flock), so it goes away with its process even after a crash.
pub struct RefreshLock {
    _file: fs::File,
}

/// Waits for the refresh lock of the file at `of` (a sibling file) on the blocking pool.
pub async fn lock(of: &Path) -> Result<RefreshLock, CredentialsError> {
    let path = of.with_extension("json.lock");
    let target = path.clone();
    tokio::task::spawn_blocking(move || {
        create_private_dir(target.parent().unwrap_or(Path::new(".")))?;
        let file = open_lock_file(&target)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .unwrap_or_else(|join| Err(io::Error::other(join)))
    .map(|file| RefreshLock { _file: file })
    .map_err(|source| CredentialsError::Io {
        action: "lock",
        path,
        source,
    })
}

/// Deletes the saved login; `false` if there was none.
pub fn remove() -> Result<bool, CredentialsError> {
    let path = path()?;
    match fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(CredentialsError::Io {
            action: "delete",
            path,
            source,
        }),
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(unix)]
fn open_lock_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_lock_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}
