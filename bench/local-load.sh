#!/usr/bin/env bash
# A release local-dev under load beside baselines run in the same command (bench/README.md):
# logins beside the bare argon2id verify, reads beside a hello-world handler, and resident
# memory. Not part of the tests. Extra arguments go to the benchmark, e.g. `--seconds 8`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Two builds, not one, as in cold-start.sh: local-dev is measured with its own features.
cargo build --release --locked -p local-dev
cargo build --release --locked -p bench --bin local-load

release="${CARGO_TARGET_DIR:-target}/release"
"$release/local-load" --local-dev "$release/local-dev" "$@"
