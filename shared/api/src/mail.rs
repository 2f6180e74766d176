//! The mail the service sends (email verification, password reset, invitations): one
//! [`Mailer`] trait and the senders behind it. local-dev writes every message as one
//! file in `<data dir>/outbox/` ([`Outbox`]); the deployed functions send through
//! Amazon SES. Links in mail point at the pages' origin ([`Links`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use store::Email;
use time::OffsetDateTime;

/// One plain-text message to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: Email,
    pub subject: String,
    pub text: String,
}

/// Why a message was not sent. The cause is for logs only: it may name paths or hosts.
#[derive(Debug, thiserror::Error)]
#[error("mail not sent: {0}")]
pub struct MailError(pub String);

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: Mail) -> Result<(), MailError>;
}

/// Where links in mail point: the origin that serves the pages (and the API beside them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    origin: String,
}

impl Links {
    /// `origin` such as `https://mem0.example.com` or `http://127.0.0.1:8000`; a trailing
    /// slash is dropped.
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.trim_end_matches('/').to_owned(),
        }
    }

    /// `path` (starting with `/`, query included) on the pages' origin.
    pub fn to(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

impl Default for Links {
    fn default() -> Self {
        Self::new("http://127.0.0.1:8000")
    }
}

/// local-dev's mail: each message is one file, `<timestamp>-<id>.eml`, in the outbox
/// folder, readable by its owner only, and one log line names it.
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    /// Creates the folder (0700) if it is missing.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        create_private_dir(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let now = OffsetDateTime::now_utc();
        // Sorting the folder's names sorts the messages by when they were sent.
        let name = format!("{}-{}.eml", now.unix_timestamp_nanos(), ulid::Ulid::new());
        let path = self.dir.join(name);
        let contents = message_file(&mail, now);
        let written = path.clone();
        tokio::task::spawn_blocking(move || write_private(&written, contents.as_bytes()))
            .await
            .map_err(|error| MailError(error.to_string()))?
            .map_err(|error| MailError(format!("{}: {error}", path.display())))?;
        tracing::info!(file = %path.display(), "mail written to the outbox");
        Ok(())
    }
}

/// The message as a mail client opens it (RFC 5322 headers, a plain-text body).
fn message_file(mail: &Mail, date: OffsetDateTime) -> String {
    let date = date
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    format!(
        "To: {}\r\nSubject: {}\r\nDate: {date}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        mail.to,
        one_line(&mail.subject),
        mail.text
    )
}

/// A header value cannot carry line breaks (they would start new headers).
fn one_line(value: &str) -> String {
    value.replace(['\r', '\n'], " ")
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Links in mail are as good as passwords for an hour: the file is its owner's only.
#[cfg(unix)]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Keeps every message in memory: for tests that read what was sent.
#[derive(Default)]
pub struct Recorded {
    sent: Mutex<Vec<Mail>>,
}

impl Recorded {
    /// Everything sent so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.sent
            .lock()
            .map(|sent| sent.clone())
            .unwrap_or_default()
    }
}

#[async_trait]
impl Mailer for Recorded {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        self.sent
            .lock()
            .map_err(|_| MailError("the recorder's lock is poisoned".to_owned()))?
            .push(mail);
        Ok(())
    }
}

/// A function with no mail configured: every message fails, with a log line saying why.
pub struct NotConfigured;

#[async_trait]
impl Mailer for NotConfigured {
    async fn send(&self, _: Mail) -> Result<(), MailError> {
        Err(MailError(
            "no mailer is configured for this function".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> Mail {
        Mail {
            to: Email::parse("ada@example.com").expect("email"),
            subject: "Verify\r\nBcc: eve@example.com".to_owned(),
            text: "Open http://127.0.0.1:8000/auth/verify-email?token=abc".to_owned(),
        }
    }

    #[tokio::test]
    async fn the_outbox_writes_one_private_file_per_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = Outbox::open(&dir.path().join("outbox")).expect("outbox");
        outbox.send(mail()).await.expect("first");
        outbox.send(mail()).await.expect("second");
        let mut files: Vec<_> = std::fs::read_dir(outbox.dir())
            .expect("read outbox")
            .map(|entry| entry.expect("entry").path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 2);
        let contents = std::fs::read_to_string(&files[0]).expect("read message");
        assert!(
            contents.starts_with("To: ada@example.com\r\n"),
            "{contents}"
        );
        assert!(
            contents.contains("\r\n\r\nOpen http://127.0.0.1:8000/auth/verify-email?token=abc"),
            "{contents}"
        );
        // A line break in the subject does not smuggle in a header.
        assert!(!contents.contains("\r\nBcc:"), "{contents}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files[0])
                .expect("metadata")
                .permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn links_are_on_the_pages_origin() {
        let links = Links::new("https://mem0.example.com/");
        assert_eq!(
            links.to("/reset?token=x"),
            "https://mem0.example.com/reset?token=x"
        );
    }

    #[tokio::test]
    async fn a_function_without_a_mailer_says_so() {
        let error = NotConfigured.send(mail()).await.unwrap_err();
        assert!(error.to_string().contains("no mailer"), "{error}");
        let recorded = Recorded::default();
        recorded.send(mail()).await.expect("recorded");
        assert_eq!(recorded.sent(), vec![mail()]);
    }
}
