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

    /// The process's resident memory (VmRSS) in KiB.
    pub fn rss_kib(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {path}: {error}"))?;
        vm_rss_kib(&status).ok_or_else(|| format!("no VmRSS in {path}"))
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

fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
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
    fn resident_memory_is_the_vmrss_line_in_kib() {
        let status = "Name:\tlocal-dev\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(vm_rss_kib(status), Some(12_345));
        assert_eq!(vm_rss_kib("Name:\tx\n"), None);
    }
}
