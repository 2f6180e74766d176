#!/usr/bin/env bash
# Smoke test: the three Lambda binaries under `cargo lambda watch`, routed by the
# workspace's [workspace.metadata.lambda.watch.router], against the DynamoDB-compatible
# server at $1. Signs up, logs in, creates a context and reads it back.
set -euo pipefail
cd "$(dirname "$0")/.."
endpoint=$1
venv=target/test-venv
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements-lambda.txt
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

PATH="$PWD/$venv/bin:$PATH" setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" \
  --env-vars "MEM0_JWT_SECRET=lambda-watch-smoke-secret-0123456789,MEM0_TABLE=lambda-watch-$port,DYNAMODB_ENDPOINT=$endpoint" \
  > target/lambda-watch.log 2>&1 &
watch_pid=$!
finish() {
  status=$?
  kill -- -"$watch_pid" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    echo "cargo lambda watch smoke test failed; its log:" >&2
    tail -n 40 target/lambda-watch.log >&2
  fi
}
trap finish EXIT

"$venv/bin/python" - "http://127.0.0.1:$port" <<'PY'
import json, sys, time, urllib.error, urllib.request

base = sys.argv[1]

def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=180) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)

deadline = time.time() + 120
while True:
    try:
        urllib.request.urlopen(base + "/", timeout=2)
        break
    except urllib.error.HTTPError:
        break  # the emulator answers: it is up
    except OSError:
        if time.time() > deadline:
            sys.exit("cargo lambda watch did not start; see target/lambda-watch.log")
        time.sleep(0.5)

user = {"email": "watch@example.com", "password": "a long passphrase here", "name": "Watch"}
status, body = call("POST", "/auth/signup/individual", user)
assert status == 201, (status, body)
status, body = call("POST", "/auth/login", {"email": user["email"], "password": user["password"]})
assert status == 200 and body["message"] == "Login successful", (status, body)
token = body["user"]["jwt_token"]
status, body = call("POST", "/contexts", {"name": "watched"}, token)
assert status == 201, (status, body)
status, body = call("GET", "/contexts", token=token)
assert status == 200 and [c["name"] for c in body["contexts"]] == ["watched"], (status, body)
status, body = call("GET", "/auth/me", token=token)
assert status == 200 and body["user"]["email"] == user["email"], (status, body)
status, body = call("GET", "/contexts")
assert status == 401 and body["error"] == "unauthorized", (status, body)
print("cargo lambda watch: signup, login, /auth/me and contexts answered through the router")
PY
