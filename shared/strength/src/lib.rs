//! How many guesses a password takes, estimated as zxcvbn does (Wheeler, "zxcvbn:
//! Low-Budget Password Strength Estimation", USENIX Security 2016): the password is read
//! as the cheapest sequence of patterns (common passwords, words, names, keyboard walks,
//! repeats, sequences, years, dates, the caller's own words, and brute force between
//! them) and the guesses of that reading are what an attacker who tries likely patterns
//! first would need.
//!
//! Why not the zxcvbn crate: it builds its word lists into hash maps on first use
//! (4.8 MiB of heap for the life of the process) and brings two regular-expression
//! engines (about 3 MB of binary). Here the lists are one FST map in read-only data,
//! walked without allocating; the tests check that both refuse the same passwords.
//!
//! ```
//! let weak = strength::estimate("password1234", &[]);
//! assert!(weak.score() < 3);
//! assert_eq!(weak.warning, Some(strength::Warning::CommonPassword));
//! assert!(strength::estimate("correct horse battery staple", &[]).score() >= 3);
//! ```

mod matching;
mod words;

use matching::{Match, Pattern};
use words::List;

/// Only the first characters are read: more can only add guesses.
pub const MAX_ANALYSED_CHARS: usize = 128;

/// Guesses of a password and, for a weak one, what makes it weak.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub guesses: f64,
    pub warning: Option<Warning>,
}

impl Estimate {
    /// zxcvbn's score: 0 (too guessable) to 4 (very unguessable); 3 and up resists an
    /// offline attack on a slow hash.
    pub fn score(&self) -> u8 {
        const DELTA: f64 = 5.0;
        match self.guesses {
            g if g < 1e3 + DELTA => 0,
            g if g < 1e6 + DELTA => 1,
            g if g < 1e8 + DELTA => 2,
            g if g < 1e10 + DELTA => 3,
            _ => 4,
        }
    }
}

/// What makes a password easy to guess, in zxcvbn's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warning {
    TopTenPassword,
    TopHundredPassword,
    CommonPassword,
    SimilarToCommonPassword,
    WordByItself,
    NamesByThemselves,
    CommonNames,
    PersonalWords,
    StraightRow,
    ShortKeyboardPattern,
    SimpleRepeat,
    RepeatedPart,
    Sequence,
    RecentYear,
    Date,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Warning::TopTenPassword => "This is a top-10 common password.",
            Warning::TopHundredPassword => "This is a top-100 common password.",
            Warning::CommonPassword => "This is a very common password.",
            Warning::SimilarToCommonPassword => "This is similar to a commonly used password.",
            Warning::WordByItself => "A word by itself is easy to guess.",
            Warning::NamesByThemselves => "Names and surnames by themselves are easy to guess.",
            Warning::CommonNames => "Common names and surnames are easy to guess.",
            Warning::PersonalWords => "Your own name or email address is easy to guess.",
            Warning::StraightRow => "Straight rows of keys are easy to guess.",
            Warning::ShortKeyboardPattern => "Short keyboard patterns are easy to guess.",
            Warning::SimpleRepeat => "Repeats like \"aaa\" are easy to guess.",
            Warning::RepeatedPart => {
                "Repeats like \"abcabcabc\" are only slightly harder to guess than \"abc\"."
            }
            Warning::Sequence => "Sequences like abc or 6543 are easy to guess.",
            Warning::RecentYear => "Recent years are easy to guess.",
            Warning::Date => "Dates are often easy to guess.",
        })
    }
}

/// The guesses `password` takes; `personal` are words an attacker would try first for
/// this account (its name, its email's local part), matched whatever their case.
pub fn estimate(password: &str, personal: &[&str]) -> Estimate {
    let password: Vec<char> = password.chars().take(MAX_ANALYSED_CHARS).collect();
    let personal: Vec<Vec<char>> = personal
        .iter()
        .map(|word| word.chars().map(lower).collect())
        .collect();
    let (guesses, sequence) = cheapest_reading(&password, &personal);
    let mut estimate = Estimate {
        guesses,
        warning: None,
    };
    if estimate.score() <= 2 {
        // zxcvbn's warning: about the longest part of the reading (the last of equals),
        // none if that part is brute force.
        let alone = sequence.len() == 1;
        let longest = sequence.iter().max_by_key(|m| m.j - m.i);
        estimate.warning = longest.and_then(|m| warning(m, alone));
    }
    estimate
}

fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// zxcvbn's search for the reading that minimises `l! * product of guesses +
/// 10_000^(l-1)` over the readings of `l` patterns, with brute force (10 guesses a
/// character) filling what no pattern covers.
fn cheapest_reading(password: &[char], personal: &[Vec<char>]) -> (f64, Vec<Match>) {
    let n = password.len();
    if n == 0 {
        return (1.0, Vec::new());
    }
    let lowered: Vec<char> = password.iter().copied().map(lower).collect();
    let estimate_part = |part: &[char]| cheapest_reading(part, personal).0;
    let mut matches = matching::all(password, &lowered, personal, &estimate_part);
    for m in &mut matches {
        m.guesses = m.guesses.max(floor(m.j - m.i + 1, n));
    }
    matches.sort_by_key(|m| (m.j, m.i));

    // best[k][l]: the cheapest reading of password[..=k] in l patterns.
    let mut best: Vec<Vec<Option<Step>>> = vec![vec![None; n + 1]; n];
    let mut factorial = vec![1.0f64; n + 2];
    for l in 1..factorial.len() {
        factorial[l] = factorial[l - 1] * l as f64;
    }
    let offer = |best: &mut Vec<Vec<Option<Step>>>,
                 part: Part,
                 i: usize,
                 k: usize,
                 l: usize,
                 guesses: f64| {
        let before = if l > 1 {
            match i.checked_sub(1).and_then(|p| best[p][l - 1]) {
                Some(step) => step.product,
                None => return,
            }
        } else {
            1.0
        };
        let product = guesses * before;
        let total = factorial[l] * product + 10_000f64.powi(l as i32 - 1);
        let beaten = best[k][..=l]
            .iter()
            .flatten()
            .any(|competing| competing.total <= total);
        if !beaten {
            best[k][l] = Some(Step {
                part,
                start: i,
                total,
                product,
            });
        }
    };

    let mut next = 0;
    for k in 0..n {
        while let Some(m) = matches.get(next).filter(|m| m.j == k) {
            if m.i == 0 {
                offer(&mut best, Part::Match(next), 0, k, 1, m.guesses);
            } else {
                for l in 1..n {
                    if best[m.i - 1][l].is_some() {
                        offer(&mut best, Part::Match(next), m.i, k, l + 1, m.guesses);
                    }
                }
            }
            next += 1;
        }
        offer(&mut best, Part::Bruteforce, 0, k, 1, bruteforce(k + 1, n));
        for i in 1..=k {
            let guesses = bruteforce(k - i + 1, n);
            for l in 1..n {
                // Two brute-force runs side by side are one longer run.
                if best[i - 1][l].is_some_and(|step| step.part != Part::Bruteforce) {
                    offer(&mut best, Part::Bruteforce, i, k, l + 1, guesses);
                }
            }
        }
    }

    let last = &best[n - 1];
    let Some((mut l, total)) = (1..=n)
        .filter_map(|l| last[l].map(|step| (l, step.total)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
    else {
        return (bruteforce(n, n), Vec::new());
    };
    let mut sequence = Vec::new();
    let mut k = Some(n - 1);
    while let Some(end) = k {
        let Some(step) = best[end][l] else { break };
        sequence.push(match step.part {
            Part::Match(index) => matches[index].clone(),
            Part::Bruteforce => Match {
                i: step.start,
                j: end,
                guesses: bruteforce(end - step.start + 1, n),
                pattern: Pattern::Bruteforce,
            },
        });
        k = step.start.checked_sub(1);
        l -= 1;
    }
    sequence.reverse();
    (total, sequence)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    Match(usize),
    Bruteforce,
}

#[derive(Debug, Clone, Copy)]
struct Step {
    part: Part,
    start: usize,
    /// `l! * product + 10_000^(l-1)`
    total: f64,
    product: f64,
}

/// A pattern inside a longer password is never counted as cheaper than this.
fn floor(chars: usize, password_chars: usize) -> f64 {
    match (chars < password_chars, chars) {
        (false, _) => 1.0,
        (true, 1) => 10.0,
        (true, _) => 50.0,
    }
}

/// Ten guesses a character, and always one more than a pattern over the same characters
/// could cost, so that the pattern is preferred.
fn bruteforce(chars: usize, password_chars: usize) -> f64 {
    let least = if chars == 1 { 11.0 } else { 51.0 };
    10f64
        .powi(i32::try_from(chars).unwrap_or(i32::MAX))
        .max(least)
        .max(floor(chars, password_chars))
}

fn warning(m: &Match, alone: bool) -> Option<Warning> {
    Some(match &m.pattern {
        Pattern::Word {
            list: List::Passwords,
            rank,
            l33t,
            reversed,
        } => {
            if alone && !l33t && !reversed {
                match rank {
                    ..=10 => Warning::TopTenPassword,
                    ..=100 => Warning::TopHundredPassword,
                    _ => Warning::CommonPassword,
                }
            } else if m.guesses.log10() <= 4.0 {
                Warning::SimilarToCommonPassword
            } else {
                return None;
            }
        }
        Pattern::Word {
            list: List::English,
            ..
        } if alone => Warning::WordByItself,
        Pattern::Word { list, .. } if list.is_names() => {
            if alone {
                Warning::NamesByThemselves
            } else {
                Warning::CommonNames
            }
        }
        Pattern::Word {
            list: List::Personal,
            ..
        } => Warning::PersonalWords,
        Pattern::Word { .. } => return None,
        Pattern::Keyboard { turns: 1 } => Warning::StraightRow,
        Pattern::Keyboard { .. } => Warning::ShortKeyboardPattern,
        Pattern::Repeat { base_chars: 1 } => Warning::SimpleRepeat,
        Pattern::Repeat { .. } => Warning::RepeatedPart,
        Pattern::Sequence => Warning::Sequence,
        Pattern::Year => Warning::RecentYear,
        Pattern::Date => Warning::Date,
        Pattern::Bruteforce => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warned(password: &str) -> Option<Warning> {
        let estimate = estimate(password, &["zqxw.vurt", "Zqxw", "Vurt"]);
        assert!(
            estimate.score() < 3,
            "{password:?} should be weak: {estimate:?}"
        );
        estimate.warning
    }

    #[test]
    fn each_weak_pattern_says_what_it_is() {
        assert_eq!(warned("password"), Some(Warning::TopTenPassword));
        assert_eq!(warned("football"), Some(Warning::TopHundredPassword));
        assert_eq!(warned("password1234"), Some(Warning::CommonPassword));
        assert_eq!(warned("p@ssw0rd"), Some(Warning::SimilarToCommonPassword));
        assert_eq!(warned("xcvbnm,./"), Some(Warning::StraightRow));
        assert_eq!(warned("dfghjuytr"), Some(Warning::ShortKeyboardPattern));
        assert_eq!(warned("aaaaaaaaaaaaaaaa"), Some(Warning::SimpleRepeat));
        assert_eq!(warned("xq7xq7xq7xq7"), Some(Warning::RepeatedPart));
        assert_eq!(warned("abcdefghijklmnop"), Some(Warning::Sequence));
        assert_eq!(warned("13.02.1987"), Some(Warning::Date));
        assert_eq!(warned("vurtzqxw"), Some(Warning::PersonalWords));
        assert_eq!(warned("jennifer"), Some(Warning::NamesByThemselves));
        assert_eq!(warned("smithjennifer"), Some(Warning::CommonNames));
        assert_eq!(warned("photosynthesis"), Some(Warning::WordByItself));
    }

    #[test]
    fn unrelated_words_and_random_strings_are_strong() {
        for password in [
            "correct horse battery staple",
            "a long passphrase here",
            "vK9#mQ2$zL7p",
            "ünïcödé pässwörd with spaces",
        ] {
            assert!(estimate(password, &[]).score() >= 3, "{password:?}");
        }
    }

    #[test]
    fn personal_words_make_a_password_weaker() {
        let anyone = estimate("Zanzibar-Quoll-71", &[]);
        let own = estimate("Zanzibar-Quoll-71", &["zanzibar", "quoll"]);
        assert!(own.guesses < anyone.guesses / 100.0, "{anyone:?} {own:?}");
    }

    #[test]
    fn only_the_first_128_characters_are_read() {
        let long = "x7!".repeat(400);
        let estimate = estimate(&long, &[]);
        assert!(estimate.guesses.is_finite() && estimate.guesses > 1.0);
        assert_eq!(
            super::estimate(&long[..MAX_ANALYSED_CHARS], &[]).guesses,
            estimate.guesses
        );
    }

    #[test]
    fn the_empty_password_takes_one_guess() {
        assert_eq!(estimate("", &[]).guesses, 1.0);
        assert_eq!(estimate("", &[]).score(), 0);
    }
}
