//! A server process the load benchmark drives: started on a free loopback port, found by
//! the address it prints, its resident memory read from /proc, killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// What local-dev (and the hello baseline) print once they accept connections.
const LISTENING: &str = "listening on http://";

pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub origin: String,
}

impl Server {
    /// Spawns `command` (which must listen on 127.0.0.1 and print its address) and waits
    /// up to `timeout` for the address.
    pub fn start(mut command: Command, timeout: Duration) -> Result<Self, String> {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start {program}: {error}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (found, address) = mpsc::channel();
        // Keeps reading after the address, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(origin) = origin_in(&line)
                    && let Some(found) = found.take()
                {
                    let _ = found.send(origin);
                }
            }
        });
        // Killed on every way out, the failed start's too.
        let mut server = Self {
            child,
            origin: String::new(),
        };
        match address.recv_timeout(timeout) {
            Ok(origin) => {
                server.origin = origin;
                Ok(server)
            }
            Err(_) => Err(format!(
                "{program} printed no address within {} s",
                timeout.as_secs_f64()
            )),
        }
    }

    /// The process's resident memory, from /proc/PID/status.
    pub fn resident(&self) -> Result<Resident, String> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {path}: {error}"))?;
        Resident::parse(&status).ok_or_else(|| format!("no VmRSS, RssAnon or RssFile in {path}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `http://127.0.0.1:PORT` from a line announcing it, if the address is a loopback one.
fn origin_in(line: &str) -> Option<String> {
    let (_, address) = line.split_once(LISTENING)?;
    let address = address.trim().trim_end_matches('/');
    address
        .starts_with("127.0.0.1:")
        .then(|| format!("http://{address}"))
}

/// Resident memory in KiB: all of it (VmRSS), and the part that is the process's own
/// (RssAnon: heap, stacks) rather than pages of files it maps (RssFile: its code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resident {
    pub total: u64,
    pub anon: u64,
    pub file: u64,
}

impl Resident {
    fn parse(status: &str) -> Option<Self> {
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|line| line.starts_with(name))?;
            line.split_whitespace().nth(1)?.parse().ok()
        };
        Some(Self {
            total: field("VmRSS:")?,
            anon: field("RssAnon:")?,
            file: field("RssFile:")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_read_from_the_listening_line() {
        assert_eq!(
            origin_in("mem0 local-dev listening on http://127.0.0.1:41234").as_deref(),
            Some("http://127.0.0.1:41234")
        );
        assert_eq!(origin_in("INFO embedded store"), None);
    }

    #[test]
    fn an_address_off_loopback_is_not_taken() {
        assert_eq!(origin_in("listening on http://0.0.0.0:8000"), None);
    }

    #[test]
    fn resident_memory_is_read_in_kib_from_the_status_lines() {
        let status = "Name:\tlocal-dev\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\n\
                      RssAnon:\t    2345 kB\nRssFile:\t   10000 kB\nThreads:\t3\n";
        assert_eq!(
            Resident::parse(status),
            Some(Resident {
                total: 12_345,
                anon: 2_345,
                file: 10_000
            })
        );
        assert_eq!(Resident::parse("Name:\tx\nVmRSS:\t1 kB\n"), None);
    }
}
