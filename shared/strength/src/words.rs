//! The word lists: zxcvbn's frequency lists, built by build.rs into one FST map in the
//! binary's read-only data, and the caller's own words (name, email) beside them.

use std::sync::LazyLock;

use fst::raw::{Fst, Output};

/// Which list a word comes from; the warning given depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum List {
    Passwords,
    English,
    FemaleNames,
    MaleNames,
    Surnames,
    TvAndFilm,
    /// The account's own name, email and the like.
    Personal,
}

impl List {
    /// The lists in the order build.rs numbers them.
    const BUILT: [List; 6] = [
        List::Passwords,
        List::English,
        List::FemaleNames,
        List::MaleNames,
        List::Surnames,
        List::TvAndFilm,
    ];

    pub(crate) fn is_names(self) -> bool {
        matches!(self, List::FemaleNames | List::MaleNames | List::Surnames)
    }
}

static WORDS: LazyLock<Fst<&'static [u8]>> = LazyLock::new(|| {
    Fst::new(&include_bytes!(concat!(env!("OUT_DIR"), "/words.fst"))[..])
        .expect("build.rs writes a valid FST")
});

/// A word found in a run of (lower-case) characters: `seq[start..=end]`.
pub(crate) struct Found {
    pub start: usize,
    pub end: usize,
    pub list: List,
    pub rank: u64,
}

/// Every word of the lists and of `personal` (lower-case, ranked by position) that
/// appears in `seq`, one walk of the FST from each start: a start stops as soon as no
/// word begins with what it has read.
pub(crate) fn find(seq: &[char], personal: &[Vec<char>], mut found: impl FnMut(Found)) {
    let fst = &*WORDS;
    let mut utf8 = [0u8; 4];
    for start in 0..seq.len() {
        let mut node = fst.root();
        let mut output = Output::zero();
        'walk: for (end, c) in seq.iter().enumerate().skip(start) {
            for &byte in c.encode_utf8(&mut utf8).as_bytes() {
                let Some(index) = node.find_input(byte) else {
                    break 'walk;
                };
                let transition = node.transition(index);
                output = output.cat(transition.out);
                node = fst.node(transition.addr);
            }
            if node.is_final() {
                let value = output.cat(node.final_output()).value();
                let list = usize::try_from(value & 0b111)
                    .ok()
                    .and_then(|list| List::BUILT.get(list));
                if let Some(&list) = list {
                    found(Found {
                        start,
                        end,
                        list,
                        rank: value >> 3,
                    });
                }
            }
        }
        for (rank, word) in (1u64..).zip(personal) {
            if !word.is_empty() && seq[start..].starts_with(word) {
                found(Found {
                    start,
                    end: start + word.len() - 1,
                    list: List::Personal,
                    rank,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_in(text: &str) -> Vec<(String, List, u64)> {
        let seq: Vec<char> = text.chars().collect();
        let mut words = Vec::new();
        find(&seq, &[], |f| {
            words.push((seq[f.start..=f.end].iter().collect(), f.list, f.rank))
        });
        words
    }

    #[test]
    fn words_carry_their_best_rank_and_list() {
        let words = words_in("password");
        assert!(
            words.contains(&("password".into(), List::Passwords, 2)),
            "{words:?}"
        );
        // "pass" is both a password (rank 51) and an English word; the better rank wins.
        assert!(
            words
                .iter()
                .any(|(w, list, _)| w == "pass" && *list == List::Passwords)
        );
        let the = words_in("the");
        assert_eq!(
            the,
            vec![
                ("the".into(), List::English, 1),
                ("he".into(), List::English, 12)
            ]
        );
        assert!(words_in("zzqxjv").is_empty());
    }

    #[test]
    fn personal_words_are_found_anywhere() {
        let seq: Vec<char> = "xxalicexx".chars().collect();
        let mut found_at = Vec::new();
        find(&seq, &["alice".chars().collect()], |f| {
            if f.list == List::Personal {
                found_at.push((f.start, f.end, f.rank));
            }
        });
        assert_eq!(found_at, vec![(2, 6, 1)]);
    }
}
