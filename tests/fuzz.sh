#!/usr/bin/env bash
# Fuzzes local-dev with its own OpenAPI document (GET /openapi.json) using schemathesis:
# no answer may be a 5xx, each must have a documented status, content type and schema,
# and a route that documents a bearer token must refuse requests without a valid one.
# Starts local-dev on a free port with a throwaway data directory, signs up a user and
# creates two contexts for the fuzzer to find, fuzzes for MEM0_FUZZ_SECONDS (75), and
# judges the run with tests/fuzz_verdict.py. Reports land in tests/artifacts/fuzz.
#
# Usage: tests/fuzz.sh [VENV]   (default target/test-venv; made with tests/requirements.txt
# when it has no schemathesis)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/tests/local-dev.sh"
venv=${1:-target/test-venv}
case "$venv" in /*) ;; *) venv="$repo/$venv" ;; esac
python="$venv/bin/python"
schemathesis="$venv/bin/schemathesis"
if [ ! -x "$schemathesis" ]; then
  [ -x "$python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/tests/requirements.txt"
fi

# The judge first: it decides what of schemathesis' output fails the run.
(cd "$repo/tests" && "$python" -B -m unittest -q test_fuzz_verdict)

server=$(local_dev_binary "$repo")

artifacts="$repo/tests/artifacts/fuzz"
rm -rf "$artifacts"
mkdir -p "$artifacts"
data=$(mktemp -d)
log="$artifacts/local-dev.log"
cleanup() {
  stop_local_devs
  rm -rf "$data"
}
trap cleanup EXIT
# Every request comes from 127.0.0.1: with the default budgets the fuzzer would spend its
# time on 429s and its own re-logins would be refused. The 429 stays documented.
start_local_dev "$server" "$data" "$log" --signups-per-hour 100000 \
  --failed-logins-per-account-and-address 100000 --failed-logins-per-address 100000 \
  --failed-logins-per-account 100000
base=$LOCAL_DEV_URL
echo "local-dev for the fuzzer on $base (log: tests/artifacts/fuzz/local-dev.log)"

# A user and two contexts, so that the fuzzer's requests reach more than the 404s.
export MEM0_FUZZ_EMAIL=fuzz@example.com
MEM0_FUZZ_PASSWORD=$("$python" -c 'import secrets; print(secrets.token_urlsafe(24))')
export MEM0_FUZZ_PASSWORD
"$python" - "$base" <<'PYTHON'
import json, os, sys, urllib.request

base = sys.argv[1]

def call(method, path, body, token=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)

signup = {"email": os.environ["MEM0_FUZZ_EMAIL"], "password": os.environ["MEM0_FUZZ_PASSWORD"], "name": "Fuzz"}
token = call("POST", "/auth/signup/individual", signup)["user"]["jwt_token"]
for name in ["fuzz", "notes"]:
    call("POST", "/contexts", {"name": name, "description": "for the fuzzer"}, token)
    call("POST", f"/contexts/{name}/memories", {"text": "Deploy with sam deploy", "tags": ["ops"]}, token)
PYTHON

# --max-time bounds the fuzzing (schemathesis spends all of it), `timeout` the whole run
# should a request hang past --request-timeout. One worker: schemathesis' threads trip a
# CPython 3.11 bug in ast.parse (Hypothesis describing its strategies), and the server
# answers in a millisecond, so a second worker buys little on two cores.
seconds=${MEM0_FUZZ_SECONDS:-75}
# In the target directory, beside the binary it fuzzed.
export MEM0_FUZZ_CACHE="$(dirname "$(dirname "$server")")/schemathesis-cache"
status=0
timeout $((seconds + 60)) "$schemathesis" --config-file "$repo/tests/schemathesis.toml" \
  run "$base/openapi.json" --url "$base" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,ignored_auth \
  --max-time "$seconds" --request-timeout 10 --workers 1 --no-color \
  --report junit,ndjson --report-dir "$artifacts" --report-junit-path "$artifacts/junit.xml" \
  --report-ndjson-path "$artifacts/events.ndjson" \
  2>&1 | tee "$artifacts/schemathesis.txt" || status=${PIPESTATUS[0]}
verdict=0
"$python" "$repo/tests/fuzz_verdict.py" "$artifacts/junit.xml" "$status" || verdict=$?
if ! kill -0 "$LOCAL_DEV_PID" 2>/dev/null || grep -q "panicked" "$log"; then
  echo "fuzz: FAILED: local-dev died or panicked under the fuzzer; see tests/artifacts/fuzz/local-dev.log"
  verdict=1
fi
exit "$verdict"
