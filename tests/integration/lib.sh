# Helpers for the shell integration tests. Sourced.

# start_leakwatch LOGFILE ARGS...: starts the daemon on 127.0.0.1:0 in the
# background, waits for its "Listening on" line and sets LEAKWATCH_PID and
# LEAKWATCH_URL (http://host:port).
start_leakwatch() {
  local logfile="$1"
  shift
  # Emptied here, not by the child's redirection, so a reused log file
  # cannot show the previous daemon's address to the loop below.
  : >"$logfile"
  "$LEAKWATCH" --web.listen-address 127.0.0.1:0 "$@" >>"$logfile" 2>&1 &
  LEAKWATCH_PID=$!
  local address=""
  for _ in $(seq 1 100); do
    address=$(sed -n 's/.*msg="Listening on" address=\([^ ]*\).*/\1/p' "$logfile" | head -1)
    [ -n "$address" ] && break
    if ! kill -0 "$LEAKWATCH_PID" 2>/dev/null; then
      echo "leakwatch exited early:" >&2
      cat "$logfile" >&2
      return 1
    fi
    sleep 0.1
  done
  if [ -z "$address" ]; then
    echo "leakwatch did not log its address:" >&2
    cat "$logfile" >&2
    return 1
  fi
  LEAKWATCH_URL="http://$address"
}

# stop_leakwatch: SIGTERM, and fail unless the daemon exits 0 within 5 s.
stop_leakwatch() {
  [ -n "${LEAKWATCH_PID:-}" ] || return 0
  kill -TERM "$LEAKWATCH_PID" 2>/dev/null || true
  local status=0
  for _ in $(seq 1 50); do
    kill -0 "$LEAKWATCH_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$LEAKWATCH_PID" 2>/dev/null; then
    echo "leakwatch did not exit within 5 s of SIGTERM" >&2
    kill -KILL "$LEAKWATCH_PID"
    LEAKWATCH_PID=""
    return 1
  fi
  wait "$LEAKWATCH_PID" || status=$?
  LEAKWATCH_PID=""
  if [ "$status" -ne 0 ]; then
    echo "leakwatch exited $status after SIGTERM (want 0)" >&2
    return 1
  fi
}

# metric_value TEXT NAME ID: the value of NAME{id="ID"} in an exposition.
metric_value() {
  printf '%s\n' "$1" | awk -v name="$2" -v id="$3" '
    index($0, name "{") == 1 && index($0, "id=\"" id "\"") { print $NF; exit }'
}

# need_v1_memory_cgroups ROOT: exits 77 (ctest's skip) unless this is root
# with a writable cgroup v1 memory hierarchy at ROOT/memory.
need_v1_memory_cgroups() {
  if [ "$(id -u)" -ne 0 ] || [ ! -w "$1/memory" ] || [ ! -f "$1/memory/memory.usage_in_bytes" ]; then
    echo "SKIP: needs root and a writable cgroup v1 memory hierarchy at $1/memory"
    exit 77
  fi
}
