//! local-dev's side of its memory footprint: at most two malloc arenas, and what a burst
//! of requests freed handed back to the system once the server is idle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Requests started so far; the idle check reads it.
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// How long without a new request counts as idle.
const IDLE: Duration = Duration::from_secs(1);

/// glibc gives each thread that allocates while the others hold theirs an arena of its
/// own (up to 8 per core) and keeps what is freed in it: under 32 connections the
/// blocking pool's threads left some 5 MiB more resident. Two arenas are enough for
/// two cores' worth of requests. Call before any other thread exists.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter, any positive M_ARENA_MAX is
    // valid, and it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Counts each request for [`return_freed_memory_when_idle`].
pub async fn count_request(request: Request, next: Next) -> Response {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
    next.run(request).await
}

/// glibc keeps what a burst of requests freed inside its arenas for the next burst (a
/// search's candidates, the buffers of 32 connections); once no request has started
/// for a second after some did, this gives the free pages back (`malloc_trim`).
pub async fn return_freed_memory_when_idle() {
    let mut idle = IdleCheck::new(REQUESTS.load(Ordering::Relaxed));
    loop {
        tokio::time::sleep(IDLE).await;
        if idle.trim_now(REQUESTS.load(Ordering::Relaxed)) {
            // It walks the arenas under their locks: off the async workers.
            let _ = tokio::task::spawn_blocking(trim).await;
        }
    }
}

/// Decides, one look at the request count per [`IDLE`], when to trim: once after each
/// stretch of requests, at the first look that sees no new one.
struct IdleCheck {
    seen: u64,
    busy_since_trim: bool,
}

impl IdleCheck {
    fn new(requests: u64) -> Self {
        Self {
            seen: requests,
            busy_since_trim: false,
        }
    }

    fn trim_now(&mut self, requests: u64) -> bool {
        if requests != self.seen {
            self.seen = requests;
            self.busy_since_trim = true;
            return false;
        }
        std::mem::take(&mut self.busy_since_trim)
    }
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns the arenas' free pages to the system, taking
    // each arena's lock; it may be called from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_after_each_stretch_of_requests_at_the_first_quiet_look() {
        let mut idle = IdleCheck::new(5);
        // Started idle: nothing to give back.
        assert!(!idle.trim_now(5));
        // Requests keep coming: never while busy.
        assert!(!idle.trim_now(9));
        assert!(!idle.trim_now(40));
        // The first quiet look trims, the next ones do not trim again.
        assert!(idle.trim_now(40));
        assert!(!idle.trim_now(40));
        assert!(!idle.trim_now(40));
        // A new stretch: once more.
        assert!(!idle.trim_now(41));
        assert!(idle.trim_now(41));
    }
}
