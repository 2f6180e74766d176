//! local-dev's data directory holds password hashes and the token signing secret, so
//! like `~/.ssh` it is its owner's only: created 0700, and made 0700 if it is not.

use std::io;
use std::path::Path;

#[cfg(unix)]
pub fn create_private(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        // The files in it are 0600 either way; an open directory still shows who signed
        // up when, through its files' sizes and times.
        match std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700)) {
            Ok(()) => tracing::warn!(
                "the data directory {} was open to other users (mode {:o}); made it 0700",
                dir.display(),
                mode & 0o777
            ),
            Err(error) => tracing::warn!(
                "the data directory {} is open to other users (mode {:o}) and cannot be made 0700: {error}",
                dir.display(),
                mode & 0o777
            ),
        }
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn create_private(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Takes group and other access away from `file` if it has any.
#[cfg(unix)]
pub fn make_file_private(file: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode & 0o700))?;
        tracing::warn!(
            "{} was readable by other users (mode {:o}); took their access away",
            file.display(),
            mode & 0o777
        );
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn make_file_private(_file: &Path) -> io::Result<()> {
    Ok(())
}
