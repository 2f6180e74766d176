#!/usr/bin/env bash
# An agent connects to /mcp by URL with the official MCP Python SDK and its OAuth client
# (test_flow.py), the consent page driven in Debian's chromium, against local-dev on a
# free port whose access tokens live 3 s, so the SDK has to refresh by itself.
# Run after tests/browser/run.sh, which installs chromium.
#
# Usage: tests/mcp_oauth/run.sh [VENV]   (default target/test-venv, with tests/requirements.txt)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$repo/tests/local-dev.sh"
venv=${1:-target/test-venv}
case "$venv" in /*) ;; *) venv="$repo/$venv" ;; esac
if ! "$venv/bin/python" -c 'import mcp, playwright' 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/tests/requirements.txt"
fi

server=$(local_dev_binary "$repo")
data=$(mktemp -d)
cleanup() {
  stop_local_devs
  rm -rf "$data"
}
trap cleanup EXIT
ttl=3
mkdir -p "$repo/tests/artifacts"
start_local_dev "$server" "$data" "$repo/tests/artifacts/mcp-oauth-local-dev.log" \
  --signups-per-hour 1000 --oauth-access-token-seconds "$ttl"
echo "local-dev for the MCP OAuth flow on $LOCAL_DEV_URL (access tokens of $ttl s)"
"$venv/bin/python" -B "$here/test_flow.py" "$LOCAL_DEV_URL" "$ttl"
