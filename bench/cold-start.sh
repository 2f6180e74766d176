#!/usr/bin/env bash
# Release builds of the Lambda functions and of the hello-world baseline, then their
# cold starts and zipped sizes as one table (bench/README.md). Not part of the tests.
# Extra arguments go to the benchmark, e.g. `bash bench/cold-start.sh --runs 50`.
set -euo pipefail
cd "$(dirname "$0")/.."

functions=(signup login contexts orgs oauth mcp pages)
bins=()
for function in "${functions[@]}"; do
  bins+=(--bin "$function")
done

# Two builds, not one: in one command cargo would unify the bench crate's dependency
# features (axum's HTTP server, tower's extras) into the functions, and the functions
# measured would not be the ones deployed (infra/build.sh builds these alone).
cargo build --release --locked "${bins[@]}"
cargo build --release --locked -p bench --bin hello --bin cold-start

# Absolute: each binary is started from its own folder (its LAMBDA_TASK_ROOT).
release="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)"
args=()
for function in "${functions[@]}"; do
  args+=("$function=$release/$function")
done
"$release/cold-start" --baseline "$release/hello" "$@" "${args[@]}"
