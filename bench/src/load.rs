//! A small HTTP load generator: a fixed number of connections each sending one request
//! after another, for a while or for a number of requests, every answer's latency kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, RequestBuilder, StatusCode};

/// Builds one request of a run; called once per request.
pub type MakeRequest = Arc<dyn Fn(&Client) -> RequestBuilder + Send + Sync>;

/// How long a run goes on.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    For(Duration),
    Requests(usize),
}

/// The latencies of one run, sorted, and how long it took.
#[derive(Debug, Clone)]
pub struct Run {
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
}

impl Run {
    /// The nearest-rank percentile `q` (0 < q ≤ 1).
    pub fn percentile(&self, q: f64) -> Duration {
        percentile(&self.latencies, q)
    }

    pub fn per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.latencies.len() as f64 / seconds
        } else {
            0.0
        }
    }
}

/// The nearest-rank percentile `q` of `sorted` (zero when empty).
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Sends `make`'s requests on `connections` connections at once until `budget` is spent;
/// any answer but `expected` ends the run with an error.
pub async fn run(
    client: &Client,
    make: MakeRequest,
    connections: usize,
    budget: Budget,
    expected: StatusCode,
) -> Result<Run, String> {
    let left = Arc::new(AtomicUsize::new(match budget {
        Budget::Requests(count) => count,
        Budget::For(_) => usize::MAX,
    }));
    let started = Instant::now();
    let deadline = match budget {
        Budget::For(duration) => Some(started + duration),
        Budget::Requests(_) => None,
    };
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (client, make, left) = (client.clone(), Arc::clone(&make), Arc::clone(&left));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                if deadline.is_some_and(|deadline| Instant::now() >= deadline)
                    || left
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                        .is_err()
                {
                    return Ok(latencies);
                }
                let sent = Instant::now();
                let response = make(&client)
                    .send()
                    .await
                    .map_err(|error| format!("request failed: {error}"))?;
                let status = response.status();
                let body = response
                    .bytes()
                    .await
                    .map_err(|error| format!("reading the answer failed: {error}"))?;
                latencies.push(sent.elapsed());
                if status != expected {
                    return Err(format!(
                        "answered {status}, not {expected}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    ));
                }
            }
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        let mine = task
            .await
            .map_err(|error| format!("a connection's task failed: {error}"))??;
        latencies.extend(mine);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(Run { latencies, elapsed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        let mut sorted: Vec<Duration> = values.iter().copied().map(Duration::from_millis).collect();
        sorted.sort_unstable();
        sorted
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&sorted, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&sorted, 1.0), Duration::from_millis(100));
    }

    #[test]
    fn a_few_samples_have_their_largest_as_p99() {
        assert_eq!(percentile(&ms(&[3, 1, 2]), 0.99), Duration::from_millis(3));
        assert_eq!(percentile(&ms(&[7]), 0.5), Duration::from_millis(7));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn the_rate_is_answers_per_second_of_the_run() {
        let run = Run {
            latencies: ms(&[1; 50]),
            elapsed: Duration::from_millis(500),
        };
        assert!((run.per_second() - 100.0).abs() < 1e-9);
    }
}
