//! Log set-up at init, as Lambda's advanced logging controls ask: the level from
//! `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` (a level, or `target=level` pairs), else INFO;
//! JSON lines when `AWS_LAMBDA_LOG_FORMAT` is `JSON`.
//!
//! The same as `lambda_http::tracing::init_default_subscriber` but for the filter:
//! `Targets` instead of `EnvFilter`, whose regular expressions are about 0.5 MB of every
//! binary and were parsed at every cold start for a filter that is one level.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::env::var;

/// Sets up the logs of every function, `pages` too.
pub fn init() {
    let filter = var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| var("RUST_LOG"))
        .map_or_else(
            || Targets::new().with_default(LevelFilter::INFO),
            |spec| filter(&spec),
        );
    let json =
        var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|format| format.eq_ignore_ascii_case("json"));
    let format = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(false)
        .without_time();
    let registry = tracing_subscriber::registry().with(filter);
    // A second subscriber (a test's) keeps its own; that is not an error.
    let _ = if json {
        registry.with(format.json()).try_init()
    } else {
        registry.with(format).try_init()
    };
}

/// `spec` as a filter: Lambda's `FATAL` is tracing's ERROR; what cannot be read is INFO.
fn filter(spec: &str) -> Targets {
    let spec = spec.trim();
    if spec.eq_ignore_ascii_case("fatal") {
        return Targets::new().with_default(LevelFilter::ERROR);
    }
    spec.parse()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_as_lambda_and_rust_log_write_them() {
        let info = tracing::Level::INFO;
        let debug = tracing::Level::DEBUG;
        assert!(filter("DEBUG").would_enable("api", &debug));
        assert!(filter("warn").would_enable("api", &tracing::Level::WARN));
        assert!(!filter("warn").would_enable("api", &info));
        assert!(!filter("FATAL").would_enable("api", &tracing::Level::WARN));
        assert!(filter("FATAL").would_enable("api", &tracing::Level::ERROR));
        assert!(filter("nonsense==").would_enable("api", &info));
        assert!(!filter("nonsense==").would_enable("api", &debug));
        let targets = filter("info,store=debug");
        assert!(targets.would_enable("store::dynamo", &debug));
        assert!(!targets.would_enable("api", &debug));
    }
}
