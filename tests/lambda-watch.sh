#!/usr/bin/env bash
# Smoke test: the three Lambda binaries under `cargo lambda watch`, routed by the
# workspace's [workspace.metadata.lambda.watch.router], against the DynamoDB-compatible
# server at $1 (moto, which also stands in for Secrets Manager). Signs up, logs in,
# creates a context and reads it back, then checks the functions' JSON request logs.
set -euo pipefail
cd "$(dirname "$0")/.."
endpoint=$1
venv=target/test-venv
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements-lambda.txt
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The signing key lives in Secrets Manager (moto's), as deployed: the functions get only
# its ARN and fetch it at start-up. Logs are JSON, as Lambda's advanced logging sets them.
secret_arn=$("$venv/bin/python" - "$endpoint" "lambda-watch-$port" <<'PY'
import json, secrets, sys, urllib.request
endpoint, name = sys.argv[1:]
request = urllib.request.Request(endpoint + "/", method="POST",
    data=json.dumps({"Name": name, "SecretString": secrets.token_urlsafe(48)}).encode(),
    headers={"X-Amz-Target": "secretsmanager.CreateSecret",
             "Content-Type": "application/x-amz-json-1.1",
             "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0"})
print(json.load(urllib.request.urlopen(request, timeout=10))["ARN"])
PY
)

# The functions never create tables (deployed ones come from infra/): local-dev does.
table="lambda-watch-$port"
cargo run --quiet --locked -p local-dev -- table --table "$table" --dynamodb-endpoint "$endpoint"

PATH="$PWD/$venv/bin:$PATH" setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" \
  --env-vars "MEM0_JWT_SECRET_ARN=$secret_arn,AWS_ENDPOINT_URL_SECRETS_MANAGER=$endpoint,AWS_LAMBDA_LOG_FORMAT=JSON,MEM0_TABLE=$table,DYNAMODB_ENDPOINT=$endpoint" \
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
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)

deadline = time.time() + 300
while True:
    try:
        # A path no function serves: the router answers at once, before any build.
        urllib.request.urlopen(base + "/lambda-watch-ready", timeout=2)
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
body_user_id = body["user"]["user_id"]
status, body = call("POST", "/contexts", {"name": "watched"}, token)
assert status == 201, (status, body)
status, body = call("GET", "/contexts", token=token)
assert status == 200 and [c["name"] for c in body["contexts"]] == ["watched"], (status, body)
status, body = call("GET", "/auth/me", token=token)
assert status == 200 and body["user"]["email"] == user["email"], (status, body)
status, body = call("GET", "/contexts")
assert status == 401 and body["error"] == "unauthorized", (status, body)
print("cargo lambda watch: signup, login, /auth/me and contexts answered through the router")

# Each request left one JSON log line with its ids, route, status, latency and user,
# and nothing secret.
def logged_requests():
    found = []
    for raw in open("target/lambda-watch.log", encoding="utf-8", errors="replace"):
        start = raw.find('{"')
        try:
            line = json.loads(raw[start:]) if start >= 0 else {}
        except ValueError:
            continue
        if line.get("fields", {}).get("message") == "request":
            found.append(line["fields"])
    return found

deadline = time.time() + 10
while True:  # the emulator may pass the last lines on a moment later
    requests = logged_requests()
    routes = [(r["method"], r["route"], r["status"]) for r in requests]
    if ("GET", "/contexts", 401) in routes or time.time() > deadline:
        break
    time.sleep(0.2)
assert ("POST", "/auth/login", 200) in routes and ("GET", "/contexts", 401) in routes, routes
login = next(r for r in requests if r["route"] == "/auth/login")
assert login["user_id"] == body_user_id and login["request_id"] and "latency_ms" in login, login
log_text = open("target/lambda-watch.log", encoding="utf-8", errors="replace").read()
assert user["password"] not in log_text and token not in log_text, "a secret reached the logs"
print("cargo lambda watch: signing key fetched from Secrets Manager; JSON request logs carry no secrets")
PY
