//! Ranking memories against a free-text query. Both stores hand their candidates to
//! this one function, so search behaves identically locally and deployed.

use crate::Memory;

/// Lower-cased alphanumeric words of `text`.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

/// How well `memory` matches: the whole phrase scores most, then each query word by
/// exact word, tag, prefix, and substring match. Zero means no match.
fn score(memory: &Memory, phrase: &str, terms: &[String]) -> u32 {
    let text = memory.text.to_lowercase();
    let text_words: Vec<String> = words(&memory.text).collect();
    let tags: Vec<String> = memory.tags.iter().map(|tag| tag.to_lowercase()).collect();
    let mut total = if terms.len() > 1 && text.contains(phrase) {
        10
    } else {
        0
    };
    for term in terms {
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

/// The memories that match `query`, best match first; equal scores newest first.
pub fn rank(memories: Vec<Memory>, query: &str) -> Vec<Memory> {
    let terms: Vec<String> = words(query).collect();
    if terms.is_empty() {
        return Vec::new();
    }
    let phrase = terms.join(" ");
    let mut scored: Vec<(u32, Memory)> = memories
        .into_iter()
        .map(|memory| (score(&memory, &phrase, &terms), memory))
        .filter(|(score, _)| *score > 0)
        .collect();
    scored.sort_by(|(a_score, a), (b_score, b)| b_score.cmp(a_score).then(b.id.cmp(&a.id)));
    scored.into_iter().map(|(_, memory)| memory).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryId;
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
}
