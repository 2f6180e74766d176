#!/usr/bin/env bash
# The web pages in a real browser: Debian's chromium, driven by playwright-core, against
# local-dev on a free port with a throwaway data directory. Installs chromium (as root)
# when it is missing and the pinned npm packages (npm ci). Screenshots of every page at
# desktop and phone width land in tests/artifacts/screenshots (git-ignored).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
artifacts="$repo/tests/artifacts"
source "$repo/tests/local-dev.sh"

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

server=$(local_dev_binary "$repo")
mkdir -p "$artifacts/screenshots"
data=$(mktemp -d)
cleanup() {
  stop_local_devs
  rm -rf "$data"
}
trap cleanup EXIT

# Many signups come from one address here, and the rate-limit test wants a low bar.
start_local_dev "$server" "$data/main" "$artifacts/browser-local-dev-main.log" \
  --signups-per-hour 1000 --failed-logins-per-account-and-address 5
base=$LOCAL_DEV_URL
# Access tokens of 3 s, for the dashboard's silent renewal.
start_local_dev "$server" "$data/short" "$artifacts/browser-local-dev-short.log" \
  --signups-per-hour 1000 --token-ttl-seconds 3
short=$LOCAL_DEV_URL
echo "local-dev for the browser tests on $base (3 s tokens on $short)"

cd "$here"
MEM0_BASE_URL="$base" MEM0_SHORT_TTL_URL="$short" MEM0_SCREENSHOT_DIR="$artifacts/screenshots" MEM0_OUTBOX_DIR="$data/main/data/outbox" \
  node --test --test-concurrency=1 --test-timeout=300000 --test-reporter=spec pages.test.mjs
echo "screenshots in tests/artifacts/screenshots"
