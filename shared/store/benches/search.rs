//! How long ranking takes on a full candidate set (the API reads at most 1,000 memories
//! and 4 MiB of text and tags per search): the worst query the API accepts against a
//! one-word query over the same memories, measured in the same run.
//!
//! `cargo bench -p store --no-default-features --bench search`

use std::hint::black_box;
use std::time::{Duration, Instant};

use store::search::{self, MAX_QUERY_CHARS, MAX_QUERY_TERMS, Query};
use store::{Memory, MemoryId, MemoryText, memory_bytes};
use time::OffsetDateTime;

/// What `SEARCH_CANDIDATES` lets a search read (shared/api/src/contexts.rs).
const CANDIDATE_MEMORIES: usize = 1_000;
const CANDIDATE_BYTES: usize = 4 * 1024 * 1024;
const MAX_TEXT_CHARS: usize = MemoryText::MAX_CHARS;
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

/// This thread's CPU time so far: what the work took, however busy the machine is.
fn cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for clock_gettime to write into.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime");
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

struct Timing {
    /// Median wall-clock time.
    wall: Duration,
    /// Median CPU time of this thread.
    cpu: Duration,
}

/// Parses `query` and ranks `memories` with it, `RUNS` times.
fn timed(memories: &[Memory], query: &str) -> Timing {
    let mut walls = Vec::with_capacity(RUNS);
    let mut cpus = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let candidates = memories.to_vec();
        let (started, started_cpu) = (Instant::now(), cpu_time());
        let query = Query::parse(query).expect("accepted");
        black_box(search::rank(candidates, &query));
        cpus.push(cpu_time() - started_cpu);
        walls.push(started.elapsed());
    }
    walls.sort();
    cpus.sort();
    Timing {
        wall: walls[RUNS / 2],
        cpu: cpus[RUNS / 2],
    }
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
        "search: parse + rank, median of {RUNS} runs, CPU time (wall time); baseline = a one-word query over the same memories"
    );
    println!(
        "{:<18} {:>8} {:>6} {:>21} {:>21} {:>6}",
        "candidates", "memories", "MiB", "one word (baseline)", "worst query", "ratio"
    );
    let mut slowest = Duration::ZERO;
    for (name, memories, worst) in &sets {
        let bytes: usize = memories.iter().map(memory_bytes).sum();
        let baseline = timed(memories, "deploy");
        let worst = timed(memories, worst);
        slowest = slowest.max(worst.cpu);
        println!(
            "{:<18} {:>8} {:>6.2} {:>21} {:>21} {:>5.1}x",
            name,
            memories.len(),
            bytes as f64 / (1024.0 * 1024.0),
            format!("{} ({})", ms(baseline.cpu), ms(baseline.wall)),
            format!("{} ({})", ms(worst.cpu), ms(worst.wall)),
            worst.cpu.as_secs_f64() / baseline.cpu.as_secs_f64()
        );
    }
    println!(
        "worst query over a full candidate set: {} of CPU (target under {}): {}",
        ms(slowest),
        ms(TARGET),
        if slowest < TARGET { "met" } else { "MISSED" }
    );
}
