//! The patterns found in a password, each with the guesses an attacker who knows the
//! pattern needs: zxcvbn's matchers (Wheeler, USENIX Security 2016) and its estimates.

use crate::words::{self, List};

/// `password[i..=j]` read as one pattern.
#[derive(Debug, Clone)]
pub(crate) struct Match {
    pub i: usize,
    pub j: usize,
    pub guesses: f64,
    pub pattern: Pattern,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Pattern {
    Word {
        list: List,
        rank: u64,
        l33t: bool,
        reversed: bool,
    },
    Keyboard {
        turns: usize,
    },
    Repeat {
        base_chars: usize,
    },
    Sequence,
    Year,
    Date,
    /// What no pattern covers: ten guesses a character.
    Bruteforce,
}

/// Every pattern in `password`. `lower` is `password` lower-cased character by
/// character; `personal` the caller's own words, lower-case.
pub(crate) fn all(
    password: &[char],
    lower: &[char],
    personal: &[Vec<char>],
    estimate: &dyn Fn(&[char]) -> f64,
) -> Vec<Match> {
    let mut matches = Vec::new();
    dictionary(password, lower, personal, &mut matches);
    keyboard(password, &QWERTY, &mut matches);
    keyboard(password, &KEYPAD, &mut matches);
    repeats(password, estimate, &mut matches);
    sequences(password, &mut matches);
    let this_year = reference_year();
    years(password, this_year, &mut matches);
    dates(password, this_year, &mut matches);
    matches
}

// ---- Words: as they are, reversed, and with l33t substitutions undone ----

/// Characters that stand for letters, and the letters they stand for.
const L33T: [(char, &[char]); 20] = [
    ('4', &['a']),
    ('@', &['a']),
    ('8', &['b']),
    ('(', &['c']),
    ('{', &['c']),
    ('[', &['c']),
    ('<', &['c']),
    ('3', &['e']),
    ('6', &['g']),
    ('9', &['g']),
    ('1', &['i', 'l']),
    ('!', &['i']),
    ('|', &['i', 'l']),
    ('7', &['l', 't']),
    ('0', &['o']),
    ('$', &['s']),
    ('5', &['s']),
    ('+', &['t']),
    ('%', &['x']),
    ('2', &['z']),
];

fn dictionary(password: &[char], lower: &[char], personal: &[Vec<char>], out: &mut Vec<Match>) {
    let word = |i: usize, j: usize, list, rank: u64, l33t: f64, reversed: bool| {
        let token = &password[i..=j];
        let guesses =
            rank as f64 * uppercase_variations(token) * l33t * if reversed { 2.0 } else { 1.0 };
        Match {
            i,
            j,
            guesses,
            pattern: Pattern::Word {
                list,
                rank,
                l33t: l33t > 1.0,
                reversed,
            },
        }
    };

    words::find(lower, personal, |f| {
        out.push(word(f.start, f.end, f.list, f.rank, 1.0, false));
    });

    let last = lower.len().saturating_sub(1);
    let reversed: Vec<char> = lower.iter().rev().copied().collect();
    words::find(&reversed, personal, |f| {
        // A palindrome reads the same both ways: the forward match has it already.
        if f.end > f.start && reversed[f.start..=f.end] != lower[last - f.end..=last - f.start] {
            out.push(word(
                last - f.end,
                last - f.start,
                f.list,
                f.rank,
                1.0,
                true,
            ));
        }
    });

    for substitution in substitutions(lower) {
        let translated: Vec<char> = lower
            .iter()
            .map(|c| {
                substitution
                    .iter()
                    .find(|(from, _)| from == c)
                    .map_or(*c, |&(_, to)| to)
            })
            .collect();
        words::find(&translated, personal, |f| {
            let token = &lower[f.start..=f.end];
            // Single characters are noise; and a word with nothing substituted is
            // already found as it is.
            if f.end == f.start || token == &translated[f.start..=f.end] {
                return;
            }
            let variations = l33t_variations(token, &substitution);
            out.push(word(f.start, f.end, f.list, f.rank, variations, false));
        });
    }
}

/// Each way of reading the password's l33t characters as letters (one letter per
/// character; `1` may be an `i` or an `l`), at most 16 of them.
fn substitutions(lower: &[char]) -> Vec<Vec<(char, char)>> {
    let mut present: Vec<(char, &[char])> = Vec::new();
    for &(from, to) in &L33T {
        if lower.contains(&from) {
            present.push((from, to));
        }
    }
    if present.is_empty() {
        return Vec::new();
    }
    let mut ways: Vec<Vec<(char, char)>> = vec![Vec::new()];
    for (from, letters) in present {
        let mut next = Vec::with_capacity(ways.len() * letters.len());
        for way in &ways {
            for &letter in letters {
                let mut way = way.clone();
                way.push((from, letter));
                next.push(way);
            }
        }
        ways = next;
        ways.truncate(16);
    }
    ways
}

fn l33t_variations(token: &[char], substitution: &[(char, char)]) -> f64 {
    let mut variations = 1.0;
    for &(subbed, letter) in substitution {
        let s = token.iter().filter(|&&c| c == subbed).count();
        if s == 0 {
            continue;
        }
        let u = token.iter().filter(|&&c| c == letter).count();
        variations *= if u == 0 { 2.0 } else { mixes(u, s) };
    }
    variations
}

fn uppercase_variations(token: &[char]) -> f64 {
    let upper = token.iter().filter(|c| c.is_uppercase()).count();
    let lower = token.iter().filter(|c| c.is_lowercase()).count();
    if upper == 0 {
        return 1.0;
    }
    let first_only = upper == 1 && token.first().is_some_and(|c| c.is_uppercase());
    let last_only = upper == 1 && token.last().is_some_and(|c| c.is_uppercase());
    if first_only || last_only || lower == 0 {
        return 2.0;
    }
    mixes(upper, lower)
}

/// zxcvbn's count of the ways `a` characters of one kind (capitals, substituted,
/// shifted) and `b` of the other can be arranged, up to the smaller of the two of the
/// rarer kind: the sum of C(a + b, k) for k from 1 to min(a, b).
fn mixes(a: usize, b: usize) -> f64 {
    (1..=a.min(b)).map(|k| n_choose_k(a + b, k)).sum()
}

fn n_choose_k(n: usize, k: usize) -> f64 {
    (1..=k).fold(1.0, |product, d| product * (n + 1 - d) as f64 / d as f64)
}

// ---- Keyboard walks ----

struct Keyboard {
    /// Row by row: each key's character, and on the qwerty layout its shifted one.
    rows: &'static [(&'static str, &'static str)],
    /// Horizontal position of each row's first key, in half keys (rows are staggered).
    offsets: &'static [i32],
    /// The neighbours' (row, half-key) steps; their index is the walk's direction.
    steps: &'static [(i32, i32)],
    starting_positions: f64,
    average_degree: f64,
}

const QWERTY: Keyboard = Keyboard {
    rows: &[
        ("`1234567890-=", "~!@#$%^&*()_+"),
        ("qwertyuiop[]\\", "QWERTYUIOP{}|"),
        ("asdfghjkl;'", "ASDFGHJKL:\""),
        ("zxcvbnm,./", "ZXCVBNM<>?"),
    ],
    offsets: &[0, 3, 4, 5],
    steps: &[(0, -2), (-1, -1), (-1, 1), (0, 2), (1, 1), (1, -1)],
    starting_positions: 94.0,
    average_degree: 4.595_744_680_851_064,
};

const KEYPAD: Keyboard = Keyboard {
    rows: &[
        (" /*-", " /*-"),
        ("789+", "789+"),
        ("456", "456"),
        ("123", "123"),
        (" 0.", " 0."),
    ],
    offsets: &[0, 0, 0, 0, 0],
    steps: &[
        (0, -2),
        (-1, -2),
        (-1, 0),
        (-1, 2),
        (0, 2),
        (1, 2),
        (1, 0),
        (1, -2),
    ],
    starting_positions: 15.0,
    average_degree: 5.066_666_666_666_667,
};

impl Keyboard {
    /// (row, half-key position, shifted) of a key.
    fn locate(&self, c: char) -> Option<(i32, i32, bool)> {
        if c == ' ' {
            return None;
        }
        (0i32..).zip(self.rows).find_map(|(row, (plain, shifted))| {
            let offset = self.offsets.get(row as usize).copied().unwrap_or(0);
            let column = |keys: &str| keys.chars().position(|k| k == c);
            let (column, is_shifted) = match column(plain) {
                Some(column) => (column, false),
                None => (column(shifted)?, plain != shifted),
            };
            let x = offset + 2 * i32::try_from(column).ok()?;
            Some((row, x, is_shifted))
        })
    }

    fn direction(&self, from: (i32, i32), to: (i32, i32)) -> Option<usize> {
        let step = (to.0 - from.0, to.1 - from.1);
        self.steps.iter().position(|&s| s == step)
    }

    /// zxcvbn's estimate: the walks of the same length with at most as many turns.
    fn guesses(&self, length: usize, turns: usize, shifted: usize) -> f64 {
        let mut guesses = 0.0;
        for i in 2..=length {
            for j in 1..=turns.min(i - 1) {
                guesses += n_choose_k(i - 1, j - 1)
                    * self.starting_positions
                    * self.average_degree.powi(j as i32);
            }
        }
        if shifted > 0 {
            let unshifted = length - shifted;
            guesses *= if unshifted == 0 {
                2.0
            } else {
                mixes(shifted, unshifted)
            };
        }
        guesses
    }
}

/// Runs of three or more keys, each next to the one before.
fn keyboard(password: &[char], board: &Keyboard, out: &mut Vec<Match>) {
    let mut i = 0;
    while i + 1 < password.len() {
        let Some(first) = board.locate(password[i]) else {
            i += 1;
            continue;
        };
        let (mut at, mut shifted) = ((first.0, first.1), usize::from(first.2));
        let (mut turns, mut heading) = (0, None);
        let mut j = i + 1;
        while let Some(key) = password.get(j).and_then(|&c| board.locate(c)) {
            let Some(direction) = board.direction(at, (key.0, key.1)) else {
                break;
            };
            if heading != Some(direction) {
                turns += 1;
                heading = Some(direction);
            }
            shifted += usize::from(key.2);
            at = (key.0, key.1);
            j += 1;
        }
        let length = j - i;
        if length >= 3 {
            out.push(Match {
                i,
                j: j - 1,
                guesses: board.guesses(length, turns, shifted),
                pattern: Pattern::Keyboard { turns },
            });
        }
        i = j;
    }
}

// ---- Repeats ----

/// The longest repetition starting at the first position where one starts, then the
/// next one after it, as zxcvbn's regular expressions find them. The repeated part is
/// estimated on its own: "abcabc" costs what "abc" costs, times two.
fn repeats(password: &[char], estimate: &dyn Fn(&[char]) -> f64, out: &mut Vec<Match>) {
    let n = password.len();
    let repeats_at = |i: usize, period: usize| {
        let mut count = 1;
        while i + (count + 1) * period <= n
            && password[i..i + period] == password[i + count * period..i + (count + 1) * period]
        {
            count += 1;
        }
        count
    };
    let mut i = 0;
    while i + 1 < n {
        let periods: Vec<(usize, usize)> = (1..=(n - i) / 2)
            .map(|period| (period, repeats_at(i, period)))
            .filter(|&(_, count)| count >= 2)
            .collect();
        let (Some(&shortest), Some(&longest)) = (periods.first(), periods.last()) else {
            i += 1;
            continue;
        };
        // Greedy or lazy, whichever covers more; ties go to the shorter period.
        let (period, count) = if longest.0 * longest.1 > shortest.0 * shortest.1 {
            longest
        } else {
            shortest
        };
        let span = period * count;
        let base = primitive_root(&password[i..i + span]);
        let repeated = span / base.len();
        out.push(Match {
            i,
            j: i + span - 1,
            guesses: estimate(base) * repeated as f64,
            pattern: Pattern::Repeat {
                base_chars: base.len(),
            },
        });
        i += span;
    }
}

/// The shortest part that `token` repeats ("ab" of "abababab").
fn primitive_root(token: &[char]) -> &[char] {
    (1..token.len())
        .filter(|&period| token.len().is_multiple_of(period))
        .find(|&period| token.chunks(period).all(|chunk| chunk == &token[..period]))
        .map_or(token, |period| &token[..period])
}

// ---- Sequences: abc, 6543, acegi ----

fn sequences(password: &[char], out: &mut Vec<Match>) {
    const MAX_DELTA: i64 = 5;
    let delta =
        |k: usize| i64::from(u32::from(password[k])) - i64::from(u32::from(password[k - 1]));
    let mut push = |i: usize, j: usize, delta: i64| {
        if (j - i > 1 || delta.abs() == 1) && (1..=MAX_DELTA).contains(&delta.abs()) {
            let first = password[i];
            let mut base = if "aAzZ019".contains(first) {
                4.0
            } else if first.is_ascii_digit() {
                10.0
            } else {
                26.0
            };
            if delta < 0 {
                base *= 2.0;
            }
            out.push(Match {
                i,
                j,
                guesses: base * (j - i + 1) as f64,
                pattern: Pattern::Sequence,
            });
        }
    };
    if password.len() < 2 {
        return;
    }
    let (mut i, mut last) = (0, delta(1));
    for k in 2..password.len() {
        let d = delta(k);
        if d != last {
            push(i, k - 1, last);
            i = k - 1;
            last = d;
        }
    }
    push(i, password.len() - 1, last);
}

// ---- Years and dates ----

/// Years are guessed outward from this one; zxcvbn takes the current year.
fn reference_year() -> i64 {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    1970 + i64::try_from(seconds / 31_556_952).unwrap_or(0)
}

/// The years an attacker tries before reaching `year`, counting out from `this_year`.
fn year_space(year: i64, this_year: i64) -> f64 {
    (year - this_year).abs().max(20) as f64
}

fn number(digits: &[char]) -> Option<i64> {
    digits
        .iter()
        .try_fold(0i64, |n, c| Some(n * 10 + i64::from(c.to_digit(10)?)))
}

/// 19xx and 20xx.
fn years(password: &[char], this_year: i64, out: &mut Vec<Match>) {
    let mut i = 0;
    while i + 4 <= password.len() {
        let token = &password[i..i + 4];
        let century = matches!(token[..2], ['1', '9'] | ['2', '0']);
        match number(token) {
            Some(year) if century => {
                out.push(Match {
                    i,
                    j: i + 3,
                    guesses: year_space(year, this_year),
                    pattern: Pattern::Year,
                });
                i += 4;
            }
            _ => i += 1,
        }
    }
}

const SEPARATORS: &[char] = &[' ', '/', '\\', '_', '.', '-'];

/// Day, month and year in some order, 4 to 8 digits or with separators ("13.2.1999").
fn dates(password: &[char], this_year: i64, out: &mut Vec<Match>) {
    let n = password.len();
    let mut found: Vec<(usize, usize, f64)> = Vec::new();
    for i in 0..n {
        for j in i + 3..(i + 8).min(n) {
            let token = &password[i..=j];
            let Some(splits) = date_splits(token.len()) else {
                continue;
            };
            if !token.iter().all(char::is_ascii_digit) {
                continue;
            }
            let nearest = splits
                .iter()
                .filter_map(|&(k, l)| {
                    date([
                        number(&token[..k])?,
                        number(&token[k..l])?,
                        number(&token[l..])?,
                    ])
                })
                .min_by_key(|year| (year - this_year).abs());
            if let Some(year) = nearest {
                found.push((i, j, year_space(year, this_year) * 365.0));
            }
        }
        for j in i + 5..(i + 10).min(n) {
            if let Some(year) = separated_date(&password[i..=j]) {
                found.push((i, j, year_space(year, this_year) * 365.0 * 4.0));
            }
        }
    }
    // A date inside a longer date is not a reading of its own.
    for &(i, j, guesses) in &found {
        let inside = found
            .iter()
            .any(|&(oi, oj, _)| (oi, oj) != (i, j) && oi <= i && oj >= j);
        if !inside {
            out.push(Match {
                i,
                j,
                guesses,
                pattern: Pattern::Date,
            });
        }
    }
}

/// Where zxcvbn cuts a run of digits into three numbers.
fn date_splits(length: usize) -> Option<&'static [(usize, usize)]> {
    Some(match length {
        4 => &[(1, 2), (2, 3)],
        5 => &[(1, 3), (2, 3)],
        6 => &[(1, 2), (2, 4), (4, 5)],
        7 => &[(1, 3), (2, 3), (4, 5), (4, 6)],
        8 => &[(2, 4), (4, 6)],
        _ => return None,
    })
}

/// `1-4 digits, separator, 1-2 digits, the same separator, 1-4 digits`.
fn separated_date(token: &[char]) -> Option<i64> {
    let first_end = token.iter().position(|c| !c.is_ascii_digit())?;
    let separator = token[first_end];
    if !SEPARATORS.contains(&separator) {
        return None;
    }
    let rest = &token[first_end + 1..];
    let middle_end = rest.iter().position(|&c| c == separator)?;
    let (first, middle, last) = (
        &token[..first_end],
        &rest[..middle_end],
        &rest[middle_end + 1..],
    );
    let digits = |part: &[char], most: usize| {
        (1..=most).contains(&part.len()) && part.iter().all(char::is_ascii_digit)
    };
    if !(digits(first, 4) && digits(middle, 2) && digits(last, 4)) {
        return None;
    }
    date([number(first)?, number(middle)?, number(last)?])
}

/// The year of three numbers read as a day, a month and a year, if they can be.
fn date(ints: [i64; 3]) -> Option<i64> {
    const MIN_YEAR: i64 = 1000;
    const MAX_YEAR: i64 = 2050;
    if !(1..=31).contains(&ints[1]) {
        return None;
    }
    if ints
        .iter()
        .any(|&int| (100..MIN_YEAR).contains(&int) || int > MAX_YEAR)
    {
        return None;
    }
    let over_31 = ints.iter().filter(|&&int| int > 31).count();
    let over_12 = ints.iter().filter(|&&int| int > 12).count();
    let under_1 = ints.iter().filter(|&&int| int <= 0).count();
    if over_31 >= 2 || over_12 == 3 || under_1 >= 2 {
        return None;
    }
    let day_month = |a: i64, b: i64| {
        let fits = |day: i64, month: i64| (1..=31).contains(&day) && (1..=12).contains(&month);
        fits(a, b) || fits(b, a)
    };
    let readings = [(ints[2], ints[0], ints[1]), (ints[0], ints[1], ints[2])];
    for (year, a, b) in readings {
        if (MIN_YEAR..=MAX_YEAR).contains(&year) {
            return day_month(a, b).then_some(year);
        }
    }
    for (year, a, b) in readings {
        if day_month(a, b) {
            return Some(match year {
                100.. => year,
                51..=99 => year + 1900,
                _ => year + 2000,
            });
        }
    }
    None
}
