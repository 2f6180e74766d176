//! Memories: the notes an agent keeps in a context, and their tags.

use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;

use crate::{ParseError, longer_than, refuse};

/// A memory's id: a ULID, so ids sort by creation time (newest first = descending id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MemoryId(String);

impl MemoryId {
    /// Strictly increasing within this process, even within one millisecond, so
    /// "newest first" is exact for memories written back to back.
    pub fn generate() -> Self {
        static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());
        // The generator only remembers the last id, so a poisoned lock is still usable.
        let mut generator = GENERATOR
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Overflow takes 2^80 ids in one millisecond; a fresh random id is fine then.
        let id = generator.generate().unwrap_or_else(|_| ulid::Ulid::new());
        Self(id.to_string())
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        ulid::Ulid::from_string(raw)
            .map(|id| Self(id.to_string()))
            .map_err(|_| refuse("Not a memory id."))
    }
}

text_newtype!(MemoryId);

/// A memory's text: trimmed, 1–16,000 characters, no control characters but line
/// breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MemoryText(String);

impl MemoryText {
    pub const MAX_CHARS: usize = 16_000;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(refuse("The memory text must not be empty."));
        }
        if longer_than(text, Self::MAX_CHARS) {
            return Err(refuse(format!(
                "The memory text must be at most {} characters.",
                Self::MAX_CHARS
            )));
        }
        // Control characters garble terminals and logs that show memories; line breaks
        // and tabs are ordinary text.
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(refuse(
                "The memory text must not contain control characters other than line breaks and tabs.",
            ));
        }
        Ok(Self(text.to_owned()))
    }
}

text_newtype!(MemoryText);

/// A memory's tags: each trimmed, 1–64 characters without control characters; repeats
/// dropped (the first kept, in order); at most 20.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Tags(Vec<String>);

impl Tags {
    pub const MAX_TAGS: usize = 20;
    pub const MAX_CHARS: usize = 64;

    /// Every tag is checked, so that a bad tag is named as such even among too many;
    /// past the 21st distinct tag nothing more is kept or compared, so a body of a
    /// hundred thousand distinct tags costs one pass, not a comparison of each pair.
    pub fn parse<I>(raw: I) -> Result<Self, ParseError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut tags: Vec<String> = Vec::new();
        let mut too_many = false;
        for tag in raw {
            let tag = tag.as_ref().trim();
            if tag.is_empty()
                || longer_than(tag, Self::MAX_CHARS)
                || tag.chars().any(char::is_control)
            {
                return Err(refuse(format!(
                    "Each tag must be 1-{} characters.",
                    Self::MAX_CHARS
                )));
            }
            if too_many || tags.iter().any(|seen| seen == tag) {
                continue;
            }
            if tags.len() == Self::MAX_TAGS {
                too_many = true;
            } else {
                tags.push(tag.to_owned());
            }
        }
        if too_many {
            return Err(refuse(format!(
                "At most {} tags per memory.",
                Self::MAX_TAGS
            )));
        }
        Ok(Self(tags))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl From<Tags> for Vec<String> {
    fn from(tags: Tags) -> Self {
        tags.0
    }
}

#[derive(Debug, Clone)]
pub struct NewMemory {
    pub text: MemoryText,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    pub id: MemoryId,
    pub text: String,
    pub tags: Vec<String>,
    pub created_at: OffsetDateTime,
}

impl Memory {
    /// A memory as first stored: a fresh id, created now.
    pub fn create(new: NewMemory, created_at: OffsetDateTime) -> Self {
        Self {
            id: MemoryId::generate(),
            text: new.text.into(),
            tags: new.tags.into(),
            created_at,
        }
    }
}

/// One page of memories, newest first; `next` is the id to continue after, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPage {
    pub memories: Vec<Memory>,
    pub next: Option<MemoryId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(message: &str) -> ParseError {
        ParseError(message.to_owned())
    }

    #[test]
    fn memory_ids_are_ulids_and_sort_by_time() {
        let first = MemoryId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = MemoryId::generate();
        assert!(second > first);
        assert_eq!(MemoryId::parse(first.as_str()).unwrap(), first);
        assert!(MemoryId::parse("not-a-ulid").is_err());
    }

    #[test]
    fn memory_text_is_trimmed_non_empty_and_at_most_sixteen_thousand_characters() {
        assert_eq!(MemoryText::parse("  note \n").unwrap().as_str(), "note");
        assert_eq!(
            MemoryText::parse(" \n\t "),
            Err(refusal("The memory text must not be empty."))
        );
        let longest = "😀".repeat(MemoryText::MAX_CHARS);
        assert!(MemoryText::parse(&longest).is_ok());
        assert_eq!(
            MemoryText::parse(&format!("{longest}x")),
            Err(refusal("The memory text must be at most 16000 characters."))
        );
    }

    #[test]
    fn control_characters_in_memory_text_are_refused_but_line_breaks_and_tabs_kept() {
        assert_eq!(
            MemoryText::parse("a\nb\r\nc\td").unwrap().as_str(),
            "a\nb\r\nc\td"
        );
        for bad in [
            "a\u{0}b",
            "a\u{7}b",
            "a\u{1b}[31mred",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{9f}b",
        ] {
            assert_eq!(
                MemoryText::parse(bad),
                Err(refusal(
                    "The memory text must not contain control characters other than line breaks and tabs."
                )),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn memory_tags_are_trimmed_deduplicated_and_bounded() {
        let tags = Tags::parse([" a ", "a", "b", "a "]).unwrap();
        assert_eq!(tags.as_slice(), ["a", "b"]);
        assert_eq!(Tags::parse(Vec::<String>::new()), Ok(Tags::default()));
        let twenty: Vec<String> = (0..Tags::MAX_TAGS).map(|i| i.to_string()).collect();
        assert_eq!(Tags::parse(&twenty).unwrap().as_slice(), twenty);
        let too_many = (0..=Tags::MAX_TAGS).map(|i| i.to_string());
        assert_eq!(
            Tags::parse(too_many),
            Err(refusal("At most 20 tags per memory."))
        );
        // Repeats of kept tags do not count towards the twenty.
        let repeated = twenty.iter().chain(twenty.iter());
        assert_eq!(Tags::parse(repeated).unwrap().as_slice(), twenty);
    }

    #[test]
    fn each_tag_is_one_to_sixty_four_characters_without_control_characters() {
        assert!(Tags::parse(["é".repeat(Tags::MAX_CHARS)]).is_ok());
        for bad in [
            "".to_owned(),
            "   ".to_owned(),
            "é".repeat(65),
            "a\tb".to_owned(),
        ] {
            assert_eq!(
                Tags::parse([bad.as_str()]),
                Err(refusal("Each tag must be 1-64 characters.")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_bad_tag_is_named_even_after_too_many_tags() {
        let tags = (0..=Tags::MAX_TAGS)
            .map(|i| i.to_string())
            .chain(["x".repeat(65)]);
        assert_eq!(
            Tags::parse(tags),
            Err(refusal("Each tag must be 1-64 characters."))
        );
    }

    /// What an attacker sends in a 1 MiB body: distinct tags only. Compared pairwise, as
    /// the handler once did, they took 37 s of CPU (release build); the cost now is
    /// measured by `cargo bench -p domain --bench tags`.
    #[test]
    fn a_flood_of_distinct_tags_is_refused_keeping_only_the_first_twenty_one() {
        let flood = (0..150_000).map(|i| i.to_string());
        assert_eq!(
            Tags::parse(flood),
            Err(refusal("At most 20 tags per memory."))
        );
    }
}
