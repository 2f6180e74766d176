//! Both estimators over the same 1,700 passwords: ours must refuse (score < 3) what
//! zxcvbn refuses, never accept what zxcvbn finds plainly weak, estimate about as many
//! guesses and mostly give the same warning.

use std::fs;

/// xorshift64*: the corpus is the same at every run.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len())]
    }
}

fn list(name: &str) -> String {
    fs::read_to_string(format!("{}/data/{name}.txt", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn corpus() -> Vec<(String, Vec<&'static str>)> {
    let passwords = list("passwords");
    let english = list("english_wikipedia");
    let names = list("female_names");
    let passwords: Vec<&str> = passwords.lines().collect();
    let english: Vec<&str> = english.lines().collect();
    let names: Vec<&str> = names.lines().collect();
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let mut corpus: Vec<(String, Vec<&'static str>)> = Vec::new();
    let suffixes = [
        "", "1", "123", "1234", "!", "2024", "1990", "!!", "12345678",
    ];
    for (rank, password) in passwords.iter().enumerate().take(400) {
        let suffix = suffixes[rank % suffixes.len()];
        corpus.push((format!("{password}{suffix}"), vec![]));
        corpus.push((format!("{}{suffix}", capitalised(password)), vec![]));
    }
    for _ in 0..400 {
        let common = &english[..2_000];
        let words = 2 + dice.below(3);
        let separator = [" ", "-", "", "."][dice.below(4)];
        let phrase: Vec<String> = (0..words)
            .map(|_| {
                let from = if dice.below(2) == 0 { common } else { &english };
                let word = dice.pick(from);
                if dice.below(3) == 0 {
                    capitalised(word)
                } else {
                    word.to_owned()
                }
            })
            .collect();
        corpus.push((phrase.join(separator), vec![]));
    }
    for _ in 0..200 {
        let name = dice.pick(&names);
        let year = 1950 + dice.below(75);
        let password = match dice.below(4) {
            0 => format!("{}{year}", capitalised(name)),
            1 => format!("{name}{}{}", dice.pick(&english), dice.below(100)),
            2 => format!("{}/{}/{year}{name}", 1 + dice.below(28), 1 + dice.below(12)),
            _ => format!("{name}{name}{}", dice.below(10)),
        };
        corpus.push((password, vec![]));
    }
    let alphabets = [
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_=+",
    ];
    for _ in 0..300 {
        let alphabet: Vec<char> = alphabets[dice.below(2)].chars().collect();
        let length = 8 + dice.below(10);
        corpus.push((
            (0..length)
                .map(|_| alphabet[dice.below(alphabet.len())])
                .collect(),
            vec![],
        ));
    }
    for fixed in [
        "qwertyuiop12",
        "1qaz2wsx3edc",
        "asdfghjkl;'1",
        "zxcvbnm,./12",
        "qazwsxedcrfv",
        "QWERTYuiop!@",
        "7894561230147",
        "abcabcabcabc",
        "aaaaaaaaaaaaaaaa",
        "passwordpassword",
        "p@ssw0rd1234",
        "S3cur1ty!2024",
        "Tr0ub4dor&3-plus-some-more",
        "abcdefghijklmnop",
        "9876543210zyx",
        "john1990-05-12",
        "12/05/1990abc",
        "monkey19801231",
        "1a2b3c4d5e6f",
        "correct horse battery staple",
        "a long passphrase here",
        "ünïcödé pässwörd with spaces",
    ] {
        corpus.push((fixed.to_owned(), vec![]));
    }
    for (password, hints) in [
        (
            "alicesmith2024",
            vec!["alice.smith", "mem0", "Alice", "Smith"],
        ),
        (
            "Smith-Alice-99",
            vec!["alice.smith", "mem0", "Alice", "Smith"],
        ),
        ("mem0mem0mem0", vec!["bob", "mem0", "Bob"]),
        (
            "htimsecila123",
            vec!["alice.smith", "mem0", "Alice", "Smith"],
        ),
    ] {
        corpus.push((password.to_owned(), hints));
    }
    corpus
}

#[test]
fn refuses_what_zxcvbn_refuses() {
    let corpus = corpus();
    let mut disagreements = Vec::new();
    let mut gross = Vec::new();
    let mut differences: Vec<f64> = Vec::new();
    let (mut weak, mut same_warning) = (0, 0);
    for (password, hints) in &corpus {
        let ours = strength::estimate(password, hints);
        let theirs = zxcvbn::zxcvbn(password, hints);
        let their_score = u8::from(theirs.score());
        // zxcvbn counts guesses in a u64: it stops at 10^19.27.
        let ours_log10 = ours.guesses.log10().min((u64::MAX as f64).log10());
        differences.push((ours_log10 - theirs.guesses_log10()).abs());
        if (ours.score() >= 3) != (their_score >= 3) {
            disagreements.push(format!(
                "{password:?}: ours {} (10^{:.1}), zxcvbn {their_score} (10^{:.1})",
                ours.score(),
                ours.guesses.log10(),
                theirs.guesses_log10()
            ));
        }
        if ours.score() < 3 && their_score < 3 {
            weak += 1;
            let their_warning = theirs
                .feedback()
                .and_then(|f| f.warning())
                .map(|w| w.to_string());
            // Where two readings cost the same, each may name another one; zxcvbn's pick
            // among equals follows its hash maps' order, so its count moves from run to
            // run (968-977 of 992 over three runs).
            if ours.warning.map(|w| w.to_string()) == their_warning {
                same_warning += 1;
            }
        }
        if ours.score() >= 3 && their_score <= 1 {
            gross.push(password.clone());
        }
    }
    differences.sort_by(f64::total_cmp);
    let median = differences[differences.len() / 2];
    let p90 = differences[differences.len() * 9 / 10];
    eprintln!(
        "{} passwords; {} decided differently; |log10 guesses| difference median {median:.2}, \
         p90 {p90:.2}; same warning for {same_warning} of {weak} weak ones",
        corpus.len(),
        disagreements.len()
    );
    for line in &disagreements {
        eprintln!("  {line}");
    }
    assert!(p90 <= 0.5, "estimates too far from zxcvbn's");
    assert!(
        same_warning * 100 >= weak * 95,
        "warnings too often not zxcvbn's"
    );
    assert!(
        gross.is_empty(),
        "accepted, though zxcvbn finds them weak: {gross:?}"
    );
    assert!(
        disagreements.len() * 100 <= corpus.len() * 3,
        "{} of {} decided differently",
        disagreements.len(),
        corpus.len()
    );
}
