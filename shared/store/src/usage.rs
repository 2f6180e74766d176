//! The request units a piece of work consumed, as the store's backend reports them.
//! Each request's log line carries them, so cost can be read off real traffic (see
//! `infra/README.md`). Stores that are not metered (the embedded one) report none.

use std::cell::Cell;
use std::future::Future;

/// DynamoDB read and write request units, and how many requests spent them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub read_units: f64,
    pub write_units: f64,
    pub requests: u32,
}

tokio::task_local! {
    static USAGE: Cell<Usage>;
}

/// Runs `work` and returns its output with the units the store reported meanwhile.
/// Inside another `measure` (a benchmark around a request the API measures itself),
/// the units count in the enclosing one too.
pub async fn measure<F: Future>(work: F) -> (F::Output, Usage) {
    let (output, usage) = USAGE
        .scope(Cell::new(Usage::default()), async {
            let output = work.await;
            (output, USAGE.with(Cell::get))
        })
        .await;
    // Err only means nobody is measuring around this.
    let _ = USAGE.try_with(|outer| outer.set(outer.get().plus(usage)));
    (output, usage)
}

impl Usage {
    fn plus(self, other: Usage) -> Usage {
        Usage {
            read_units: self.read_units + other.read_units,
            write_units: self.write_units + other.write_units,
            requests: self.requests.saturating_add(other.requests),
        }
    }
}

/// Adds one request and its units to the surrounding [`measure`], if any; outside
/// one it is a no-op.
#[cfg_attr(not(feature = "dynamodb"), allow(dead_code))]
pub(crate) fn record(read_units: f64, write_units: f64) {
    // Err only means nobody is measuring this work.
    let _ = USAGE.try_with(|usage| {
        usage.set(usage.get().plus(Usage {
            read_units,
            write_units,
            requests: 1,
        }))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn measure_adds_up_what_was_recorded_inside_it_only() {
        record(9.0, 9.0);
        let ((), usage) = measure(async {
            record(0.5, 0.0);
            tokio::task::yield_now().await;
            record(1.0, 2.0);
        })
        .await;
        assert_eq!(
            usage,
            Usage {
                read_units: 1.5,
                write_units: 2.0,
                requests: 2,
            }
        );
    }

    #[tokio::test]
    async fn a_measurement_inside_another_counts_in_both() {
        let (((), inner), outer) = measure(async {
            record(1.0, 0.0);
            let inner = measure(async { record(0.5, 2.0) }).await;
            record(0.0, 1.0);
            inner
        })
        .await;
        assert_eq!(
            (inner.read_units, inner.write_units, inner.requests),
            (0.5, 2.0, 1)
        );
        assert_eq!(
            (outer.read_units, outer.write_units, outer.requests),
            (1.5, 3.0, 3)
        );
    }

    #[tokio::test]
    async fn separate_measurements_do_not_mix() {
        let (first, second) = tokio::join!(
            measure(async { record(1.0, 0.0) }),
            measure(async { record(0.0, 3.0) })
        );
        assert_eq!(first.1.read_units, 1.0);
        assert_eq!(first.1.write_units, 0.0);
        assert_eq!(second.1.write_units, 3.0);
    }
}
