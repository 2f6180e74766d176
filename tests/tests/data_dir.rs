//! local-dev's data directory as other users on the machine see it: the SQLite file
//! (password hashes), its `-wal` and `-shm`, and the token signing keys are the
//! owner's only, also when an older build left them open.
#![cfg(unix)]

// Shared with e2e.rs, which uses the parts these tests leave out.
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::json;
use support::{PASSWORD, unique_email};

/// local-dev with its own generated secret (the shared `Server` sets MEM0_JWT_SECRET).
struct LocalDev {
    url: String,
    child: Child,
}

impl LocalDev {
    fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(support::cargo_build("local-dev"))
            .args(["--port", "0", "--store", "embedded", "--data-dir"])
            .arg(data_dir)
            .env_remove("MEM0_JWT_SECRET")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("local-dev starts");
        let url = support::listening_url(&mut child);
        Self { url, child }
    }

    async fn sign_up(&self) {
        let status = reqwest::Client::new()
            .post(format!("{}/auth/signup/individual", self.url))
            .json(&json!({"email": unique_email(), "password": PASSWORD, "name": "Private"}))
            .send()
            .await
            .expect("local-dev answers")
            .status();
        assert_eq!(status, reqwest::StatusCode::CREATED);
    }
}

impl Drop for LocalDev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o777
}

/// Every file in `dir` with its mode.
fn modes(dir: &Path) -> BTreeMap<String, u32> {
    std::fs::read_dir(dir)
        .expect("readable")
        .map(|entry| {
            let entry = entry.expect("entry");
            (
                entry.file_name().to_string_lossy().into_owned(),
                mode(&entry.path()),
            )
        })
        .collect()
}

const FILES: [&str; 4] = [
    "mem0.sqlite3",
    "mem0.sqlite3-shm",
    "mem0.sqlite3-wal",
    "signing-keys.json",
];

/// The folder local-dev writes its mail to (links in it are as good as passwords).
const OUTBOX: &str = "outbox";

#[track_caller]
fn assert_private(dir: &Path) {
    assert_eq!(mode(dir), 0o700, "the data directory");
    let mut found = modes(dir);
    assert_eq!(found.remove(OUTBOX), Some(0o700), "the outbox folder");
    let names: Vec<&str> = found.keys().map(String::as_str).collect();
    assert_eq!(names, FILES, "the files a running local-dev keeps");
    for (name, mode) in found {
        assert_eq!(mode, 0o600, "{name} is {mode:o}");
    }
}

#[tokio::test]
async fn a_fresh_data_directory_and_its_files_are_readable_by_their_owner_only() {
    let parent = tempfile::tempdir().expect("temp dir");
    let data: PathBuf = parent.path().join("data");
    let server = LocalDev::start(&data);
    server.sign_up().await;
    assert_private(&data);
}

#[tokio::test]
async fn a_data_directory_left_open_by_an_older_build_is_made_private() {
    let parent = tempfile::tempdir().expect("temp dir");
    let data = parent.path().join("data");
    let first = LocalDev::start(&data);
    first.sign_up().await;
    // Killed, not stopped: the -wal and -shm stay behind, as after a crash.
    drop(first);
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for name in FILES {
        std::fs::set_permissions(data.join(name), std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
    }
    let second = LocalDev::start(&data);
    second.sign_up().await;
    assert_private(&data);
}
