//! Ranking memories against a free-text query. Both stores hand their candidates to
//! this one function, so search behaves identically locally and deployed.
//!
//! Ranking costs time in proportion to the bytes of the candidates, whatever the query:
//! the query is capped, its words are merged and compiled once into Aho-Corasick
//! automata, and each memory is walked through them once as a whole (substrings, the
//! phrase) and once word by word (exact words and prefixes).

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

/// Lower-cased alphanumeric words of `text`.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

/// A parsed search query: its distinct words and its whole phrase.
#[derive(Debug)]
pub struct Query {
    /// The distinct words in first-seen order; each scores once however often it is given.
    terms: Vec<String>,
    /// Every word in order, joined by single spaces.
    phrase: String,
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
            Some(Matcher::new(
                &terms,
                phrase_counts.then_some(phrase.as_str()),
            )?)
        };
        Ok(Self {
            terms,
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

/// The query's words and phrase, compiled. Bit `i` of a mask is term `i`; the bit after
/// the last term is the phrase.
#[derive(Debug)]
struct Matcher {
    /// Unanchored, over the terms and the phrase: what occurs anywhere in a text.
    anywhere: DFA,
    anywhere_start: StateID,
    /// Anchored, over the terms: walked from a word's first byte, it says which terms
    /// the word starts with, and which one it is.
    starts: DFA,
    starts_start: StateID,
    /// The term each `starts` state spells out entirely, by state id; `NO_TERM` otherwise.
    term_ends: Vec<u8>,
    all_terms: u64,
    phrase_bit: u64,
}

const NO_TERM: u8 = u8::MAX;
/// Not a mask any state has (at most 33 bits are ever set): the mask is not known yet.
const UNKNOWN: u64 = u64::MAX;

impl Matcher {
    fn new(terms: &[String], phrase: Option<&str>) -> Result<Self, QueryError> {
        let complex = |_| QueryError::TooComplex;
        let anywhere = DFA::builder()
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .build(terms.iter().map(String::as_str).chain(phrase))
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
        let phrase_bit = 1u64.checked_shl(count).ok_or(QueryError::TooManyTerms)?;
        Ok(Self {
            anywhere,
            anywhere_start,
            starts,
            starts_start,
            term_ends,
            all_terms: phrase_bit - 1,
            phrase_bit,
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

    /// The terms `word` (already lower-cased) starts with, and the term it is, if any.
    fn walk_word(&self, word: impl Iterator<Item = u8>) -> (u64, u64) {
        let mut state = self.starts_start;
        let mut prefixes = 0;
        for byte in word {
            state = self.starts.next_state(Anchored::Yes, state, byte);
            if self.starts.is_dead(state) {
                return (prefixes, 0);
            }
            prefixes |= self.term_at(state).unwrap_or(0);
        }
        (prefixes, self.term_at(state).unwrap_or(0))
    }

    /// The term `tag` is, if any.
    fn whole_term(&self, tag: &str) -> u64 {
        self.walk_word(tag.to_lowercase().bytes()).1
    }
}

/// One ranking: the matcher plus the patterns each match state stands for, learnt as
/// the walk meets them (a state can stand for many patterns; looking them up once per
/// state instead of once per byte keeps the walk linear).
struct Ranker<'q> {
    query: &'q Query,
    matcher: &'q Matcher,
    masks: Vec<u64>,
}

impl Ranker<'_> {
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

    /// Which of the `wanted` patterns occur anywhere in `text`, lower-cased.
    fn anywhere(&mut self, text: &str, wanted: u64) -> u64 {
        let lowered;
        let bytes = if text.is_ascii() {
            text.as_bytes()
        } else {
            lowered = text.to_lowercase();
            lowered.as_bytes()
        };
        let automaton = &self.matcher.anywhere;
        let mut state = self.matcher.anywhere_start;
        let mut found = 0;
        for &byte in bytes {
            state = automaton.next_state(Anchored::No, state, byte.to_ascii_lowercase());
            if automaton.is_match(state) {
                found |= self.mask(state);
                if found & wanted == wanted {
                    break;
                }
            }
        }
        found & wanted
    }

    /// How well `memory` matches: the whole phrase scores most, then each query word by
    /// exact word, tag, prefix, and substring match. Zero means no match.
    fn score(&mut self, memory: &Memory) -> u32 {
        let matcher = self.matcher;
        let (mut exact, mut prefix) = (0, 0);
        for word in memory
            .text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
        {
            let (starts, is) = if word.is_ascii() {
                matcher.walk_word(word.bytes().map(|byte| byte.to_ascii_lowercase()))
            } else {
                matcher.walk_word(word.to_lowercase().bytes())
            };
            prefix |= starts;
            exact |= is;
            if exact == matcher.all_terms {
                break;
            }
        }
        let tagged = memory
            .tags
            .iter()
            .fold(0, |tagged, tag| tagged | matcher.whole_term(tag));
        let phrase = if self.query.phrase_counts {
            matcher.phrase_bit
        } else {
            0
        };
        let wanted = (matcher.all_terms & !(exact | tagged | prefix)) | phrase;
        let anywhere = if wanted == 0 {
            0
        } else {
            self.anywhere(&memory.text, wanted)
        };
        let tagged = tagged & !exact;
        let prefix = prefix & !(exact | tagged);
        let substring = anywhere & matcher.all_terms & !(exact | tagged | prefix);
        let phrase = if anywhere & matcher.phrase_bit == 0 {
            0
        } else {
            10
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
    let mut ranker = Ranker {
        query,
        matcher,
        masks: Vec::new(),
    };
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
        Ranker {
            query: &query,
            matcher,
            masks: Vec::new(),
        }
        .score(memory)
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
    /// term by term (with repeated words merged): what `score` must agree with.
    fn reference_score(memory: &Memory, query: &str) -> u32 {
        let all: Vec<String> = words(query).collect();
        let mut terms: Vec<String> = Vec::new();
        for word in &all {
            if !terms.contains(word) {
                terms.push(word.clone());
            }
        }
        let phrase = all.join(" ");
        let text = memory.text.to_lowercase();
        let text_words: Vec<String> = words(&memory.text).collect();
        let tags: Vec<String> = memory.tags.iter().map(|tag| tag.to_lowercase()).collect();
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
                Some(matcher) => Ranker { query: &parsed, matcher, masks: Vec::new() }.score(&memory),
            };
            prop_assert_eq!(actual, expected);
        }
    }
}
