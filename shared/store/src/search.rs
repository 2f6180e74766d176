//! Ranking memories against a free-text query. Both stores hand their candidates to
//! this one function, so search behaves identically locally and deployed.
//!
//! Ranking costs time in proportion to the bytes of the candidates, whatever the query:
//! the query is capped, its words are merged and compiled once into Aho-Corasick
//! automata, and each memory is lower-cased once and walked through both: one sees the
//! whole text (substrings), the other each word from its start (exact words and
//! prefixes). The phrase is one more linear substring search.
//!
//! Matching ignores case: both sides are lower-cased character by character, with the
//! final sigma folded into σ so that "ΟΔΟΣ", "οδος" and "οδοσ" match one another.

use std::sync::OnceLock;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};

use crate::Memory;

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 512;
/// Most distinct words in a query; repeated words count once.
pub const MAX_QUERY_TERMS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("The query must be at most {MAX_QUERY_CHARS} characters.")]
    TooLong,
    #[error("The query may have at most {MAX_QUERY_TERMS} different words.")]
    TooManyTerms,
    #[error("The query is too complex; use fewer or shorter words.")]
    TooComplex,
}

/// How a character takes part in matching, as one `u32`: its lower-case form (a `char`),
/// `ALPHANUMERIC` if it belongs to words, `SEVERAL` if its lower case is more than one
/// character (then `char::to_lowercase` has the whole of it).
const ALPHANUMERIC: u32 = 1 << 31;
const SEVERAL: u32 = 1 << 30;
const CHAR_BITS: u32 = (1 << 21) - 1;

fn classify(code: u32) -> u32 {
    let Some(c) = char::from_u32(code) else {
        return 0;
    };
    let mut lower = c.to_lowercase();
    let first = lower.next().map_or(c, fold_sigma);
    let mut class = u32::from(first);
    if lower.next().is_some() {
        class |= SEVERAL;
    }
    if c.is_alphanumeric() {
        class |= ALPHANUMERIC;
    }
    class
}

fn fold_sigma(c: char) -> char {
    if c == 'ς' { 'σ' } else { c }
}

/// `classify` for the characters of the Basic Multilingual Plane (U+0000 to U+FFFF),
/// computed once per process (a few milliseconds, 256 KiB): Unicode's own tables cost
/// tens of nanoseconds a lookup, far more than the rest of the ranking.
fn plane_zero() -> &'static [u32] {
    static CLASSES: OnceLock<Box<[u32]>> = OnceLock::new();
    CLASSES.get_or_init(|| (0..0x1_0000).map(classify).collect())
}

/// `classify` for the other planes (emoji, historic scripts), 256 characters at a time
/// as they are first met.
fn other_planes(c: char) -> u32 {
    const PAGES: usize = (char::MAX as usize >> 8) + 1;
    static CLASSES: [OnceLock<Box<[u32; 256]>>; PAGES] = [const { OnceLock::new() }; PAGES];
    let code = u32::from(c);
    let Some(page) = CLASSES.get((code >> 8) as usize) else {
        return classify(code);
    };
    let page = page.get_or_init(|| {
        let base = code & !0xFF;
        Box::new(std::array::from_fn(|index| {
            classify(base | u32::try_from(index).unwrap_or(0))
        }))
    });
    page[(code & 0xFF) as usize]
}

fn class_in(plane_zero: &[u32], c: char) -> u32 {
    match plane_zero.get(c as usize) {
        Some(&class) => class,
        None => other_planes(c),
    }
}

fn class_of(c: char) -> u32 {
    class_in(plane_zero(), c)
}

/// The lower-case form of `c`, as matching sees it, to `out`.
fn lower_into(c: char, class: u32, out: &mut impl FnMut(char)) {
    if class & SEVERAL == 0 {
        out(char::from_u32(class & CHAR_BITS).unwrap_or(c));
    } else {
        c.to_lowercase().map(fold_sigma).for_each(out);
    }
}

/// `text` lower-cased as matching sees it.
fn lowered(text: &str) -> String {
    let mut lowered = String::with_capacity(text.len());
    for c in text.chars() {
        lower_into(c, class_of(c), &mut |c| lowered.push(c));
    }
    lowered
}

/// Lower-cased alphanumeric words of `text`.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| class_of(c) & ALPHANUMERIC == 0)
        .filter(|word| !word.is_empty())
        .map(lowered)
}

/// A parsed search query: its distinct words and its whole phrase.
#[derive(Debug)]
pub struct Query {
    /// The distinct words in first-seen order; each scores once however often it is given.
    terms: Vec<String>,
    /// Every word in order, joined by single spaces.
    phrase: String,
    /// Looks for the phrase; built once per query.
    phrase_finder: memchr::memmem::Finder<'static>,
    /// The phrase scores only when the query has several words.
    phrase_counts: bool,
    /// `None` when the query has no words: it matches nothing.
    matcher: Option<Matcher>,
}

impl Query {
    pub fn parse(raw: &str) -> Result<Self, QueryError> {
        let raw = raw.trim();
        if raw.chars().nth(MAX_QUERY_CHARS).is_some() {
            return Err(QueryError::TooLong);
        }
        let all: Vec<String> = words(raw).collect();
        let mut terms: Vec<String> = Vec::new();
        for word in &all {
            if !terms.contains(word) {
                if terms.len() == MAX_QUERY_TERMS {
                    return Err(QueryError::TooManyTerms);
                }
                terms.push(word.clone());
            }
        }
        let phrase = all.join(" ");
        let phrase_counts = all.len() > 1;
        let matcher = if terms.is_empty() {
            None
        } else {
            Some(Matcher::new(&terms)?)
        };
        Ok(Self {
            terms,
            phrase_finder: memchr::memmem::Finder::new(phrase.as_bytes()).into_owned(),
            phrase,
            phrase_counts,
            matcher,
        })
    }

    /// The words as ranking sees them (lower-cased, single spaces): two queries with the
    /// same canonical form rank alike.
    pub fn canonical(&self) -> &str {
        &self.phrase
    }

    /// How many distinct words score.
    pub fn terms(&self) -> usize {
        self.terms.len()
    }
}

/// The query's words, compiled. Bit `i` of a mask is term `i`.
#[derive(Debug)]
struct Matcher {
    /// Unanchored, over the terms: which occur anywhere in a text.
    anywhere: DFA,
    anywhere_start: StateID,
    /// Anchored, over the terms: walked from a word's first byte, it says which terms
    /// the word starts with, and which one it is.
    starts: DFA,
    starts_start: StateID,
    /// The term each `starts` state spells out entirely, by state id; `NO_TERM` otherwise.
    term_ends: Vec<u8>,
    all_terms: u64,
}

const NO_TERM: u8 = u8::MAX;
/// Not a mask any state has (at most 32 bits are ever set): the mask is not known yet.
const UNKNOWN: u64 = u64::MAX;

impl Matcher {
    fn new(terms: &[String]) -> Result<Self, QueryError> {
        let complex = |_| QueryError::TooComplex;
        let anywhere = DFA::builder()
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .build(terms)
            .map_err(complex)?;
        let starts = DFA::builder()
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Anchored)
            .prefilter(false)
            .build(terms)
            .map_err(complex)?;
        let anywhere_start = anywhere
            .start_state(Anchored::No)
            .map_err(|_| QueryError::TooComplex)?;
        let starts_start = starts
            .start_state(Anchored::Yes)
            .map_err(|_| QueryError::TooComplex)?;
        let mut term_ends = Vec::new();
        for (index, term) in terms.iter().enumerate() {
            let state = term.bytes().fold(starts_start, |state, byte| {
                starts.next_state(Anchored::Yes, state, byte)
            });
            let slot = state.as_usize();
            if term_ends.len() <= slot {
                term_ends.resize(slot + 1, NO_TERM);
            }
            term_ends[slot] = u8::try_from(index).map_err(|_| QueryError::TooManyTerms)?;
        }
        let count = u32::try_from(terms.len()).map_err(|_| QueryError::TooManyTerms)?;
        let all_terms = 1u64.checked_shl(count).ok_or(QueryError::TooManyTerms)? - 1;
        Ok(Self {
            anywhere,
            anywhere_start,
            starts,
            starts_start,
            term_ends,
            all_terms,
        })
    }

    /// The term that `state` of `starts` spells out, if any.
    fn term_at(&self, state: StateID) -> Option<u64> {
        if !self.starts.is_match(state) {
            return None;
        }
        match self.term_ends.get(state.as_usize()) {
            Some(&index) if index != NO_TERM => Some(1 << index),
            _ => None,
        }
    }

    /// The term `tag` is, if any.
    fn whole_term(&self, tag: &str) -> u64 {
        let mut state = self.starts_start;
        for byte in lowered(tag).bytes() {
            state = self.starts.next_state(Anchored::Yes, state, byte);
            if self.starts.is_dead(state) {
                return 0;
            }
        }
        self.term_at(state).unwrap_or(0)
    }
}

/// One ranking: the matcher plus the patterns each match state stands for, learnt as
/// the walk meets them (a state can stand for many patterns; looking them up once per
/// state instead of once per byte keeps the walk linear), and buffers reused from one
/// memory to the next.
struct Ranker<'q> {
    query: &'q Query,
    matcher: &'q Matcher,
    masks: Vec<u64>,
    /// The memory's text lower-cased.
    lowered: Vec<u8>,
}

/// Appends `lower` to `lowered` byte by byte (as a slice, copying one to four bytes costs
/// a call) and walks `word` along it, or ends the word.
#[inline(always)]
fn push_lowered(
    lowered: &mut Vec<u8>,
    word: &mut Word,
    matcher: &Matcher,
    lower: char,
    in_word: bool,
) {
    let mut buffer = [0; 4];
    let bytes = lower.encode_utf8(&mut buffer).as_bytes();
    for &byte in bytes {
        lowered.push(byte);
    }
    if in_word {
        for &byte in bytes {
            word.step(matcher, byte);
        }
    } else {
        word.end(matcher);
    }
}

/// A walk of `Matcher::starts` along the words of a text, byte by byte.
struct Word {
    /// `None` between words and once the word can match no term.
    state: Option<StateID>,
    in_word: bool,
    prefix: u64,
    exact: u64,
}

impl Word {
    fn new() -> Self {
        Self {
            state: None,
            in_word: false,
            prefix: 0,
            exact: 0,
        }
    }

    fn step(&mut self, matcher: &Matcher, byte: u8) {
        if !self.in_word {
            self.in_word = true;
            self.state = Some(matcher.starts_start);
        }
        if let Some(state) = self.state {
            let state = matcher.starts.next_state(Anchored::Yes, state, byte);
            if matcher.starts.is_dead(state) {
                self.state = None;
            } else {
                self.prefix |= matcher.term_at(state).unwrap_or(0);
                self.state = Some(state);
            }
        }
    }

    fn end(&mut self, matcher: &Matcher) {
        if self.in_word {
            if let Some(state) = self.state {
                self.exact |= matcher.term_at(state).unwrap_or(0);
            }
            self.in_word = false;
            self.state = None;
        }
    }
}

impl<'q> Ranker<'q> {
    fn new(query: &'q Query, matcher: &'q Matcher) -> Self {
        Self {
            query,
            matcher,
            masks: Vec::new(),
            lowered: Vec::new(),
        }
    }

    fn mask(&mut self, state: StateID) -> u64 {
        let slot = state.as_usize();
        if let Some(&mask) = self.masks.get(slot)
            && mask != UNKNOWN
        {
            return mask;
        }
        let automaton = &self.matcher.anywhere;
        let mask = (0..automaton.match_len(state))
            .map(|index| 1u64 << automaton.match_pattern(state, index).as_usize())
            .fold(0, |mask, bit| mask | bit);
        if self.masks.len() <= slot {
            self.masks.resize(slot + 1, UNKNOWN);
        }
        self.masks[slot] = mask;
        mask
    }

    /// Fills `lowered` from `text`; returns the terms some word of `text` starts with,
    /// and the terms some word is.
    fn prepare(&mut self, text: &str) -> (u64, u64) {
        self.lowered.clear();
        if text.is_ascii() {
            self.lowered.extend_from_slice(text.as_bytes());
            self.lowered.make_ascii_lowercase();
            return self.walk_words(&self.lowered);
        }
        let matcher = self.matcher;
        // Local, so that its length stays in registers while bytes are pushed.
        let mut lowered = std::mem::take(&mut self.lowered);
        lowered.reserve(text.len());
        let plane_zero = plane_zero();
        let mut word = Word::new();
        for c in text.chars() {
            let class = class_in(plane_zero, c);
            let in_word = class & ALPHANUMERIC != 0;
            if class & SEVERAL == 0 {
                let lower = char::from_u32(class & CHAR_BITS).unwrap_or(c);
                push_lowered(&mut lowered, &mut word, matcher, lower, in_word);
            } else {
                for lower in c.to_lowercase().map(fold_sigma) {
                    push_lowered(&mut lowered, &mut word, matcher, lower, in_word);
                }
            }
        }
        word.end(matcher);
        self.lowered = lowered;
        (word.prefix, word.exact)
    }

    /// The terms that occur anywhere in `lowered`.
    fn anywhere(&mut self) -> u64 {
        let automaton = &self.matcher.anywhere;
        let mut state = self.matcher.anywhere_start;
        let mut found = 0;
        // Out of `self` for the loop, so that the walk's state stays in registers.
        let lowered = std::mem::take(&mut self.lowered);
        for &byte in &lowered {
            state = automaton.next_state(Anchored::No, state, byte);
            if automaton.is_match(state) {
                found |= self.mask(state);
                if found == self.matcher.all_terms {
                    break;
                }
            }
        }
        self.lowered = lowered;
        found
    }

    /// The terms some word of ASCII `bytes` starts with, and the terms some word is.
    fn walk_words(&self, bytes: &[u8]) -> (u64, u64) {
        let matcher = self.matcher;
        let mut word = Word::new();
        for &byte in bytes {
            if byte.is_ascii_alphanumeric() {
                word.step(matcher, byte);
            } else {
                word.end(matcher);
            }
        }
        word.end(matcher);
        (word.prefix, word.exact)
    }

    /// How well `memory` matches: the whole phrase scores most, then each query word by
    /// exact word, tag, prefix, and substring match. Zero means no match.
    fn score(&mut self, memory: &Memory) -> u32 {
        let matcher = self.matcher;
        let (prefix, exact) = self.prepare(&memory.text);
        let found = self.anywhere();
        let tagged = memory
            .tags
            .iter()
            .fold(0, |tagged, tag| tagged | matcher.whole_term(tag));
        let tagged = tagged & !exact;
        let prefix = prefix & !(exact | tagged);
        let substring = found & !(exact | tagged | prefix);
        let phrase =
            if self.query.phrase_counts && self.query.phrase_finder.find(&self.lowered).is_some() {
                10
            } else {
                0
            };
        phrase
            + 4 * exact.count_ones()
            + 3 * tagged.count_ones()
            + 2 * prefix.count_ones()
            + substring.count_ones()
    }
}

/// The memories that match `query`, best match first; equal scores newest first.
pub fn rank(memories: Vec<Memory>, query: &Query) -> Vec<Memory> {
    let Some(matcher) = &query.matcher else {
        return Vec::new();
    };
    let mut ranker = Ranker::new(query, matcher);
    let mut scored: Vec<(u32, Memory)> = memories
        .into_iter()
        .map(|memory| (ranker.score(&memory), memory))
        .filter(|(score, _)| *score > 0)
        .collect();
    scored.sort_by(|(a_score, a), (b_score, b)| b_score.cmp(a_score).then(b.id.cmp(&a.id)));
    scored.into_iter().map(|(_, memory)| memory).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryId;
    use proptest::prelude::*;
    use time::OffsetDateTime;

    fn memory(text: &str, tags: &[&str]) -> Memory {
        std::thread::sleep(std::time::Duration::from_millis(1));
        Memory {
            id: MemoryId::generate(),
            text: text.to_owned(),
            tags: tags.iter().map(|tag| tag.to_string()).collect(),
            created_at: OffsetDateTime::now_utc(),
        }
    }

    /// Ranks with a query these tests know to be valid.
    fn rank(memories: Vec<Memory>, query: &str) -> Vec<Memory> {
        super::rank(memories, &Query::parse(query).expect("a valid query"))
    }

    fn score(memory: &Memory, query: &str) -> u32 {
        let query = Query::parse(query).expect("a valid query");
        let matcher = query.matcher.as_ref().expect("words");
        Ranker::new(&query, matcher).score(memory)
    }

    #[test]
    fn best_match_comes_first_and_non_matches_are_dropped() {
        let deploy = memory("Deploy with sam deploy --guided", &[]);
        let partial = memory("The deployment runbook lives in infra/", &[]);
        let unrelated = memory("Lunch is at noon", &[]);
        let ranked = rank(vec![partial.clone(), unrelated, deploy.clone()], "deploy");
        assert_eq!(ranked, vec![deploy, partial]);
    }

    #[test]
    fn the_whole_phrase_beats_scattered_words() {
        let scattered = memory("rust is fast; the code is rust", &[]);
        let phrase = memory("we like rust code", &[]);
        let ranked = rank(vec![scattered.clone(), phrase.clone()], "Rust CODE");
        assert_eq!(ranked[0], phrase);
    }

    #[test]
    fn tags_match_and_ties_are_newest_first() {
        let older = memory("first note", &["Infra"]);
        let newer = memory("second note", &["infra"]);
        assert_eq!(
            rank(vec![older.clone(), newer.clone()], "infra"),
            vec![newer, older]
        );
    }

    #[test]
    fn a_query_without_words_matches_nothing() {
        assert!(rank(vec![memory("anything", &[])], " ?! ").is_empty());
    }

    #[test]
    fn each_kind_of_match_scores_as_before() {
        let text = memory("Deploying the Café: sam deploy, then Ölbad", &["Ops"]);
        // Exact word 4, tag 3, prefix 2, substring 1, nothing 0.
        assert_eq!(score(&text, "deploy"), 4);
        assert_eq!(score(&text, "ops"), 3);
        assert_eq!(score(&text, "caf"), 2);
        assert_eq!(score(&text, "ploy"), 1);
        assert_eq!(score(&text, "lunch"), 0);
        // Non-ASCII words are lower-cased as words: "ölbad" is exact, "café" too.
        assert_eq!(score(&text, "ÖLBAD café"), 8);
        // The phrase (10) is looked for in the lower-cased text, across punctuation too.
        assert_eq!(score(&text, "sam deploy"), 10 + 4 + 4);
        assert_eq!(score(&memory("a rust-code b", &[]), "rust code"), 8);
        assert_eq!(score(&memory("a rust  code b", &[]), "rust code"), 8);
        assert_eq!(score(&memory("A RUST CODE B", &[]), "rust code"), 18);
    }

    #[test]
    fn case_is_ignored_in_every_script_and_the_final_sigma_too() {
        let greek = memory("ΟΔΟΣ ΣΟΦΙΑΣ.", &["Ἄρτεμις"]);
        for query in ["οδος", "οδοσ", "ΟΔΟΣ"] {
            assert_eq!(score(&greek, query), 4, "{query}");
        }
        assert_eq!(score(&greek, "σοφιας"), 4);
        assert_eq!(score(&greek, "ἄρτεμις"), 3);
        assert_eq!(score(&greek, "οδος σοφιας"), 10 + 4 + 4);
        // A capital dotted I lower-cases to two characters; it still matches itself.
        let turkish = memory("İstanbul", &[]);
        assert_eq!(score(&turkish, "İSTANBUL"), 4);
        assert_eq!(score(&turkish, "stanbul"), 1);
    }

    #[test]
    fn overlapping_terms_each_score_their_best_match() {
        // "a", "aa" and "aaa" are suffixes of one another: each still scores on its own.
        let text = memory("aaab baaa", &[]);
        assert_eq!(score(&text, "a aa aaa aaab"), 2 + 2 + 2 + 4);
        assert_eq!(score(&text, "aab"), 1);
        assert_eq!(score(&text, "baa aaa"), 2 + 2);
    }

    #[test]
    fn repeated_words_are_merged_but_still_make_a_phrase() {
        let twice = memory("deploy deploy", &[]);
        let once = memory("deploy", &[]);
        assert_eq!(score(&twice, "deploy deploy deploy"), 4);
        assert_eq!(score(&twice, "deploy deploy"), 10 + 4);
        assert_eq!(score(&once, "deploy deploy"), 4);
        let query = Query::parse(&"deploy ".repeat(60)).expect("repeats are merged");
        assert_eq!(query.terms(), 1);
    }

    #[test]
    fn long_queries_and_too_many_distinct_words_are_refused() {
        let at_limit: String = "x".repeat(MAX_QUERY_CHARS);
        assert!(Query::parse(&at_limit).is_ok());
        assert_eq!(
            Query::parse(&format!("{at_limit}y")).unwrap_err(),
            QueryError::TooLong
        );
        // Surrounding blanks are not part of the query.
        assert!(Query::parse(&format!("  {at_limit}  ")).is_ok());
        let distinct = |count: usize| {
            (0..count)
                .map(|index| format!("w{index}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            Query::parse(&distinct(MAX_QUERY_TERMS)).unwrap().terms(),
            32
        );
        assert_eq!(
            Query::parse(&distinct(MAX_QUERY_TERMS + 1)).unwrap_err(),
            QueryError::TooManyTerms
        );
        let three_thousand = distinct(3_000);
        assert!(Query::parse(&three_thousand).is_err());
    }

    #[test]
    fn canonical_form_ignores_case_and_punctuation() {
        assert_eq!(
            Query::parse("  Rust, CODE!").unwrap().canonical(),
            Query::parse("rust code").unwrap().canonical()
        );
        assert_ne!(
            Query::parse("rust code").unwrap().canonical(),
            Query::parse("code rust").unwrap().canonical()
        );
    }

    /// The scoring this module had before it was compiled into automata, word by word and
    /// term by term (with repeated words merged, and `lowered` for `str::to_lowercase`):
    /// what `score` must agree with.
    fn reference_score(memory: &Memory, query: &str) -> u32 {
        let all: Vec<String> = words(query).collect();
        let mut terms: Vec<String> = Vec::new();
        for word in &all {
            if !terms.contains(word) {
                terms.push(word.clone());
            }
        }
        let phrase = all.join(" ");
        let text = lowered(&memory.text);
        let text_words: Vec<String> = words(&memory.text).collect();
        let tags: Vec<String> = memory.tags.iter().map(|tag| lowered(tag)).collect();
        let mut total = if all.len() > 1 && text.contains(&phrase) {
            10
        } else {
            0
        };
        for term in &terms {
            total += if text_words.iter().any(|word| word == term) {
                4
            } else if tags.iter().any(|tag| tag == term) {
                3
            } else if text_words
                .iter()
                .any(|word| word.starts_with(term.as_str()))
            {
                2
            } else if text.contains(term.as_str()) {
                1
            } else {
                0
            };
        }
        total
    }

    /// Texts from a few letters (with case, accents, a final-sigma letter, a dotted
    /// capital I and an emoji) and separators, so that words, prefixes, substrings and
    /// phrases collide often.
    fn text(max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "a", "b", "A", "B", "é", "É", "Σ", "İ", "1", " ", " ", "-", ".", "😀",
            ]),
            0..max,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn scores_agree_with_the_word_by_word_reference(
            body in text(40),
            tags in prop::collection::vec(text(4), 0..3),
            query in text(12),
        ) {
            let memory = Memory {
                id: MemoryId::generate(),
                text: body,
                tags,
                created_at: OffsetDateTime::now_utc(),
            };
            let parsed = Query::parse(&query).expect("short queries parse");
            let expected = reference_score(&memory, &query);
            let actual = match &parsed.matcher {
                None => 0,
                Some(matcher) => Ranker::new(&parsed, matcher).score(&memory),
            };
            prop_assert_eq!(actual, expected);
        }
    }
}
