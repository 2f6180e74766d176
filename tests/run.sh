#!/usr/bin/env bash
# Runs every test: the infra template checks (cfn-lint), unit tests, the store
# conformance suite on the embedded store and on a real DynamoDB-compatible server
# (moto), the end-to-end tests against local-dev on both stores, the CLI and MCP server
# as processes, the Lambdas under `cargo lambda watch`, schemathesis fuzzing local-dev
# with its OpenAPI document, the web pages in headless chromium, and an agent that
# connects to /mcp by URL with the official MCP Python SDK (OAuth, consent in chromium). Needs cargo,
# python3 and node/npm; installs moto, schemathesis, cargo-lambda and cfn-lint into
# target/test-venv (with the MCP SDK and playwright for Python), chromium with apt (as root)
# and playwright-core with npm.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/test-venv
mkdir -p target
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt

echo "== infra/template.yaml: cfn-lint, SAM transform (routes and table drift are cargo tests below)"
bash infra/check.sh

port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# One request at a time: DynamoDB's conditional writes are atomic, moto's threaded ones
# are not (see tests/moto_server.py), and the concurrency tests rely on them.
"$venv/bin/python" tests/moto_server.py "$port" > target/moto.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT

endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('$endpoint/moto-api/', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "moto server failed to start:" >&2
    cat target/moto.log >&2
    exit 1
  fi
  sleep 0.2
done
echo "DynamoDB-compatible server (moto) on $endpoint"

export MEM0_TEST_DYNAMODB_ENDPOINT="$endpoint"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

echo "== unit, conformance and end-to-end tests (embedded store for local-dev)"
cargo test --workspace --locked

echo "== end-to-end tests again, local-dev on the DynamoDB store"
# --workspace keeps the feature set of the build above, so nothing is compiled again.
MEM0_E2E_STORE=dynamodb DYNAMODB_ENDPOINT="$endpoint" cargo test --workspace --locked --test e2e --test keys --test orgs --test sessions --test account --test refresh --test remote_mcp

echo "== the API Lambdas under cargo lambda watch"
bash tests/lambda-watch.sh "$endpoint"

echo "== schemathesis fuzzes local-dev with its own OpenAPI document (GET /openapi.json)"
bash tests/fuzz.sh "$venv"

echo "== web pages in headless chromium"
bash tests/browser/run.sh

echo "== an agent connects by URL: the MCP Python SDK's OAuth client against /mcp, consent in chromium"
bash tests/mcp_oauth/run.sh "$venv"
