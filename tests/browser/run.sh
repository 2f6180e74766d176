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
log="$artifacts/browser-local-dev.log"
# Many signups come from one address here, and the rate-limit test wants a low bar.
: > "$data/stdout"
"$server" --port 0 --data-dir "$data" --signups-per-hour 1000 --failed-logins-per-account-and-address 5 \
  > "$data/stdout" 2> "$log" &
server_pid=$!
cleanup() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

base=""
for _ in $(seq 1 100); do
  base=$(sed -n 's/^mem0 local-dev listening on //p' "$data/stdout" || true)
  [ -n "$base" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "local-dev failed to start:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
[ -n "$base" ] || { echo "local-dev did not report its address" >&2; exit 1; }
echo "local-dev for the browser tests on $base"

cd "$here"
MEM0_BASE_URL="$base" MEM0_SCREENSHOT_DIR="$artifacts/screenshots" MEM0_OUTBOX_DIR="$data/outbox" \
  node --test --test-concurrency=1 --test-timeout=60000 --test-reporter=spec pages.test.mjs
echo "screenshots in tests/artifacts/screenshots"
