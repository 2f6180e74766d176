//! The report: one line a binary, the baseline first, times in milliseconds and sizes in
//! MB (10^6 bytes), each with its ratio to the baseline.

use std::fmt::Write;
use std::time::Duration;

use crate::stats::Summary;

/// One binary's figures.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub size: u64,
    pub zipped: u64,
    pub init: Summary,
    pub first_response: Summary,
    /// The status of the first response (the same in every run).
    pub status: u16,
}

/// The table for `rows`, each compared with `baseline`.
pub fn render(baseline: &Row, rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>7} {:>7} {:>6}   {:<28}   {:<28}",
        "", "size", "zipped", "", "init", "response"
    );
    let _ = writeln!(
        out,
        "{:<16} {:>7} {:>7} {:>6}   {}   {}   {:>6}",
        "binary", "MB", "MB", "×base", PHASE_HEADER, PHASE_HEADER, "status"
    );
    for row in std::iter::once(baseline).chain(rows) {
        let _ = writeln!(
            out,
            "{:<16} {:>7.2} {:>7.2} {:>6}   {}   {}   {:>6}",
            row.name,
            megabytes(row.size),
            megabytes(row.zipped),
            ratio(row.zipped as f64, baseline.zipped as f64),
            phase(row.init, baseline.init),
            phase(row.first_response, baseline.first_response),
            row.status,
        );
    }
    out
}

const PHASE_HEADER: &str = "median  ×base     min  ×base";

/// Median and minimum, each with its ratio to the baseline's: on a shared machine the
/// minimum is the steadier of the two.
fn phase(summary: Summary, baseline: Summary) -> String {
    format!(
        "{:>6} {:>6}  {:>6} {:>6}",
        millis(summary.median),
        ratio(summary.median.as_secs_f64(), baseline.median.as_secs_f64()),
        millis(summary.min),
        ratio(summary.min.as_secs_f64(), baseline.min.as_secs_f64()),
    )
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn millis(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1e3)
}

fn ratio(value: f64, baseline: f64) -> String {
    if baseline > 0.0 {
        format!("{:.2}", value / baseline)
    } else {
        "-".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, zipped: u64, init_ms: u64, response_ms: u64) -> Row {
        let summary = |ms| Summary {
            median: Duration::from_millis(ms),
            min: Duration::from_millis(ms / 2),
        };
        Row {
            name: name.to_owned(),
            size: zipped * 2,
            zipped,
            init: summary(init_ms),
            first_response: summary(response_ms),
            status: 401,
        }
    }

    #[test]
    fn each_line_shows_its_figures_as_ratios_to_the_baseline() {
        let table = render(
            &row("hello", 1_000_000, 2, 4),
            &[row("login", 2_500_000, 6, 6)],
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        let hello: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            hello,
            [
                "hello", "2.00", "1.00", "1.00", "2.00", "1.00", "1.00", "1.00", "4.00", "1.00",
                "2.00", "1.00", "401"
            ]
        );
        let login: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(
            login,
            [
                "login", "5.00", "2.50", "2.50", "6.00", "3.00", "3.00", "3.00", "6.00", "1.50",
                "3.00", "1.50", "401"
            ]
        );
    }
}
