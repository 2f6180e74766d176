#!/usr/bin/env bash
# Recall, search and writes as a context grows (bench/README.md), on the embedded store
# and on moto's DynamoDB, whose requests and request units each operation spent are in
# the table. Installs moto into target/test-venv as the tests do. Not part of the tests.
# Extra arguments go to the benchmark, e.g. `bash bench/recall-growth.sh --samples 500`.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/test-venv
mkdir -p target
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
cargo build --release --locked -p bench --bin recall-growth

port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/python" tests/moto_server.py "$port" > target/recall-growth-moto.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
    break
  fi
  kill -0 "$moto_pid" 2>/dev/null || { cat target/recall-growth-moto.log >&2; exit 1; }
  sleep 0.2
done

AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
  "${CARGO_TARGET_DIR:-target}/release/recall-growth" --dynamodb-endpoint "http://127.0.0.1:$port" "$@"
