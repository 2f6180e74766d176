//! What the largest body the API accepts (1 MiB) can make `Tags::parse` do: a flood of
//! distinct tags against the same number of one repeated tag, measured in the same run.
//! Also, once, the pairwise de-duplication the handler did before `Tags`, to show what
//! the flood cost then.
//!
//! `cargo bench -p domain --bench tags`

use std::hint::black_box;
use std::time::{Duration, Instant};

use domain::Tags;

/// The API's body limit; a tag costs its characters plus `"",` in JSON.
const BODY_BYTES: usize = 1024 * 1024;
const RUNS: usize = 15;
/// Linear work: the flood may cost a few times the baseline, never its square.
const TARGET_RATIO: f64 = 4.0;

fn flood() -> Vec<String> {
    let mut bytes = 0;
    (0..)
        .map(|index: u64| index.to_string())
        .take_while(|tag| {
            bytes += tag.len() + 3;
            bytes <= BODY_BYTES
        })
        .collect()
}

/// `shared/api/src/contexts.rs` before `Tags`: every tag compared with every kept one,
/// and the count checked at the end.
fn pairwise(raw: &[String]) -> usize {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let tag = tag.trim();
        if !tags.iter().any(|seen| seen == tag) {
            tags.push(tag.to_owned());
        }
    }
    tags.len()
}

fn median(runs: usize, mut work: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1e3)
}

fn main() {
    let distinct = flood();
    let repeated = vec!["1".to_owned(); distinct.len()];
    let baseline = median(RUNS, || {
        black_box(Tags::parse(black_box(&repeated)).ok());
    });
    let worst = median(RUNS, || {
        black_box(Tags::parse(black_box(&distinct)).err());
    });
    let ratio = worst.as_secs_f64() / baseline.as_secs_f64();
    println!(
        "tags: {} tags in a 1 MiB body, median of {RUNS} runs; baseline = one tag repeated",
        distinct.len()
    );
    println!(
        "one tag repeated (baseline) {:>12}   distinct tags {:>12}   ratio {ratio:.1}x (target under {TARGET_RATIO}x): {}",
        ms(baseline),
        ms(worst),
        if ratio < TARGET_RATIO {
            "met"
        } else {
            "MISSED"
        }
    );
    let before = median(1, || {
        black_box(pairwise(black_box(&distinct)));
    });
    println!(
        "the same distinct tags de-duplicated pairwise, as before Tags: {} ({:.0}x the baseline)",
        ms(before),
        before.as_secs_f64() / baseline.as_secs_f64()
    );
}
