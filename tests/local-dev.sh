# Sourced by the test scripts that run local-dev as a process (fuzz.sh, browser/run.sh,
# mcp_oauth/run.sh): its binary, started on a free port with its own data directory,
# and stopped again.

LOCAL_DEV_PIDS=()

# local_dev_binary REPO: the checkout's local-dev, built with the features
# `cargo test --workspace` resolves, so after the tests this builds nothing and a lone
# run never tests a stale binary.
local_dev_binary() {
  local repo=$1 target=${CARGO_TARGET_DIR:-target}
  (cd "$repo" && cargo build --quiet --workspace --bins --tests --locked)
  case "$target" in /*) ;; *) target="$repo/$target" ;; esac
  echo "$target/debug/local-dev"
}

# start_local_dev BINARY DIR LOG [FLAGS...]: starts local-dev on a free port with its data
# in DIR/data, its log in LOG; sets LOCAL_DEV_URL and LOCAL_DEV_PID once it listens.
start_local_dev() {
  local binary=$1 dir=$2 log=$3
  shift 3
  mkdir -p "$dir"
  "$binary" --port 0 --data-dir "$dir/data" "$@" > "$dir/stdout" 2> "$log" &
  LOCAL_DEV_PID=$!
  LOCAL_DEV_PIDS+=("$LOCAL_DEV_PID")
  LOCAL_DEV_URL=""
  for _ in $(seq 1 100); do
    LOCAL_DEV_URL=$(sed -n 's/^mem0 local-dev listening on //p' "$dir/stdout" || true)
    [ -n "$LOCAL_DEV_URL" ] && return 0
    if ! kill -0 "$LOCAL_DEV_PID" 2>/dev/null; then
      echo "local-dev failed to start; its log:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "local-dev did not report its address" >&2
  return 1
}

stop_local_devs() {
  local pid
  for pid in "${LOCAL_DEV_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
