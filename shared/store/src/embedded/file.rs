//! The database file is for its owner only: it holds password hashes.

use std::path::Path;

/// Creates a missing parent directory 0700 and the file 0600, and takes group and
/// other access off the file and its `-wal` and `-shm` companions (SQLite creates
/// those with the main file's mode).
#[cfg(unix)]
pub(super) fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    // Created here because SQLite would create it 0644.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    // Files from a build before this rule, or companions a crash left behind.
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let mode = match std::fs::metadata(&file) {
            Ok(metadata) => metadata.permissions().mode(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
pub(super) fn make_private(path: &Path) -> std::io::Result<()> {
    match path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        Some(parent) => std::fs::create_dir_all(parent),
        None => Ok(()),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::embedded::EmbeddedStore;
    use crate::{Email, NewUser, Store};

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    }

    #[tokio::test]
    async fn a_new_database_and_its_wal_files_are_readable_by_their_owner_only() {
        let directory = std::env::temp_dir().join(format!("store-{}", ulid::Ulid::new()));
        let path = directory.join("nested").join("mem0.sqlite3");
        let store = EmbeddedStore::open(&path).expect("open a new file");
        let user = NewUser {
            email: Email::parse("private@example.com").expect("valid email"),
            name: crate::DisplayName::parse("Private", "name").expect("valid name"),
            password_hash: "hash".to_owned(),
        };
        store.create_user(user, None).await.expect("create");
        assert_eq!(mode(&directory.join("nested")), 0o700, "the new directory");
        for name in ["mem0.sqlite3", "mem0.sqlite3-wal", "mem0.sqlite3-shm"] {
            assert_eq!(mode(&directory.join("nested").join(name)), 0o600, "{name}");
        }
        drop(store);
        std::fs::remove_dir_all(&directory).expect("clean up");
    }

    #[test]
    fn opening_a_world_readable_database_makes_it_private() {
        use std::os::unix::fs::PermissionsExt;
        let directory = std::env::temp_dir().join(format!("store-{}", ulid::Ulid::new()));
        let path = directory.join("mem0.sqlite3");
        drop(EmbeddedStore::open(&path).expect("create"));
        // As an earlier build left them, companions included (a crash keeps those).
        let wal = directory.join("mem0.sqlite3-wal");
        std::fs::write(&wal, b"").expect("stale wal");
        for file in [&path, &wal] {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let store = EmbeddedStore::open(&path).expect("reopen");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&wal), 0o600);
        drop(store);
        std::fs::remove_dir_all(&directory).expect("clean up");
    }
}
