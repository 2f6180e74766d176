//! The memories the benchmarks write: the same texts in every run, so that runs compare.

const WORDS: [&str; 24] = [
    "harbour", "lantern", "birch", "meeting", "invoice", "rust", "lambda", "deploy", "coffee",
    "review", "budget", "sprint", "garden", "river", "ticket", "schema", "release", "window",
    "signal", "cursor", "folder", "orange", "planet", "violin",
];

/// A word in about a third of the memories.
pub const SEARCHED: &str = "harbour";

/// Twelve words of `WORDS` picked from `index` alone, so every run writes the same texts.
pub fn memory_text(index: usize) -> String {
    let mut state = (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let words: Vec<&str> = (0..12)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            WORDS[(state % WORDS.len() as u64) as usize]
        })
        .collect();
    format!("memory {index}: {}", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_searched_word_is_in_about_a_third_of_the_memories() {
        let found = (0..3_000)
            .filter(|&i| memory_text(i).contains(SEARCHED))
            .count();
        assert!((700..=1_400).contains(&found), "{found} of 3000");
        assert_eq!(memory_text(7), memory_text(7));
        assert_ne!(memory_text(7), memory_text(8));
    }
}
