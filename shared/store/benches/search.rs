//! How long ranking takes on a full candidate set (the API reads at most 1,000 memories
//! and 8 MiB of text and tags per search): the worst query the API accepts against a
//! one-word query over the same memories, measured in the same run.
//!
//! `cargo bench -p store --no-default-features --bench search`

use std::hint::black_box;
use std::time::{Duration, Instant};

use store::search::{self, MAX_QUERY_CHARS, MAX_QUERY_TERMS, Query};
use store::{Memory, MemoryId, memory_bytes};
use time::OffsetDateTime;

/// What `SEARCH_CANDIDATES` lets a search read (shared/api/src/contexts.rs).
const CANDIDATE_MEMORIES: usize = 1_000;
const CANDIDATE_BYTES: usize = 8 * 1024 * 1024;
const MAX_TEXT_CHARS: usize = 16_000;
const RUNS: usize = 15;
/// The target for the worst query over a full candidate set.
const TARGET: Duration = Duration::from_millis(50);

/// The first fourteen letters of the query's thirty-two fifteen-letter words, which all
/// share their first twelve: each memory word made of a stem walks fourteen letters deep
/// into the automata and still matches nothing.
fn stem(index: usize, alphabet: &[char]) -> String {
    let mut stem: String = alphabet[..12].iter().collect();
    stem.push(alphabet[12 + index % (alphabet.len() - 12)]);
    stem.push(char::from(
        b'a' + u8::try_from(index / (alphabet.len() - 12)).unwrap_or(0),
    ));
    stem
}

fn worst_query(alphabet: &[char]) -> String {
    let terms: Vec<String> = (0..MAX_QUERY_TERMS)
        .map(|index| format!("{}z", stem(index, alphabet)))
        .collect();
    let query = terms.join(" ");
    assert!(query.chars().count() <= MAX_QUERY_CHARS, "{query}");
    assert_eq!(
        Query::parse(&query).expect("accepted").terms(),
        MAX_QUERY_TERMS
    );
    query
}

/// Memories of `MAX_TEXT_CHARS` characters, made of the terms' stems (near misses that
/// cost the most), each ending with one real term as a substring so that no walk can
/// stop early, until the candidate budget is full.
fn full_set(alphabet: &[char], filler: Option<char>) -> Vec<Memory> {
    let query_terms: Vec<String> = worst_query(alphabet)
        .split(' ')
        .map(str::to_owned)
        .collect();
    let mut memories = Vec::new();
    let mut bytes = 0;
    while memories.len() < CANDIDATE_MEMORIES {
        let index = memories.len();
        let tail = format!(" x{}", query_terms[index % query_terms.len()]);
        let mut text = String::new();
        let mut chars = 0;
        let mut word = 0;
        while chars + 15 + tail.chars().count() <= MAX_TEXT_CHARS {
            match filler {
                Some(filler) if word % 2 == 1 => text.extend(std::iter::repeat_n(filler, 14)),
                _ => text.push_str(&stem(word % MAX_QUERY_TERMS, alphabet).to_uppercase()),
            }
            text.push(' ');
            chars += 15;
            word += 1;
        }
        text.push_str(&tail);
        let memory = Memory {
            id: MemoryId::generate(),
            text,
            tags: vec!["notes".to_owned()],
            created_at: OffsetDateTime::now_utc(),
        };
        bytes += memory_bytes(&memory);
        if bytes > CANDIDATE_BYTES {
            break;
        }
        memories.push(memory);
    }
    memories
}

fn small_set() -> Vec<Memory> {
    (0..CANDIDATE_MEMORIES)
        .map(|index| Memory {
            id: MemoryId::generate(),
            text: format!(
                "Note {index}: deploy the staging stack with sam deploy, then run the \
                 end-to-end tests against it and check the dashboards for errors."
            ),
            tags: vec!["ops".to_owned()],
            created_at: OffsetDateTime::now_utc(),
        })
        .collect()
}

/// The fastest and the median time of parsing `query` and ranking `memories` with it.
/// On a shared machine the fastest run is the one least disturbed by other work.
fn timed(memories: &[Memory], query: &str) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let candidates = memories.to_vec();
            let started = Instant::now();
            let query = Query::parse(query).expect("accepted");
            black_box(search::rank(candidates, &query));
            started.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[RUNS / 2])
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1_000.0)
}

fn main() {
    let latin: Vec<char> = "abcdefghijklmnopqrstuvwxy".chars().collect();
    let greek: Vec<char> = "αβγδεζηθικλμνξοπρστυφχψω".chars().collect();
    let sets = [
        ("ASCII words", full_set(&latin, None), worst_query(&latin)),
        ("Greek words", full_set(&greek, None), worst_query(&greek)),
        (
            "emoji and words",
            full_set(&latin, Some('😀')),
            worst_query(&latin),
        ),
        ("1,000 short notes", small_set(), worst_query(&latin)),
    ];
    println!(
        "search: parse + rank, fastest and median of {RUNS} runs; baseline = a one-word query over the same memories"
    );
    println!(
        "{:<18} {:>8} {:>6} {:>21} {:>21} {:>6}",
        "candidates", "memories", "MiB", "one word (baseline)", "worst query", "ratio"
    );
    let mut slowest = Duration::ZERO;
    for (name, memories, worst) in &sets {
        let bytes: usize = memories.iter().map(memory_bytes).sum();
        let (baseline, baseline_median) = timed(memories, "deploy");
        let (worst, worst_median) = timed(memories, worst);
        slowest = slowest.max(worst);
        println!(
            "{:<18} {:>8} {:>6.2} {:>21} {:>21} {:>5.1}x",
            name,
            memories.len(),
            bytes as f64 / (1024.0 * 1024.0),
            format!("{} ({})", ms(baseline), ms(baseline_median)),
            format!("{} ({})", ms(worst), ms(worst_median)),
            worst.as_secs_f64() / baseline.as_secs_f64()
        );
    }
    println!(
        "worst query over a full candidate set, fastest run: {} (target under {}): {}",
        ms(slowest),
        ms(TARGET),
        if slowest < TARGET { "met" } else { "MISSED" }
    );
}
