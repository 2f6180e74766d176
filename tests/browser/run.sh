#!/usr/bin/env bash
# The web pages in a real browser: Debian's chromium, driven by playwright-core, against
# local-dev on a free port with a throwaway data directory. Installs chromium (as root)
# when it is missing and the pinned npm packages (npm ci). Screenshots of every page at
# desktop and phone width land in tests/artifacts/screenshots (git-ignored).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
artifacts="$repo/tests/artifacts"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/browser: /usr/bin/chromium is missing and only root can install it: apt-get install chromium" >&2
    exit 1
  fi
  echo "installing Debian's chromium"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
/usr/bin/chromium --version 2>/dev/null | grep -q . || { echo "tests/browser: /usr/bin/chromium does not run" >&2; exit 1; }

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

(cd "$repo" && cargo build -p local-dev --locked)
target=${CARGO_TARGET_DIR:-target}
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
server="$target/debug/local-dev"

mkdir -p "$artifacts/screenshots"
data=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$data"
}
trap cleanup EXIT

# Starts local-dev with the given flags; prints its URL once it listens.
start_server() {
  local name=$1
  shift
  local dir="$data/$name" log="$artifacts/browser-local-dev-$name.log"
  mkdir -p "$dir"
  : > "$dir/stdout"
  "$server" --port 0 --data-dir "$dir/data" "$@" > "$dir/stdout" 2> "$log" &
  local pid=$!
  pids+=("$pid")
  local url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^mem0 local-dev listening on //p' "$dir/stdout" || true)
    [ -n "$url" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "local-dev ($name) failed to start:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  [ -n "$url" ] || { echo "local-dev ($name) did not report its address" >&2; exit 1; }
  echo "$url"
}

# Many signups come from one address here, and the rate-limit test wants a low bar.
start_server main --signups-per-hour 1000 --failed-logins-per-account-and-address 5 > "$data/main.url"
base=$(cat "$data/main.url")
# Access tokens of 3 s, for the dashboard's silent renewal.
start_server short --signups-per-hour 1000 --token-ttl-seconds 3 > "$data/short.url"
short=$(cat "$data/short.url")
echo "local-dev for the browser tests on $base (3 s tokens on $short)"

cd "$here"
MEM0_BASE_URL="$base" MEM0_SHORT_TTL_URL="$short" MEM0_SCREENSHOT_DIR="$artifacts/screenshots" MEM0_OUTBOX_DIR="$data/main/data/outbox" \
  node --test --test-concurrency=1 --test-timeout=300000 --test-reporter=spec pages.test.mjs
echo "screenshots in tests/artifacts/screenshots"
