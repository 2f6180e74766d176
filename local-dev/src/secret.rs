//! local-dev's token signing keys: a key set (see `claims::keyset`) in
//! `<data dir>/signing-keys.json`, generated on first start so tokens survive restarts,
//! readable by its owner only (anyone who can read it can forge tokens) and only ever
//! replaced whole (temporary file + rename), so a crash leaves the old set or the new
//! one, never half of either. `MEM0_JWT_SECRET` (a bare key or a JSON key set)
//! overrides it and leaves the data directory alone.
//!
//! Migration: a data directory of an older build holds one bare secret in `jwt-secret`.
//! On first start the secret, trimmed as those builds trimmed it, becomes the key
//! `legacy` of a new `signing-keys.json`, so every token it signed stays valid (they
//! carry no `kid`, and kid-less tokens are verified with `legacy`); then `jwt-secret` is
//! deleted, so no copy of the key outlives its retirement.

use std::io::Write;
use std::path::{Path, PathBuf};

use claims::KeySet;
use secrecy::ExposeSecret;

pub const KEYS_FILE: &str = "signing-keys.json";
const LEGACY_FILE: &str = "jwt-secret";

pub type Error = Box<dyn std::error::Error>;

/// The keys the server signs and verifies with: `MEM0_JWT_SECRET` if set, else the
/// data directory's, created or migrated if need be.
pub fn load_or_create(data_dir: &Path) -> Result<KeySet, Error> {
    if let Ok(secret) = std::env::var(api::config::vars::JWT_SECRET) {
        return Ok(KeySet::parse(&secret)?);
    }
    from_data_dir(data_dir)
}

/// The data directory's key set, created or migrated if need be.
pub fn from_data_dir(data_dir: &Path) -> Result<KeySet, Error> {
    if let Some(set) = read(data_dir)? {
        remove_legacy(data_dir)?;
        return Ok(set);
    }
    let legacy = data_dir.join(LEGACY_FILE);
    let set = match std::fs::read_to_string(&legacy) {
        Ok(secret) => {
            let set = KeySet::legacy(secret.trim().as_bytes(), claims::unix_now())
                .map_err(|error| format!("{}: {error}", legacy.display()))?;
            write(data_dir, &set)?;
            remove_legacy(data_dir)?;
            tracing::info!(
                "moved the signing secret of {} into {} as the key \"{}\"",
                legacy.display(),
                keys_path(data_dir).display(),
                claims::LEGACY_KID
            );
            set
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let set = KeySet::generate(claims::unix_now());
            write(data_dir, &set)?;
            set
        }
        Err(error) => return Err(format!("cannot read {}: {error}", legacy.display()).into()),
    };
    Ok(set)
}

fn keys_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYS_FILE)
}

/// The data directory's key set, if it has one.
fn read(data_dir: &Path) -> Result<Option<KeySet>, Error> {
    let path = keys_path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display()).into()),
    };
    crate::data_dir::make_file_private(&path)?;
    let set = KeySet::parse(&text).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(Some(set))
}

/// Replaces the data directory's key set with `set`, atomically, 0600.
pub fn write(data_dir: &Path, set: &KeySet) -> Result<(), Error> {
    let path = keys_path(data_dir);
    let failed = |error: std::io::Error| format!("cannot write {}: {error}", path.display());
    // tempfile creates it 0600 from the start, so the keys are never readable by others.
    let mut file = tempfile::NamedTempFile::new_in(data_dir).map_err(failed)?;
    file.write_all(set.to_json().expose_secret().as_bytes())
        .map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.persist(&path).map_err(|error| failed(error.error))?;
    sync_dir(data_dir).map_err(failed)?;
    Ok(())
}

fn remove_legacy(data_dir: &Path) -> Result<(), Error> {
    let legacy = data_dir.join(LEGACY_FILE);
    match std::fs::remove_file(&legacy) {
        Ok(()) => Ok(sync_dir(data_dir)?),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(format!("cannot remove {}: {error}", legacy.display()).into()),
    }
}

/// Makes a rename or removal in `dir` survive a power cut.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}
