//! What the table shows of a binary's runs.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub median: Duration,
    pub min: Duration,
}

/// The median and minimum of `samples`; `None` when there are none.
pub fn summarize(samples: &[Duration]) -> Option<Summary> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let min = *sorted.first()?;
    let middle = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        let (low, high) = (sorted[middle - 1], sorted[middle]);
        low + (high - low) / 2
    };
    Some(Summary { median, min })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().copied().map(Duration::from_millis).collect()
    }

    #[test]
    fn an_odd_count_has_its_middle_sample_as_median() {
        let summary = summarize(&ms(&[9, 1, 5])).unwrap();
        assert_eq!(summary.median, Duration::from_millis(5));
        assert_eq!(summary.min, Duration::from_millis(1));
    }

    #[test]
    fn an_even_count_has_the_mean_of_its_two_middle_samples_as_median() {
        let summary = summarize(&ms(&[40, 2, 4, 1])).unwrap();
        assert_eq!(summary.median, Duration::from_millis(3));
        assert_eq!(summary.min, Duration::from_millis(1));
    }

    #[test]
    fn no_samples_have_no_summary() {
        assert_eq!(summarize(&[]), None);
    }
}
