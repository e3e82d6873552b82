#!/usr/bin/env bash
# Acceptance 2: against each hostile fake Docker API (fake_docker.py:
# malformed JSON, truncated chunked streams, a server that accepts and never
# answers, endless bodies, HTTP 500s), /metrics still lists every container
# found in cgroups, leakwatch_docker_up is 0, and the daemon never exits.
# Then the same fake in "good" mode over tcp:// names the container, which
# shows the faults, not the plumbing, kept Docker down.
#   hostile.sh LEAKWATCH_BINARY
set -euo pipefail
LEAKWATCH="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
fixtures="$here/../fixtures"
tree="$fixtures/cgroup/hybrid"
work="$(mktemp -d /tmp/lw-hostile-XXXXXX)"
fake_pid=""
cleanup() {
  stop_leakwatch || true
  [ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_fake() {  # start_fake MODE ARGS...: sets fake_pid
  local mode="$1"
  shift
  python3 "$here/fake_docker.py" --mode "$mode" --fixtures "$fixtures/docker" \
    --container-id "$cid" "$@" >"$work/fake-$mode.log" 2>&1 &
  fake_pid=$!
}

stop_fake() {
  kill "$fake_pid" 2>/dev/null || true
  wait "$fake_pid" 2>/dev/null || true
  fake_pid=""
}

# What cgroups alone show: the baseline every hostile run must match.
start_leakwatch "$work/baseline.log" --cgroup.root "$tree" --docker.host none \
  --sample.interval 1s
baseline="$(scrape)"
stop_leakwatch
mapfile -t ids < <(printf '%s\n' "$baseline" |
  sed -n 's/^leakwatch_container_memory_usage_bytes{.*id="\([0-9a-f]\{64\}\)".*/\1/p' | sort -u)
[ "${#ids[@]}" -ge 1 ] || { echo "no containers in $tree" >&2; exit 1; }
grep -q '^leakwatch_docker_up' <<<"$baseline" &&
  FAIL "--docker.host none must not export leakwatch_docker_up"
cid="${ids[0]}"
echo "cgroup containers: ${#ids[@]}"

for mode in malformed truncated silent endless http500; do
  sock="$work/$mode.sock"
  start_fake "$mode" --unix "$sock"
  for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
  start_leakwatch "$work/$mode.log" --cgroup.root "$tree" \
    --docker.host "unix://$sock" --sample.interval 1s
  # Several passes, reconnects and (for silent) timeouts.
  for round in 1 2 3; do
    sleep 1.5
    metrics="$(scrape)" || { FAIL "$mode: scrape $round failed"; continue; }
    for id in "${ids[@]}"; do
      [ -n "$(series "$metrics" leakwatch_container_memory_usage_bytes "$id")" ] ||
        FAIL "$mode: container $id missing from /metrics (round $round)"
    done
    grep -qx 'leakwatch_docker_up 0' <<<"$metrics" ||
      FAIL "$mode: leakwatch_docker_up is not 0 (round $round): $(grep docker_up <<<"$metrics")"
    grep -q 'name="' <<<"$metrics" &&
      FAIL "$mode: a name label from a hostile daemon"
  done
  kill -0 "$LEAKWATCH_PID" 2>/dev/null || FAIL "$mode: leakwatch exited"
  grep -q 'msg="Docker unavailable' "$work/$mode.log" ||
    FAIL "$mode: no 'Docker unavailable' log line"
  stop_leakwatch || FAIL "$mode: leakwatch did not exit 0 on SIGTERM"
  stop_fake
  echo "$mode: ${#ids[@]} containers listed, docker_up 0, still running"
done

# The same fake, well-behaved, over TCP.
start_fake good --tcp "$work/port"
for _ in $(seq 1 50); do [ -f "$work/port" ] && break; sleep 0.1; done
port="$(cat "$work/port")"
start_leakwatch "$work/good.log" --cgroup.root "$tree" \
  --docker.host "tcp://127.0.0.1:$port" --sample.interval 1s
named() {
  local m
  m="$(scrape)" || return 1
  grep -qx 'leakwatch_docker_up 1' <<<"$m" &&
    series "$m" leakwatch_container_memory_usage_bytes "$cid" |
    grep -q 'name="lw-rec-web"'
}
wait_until 3 named || FAIL "good fake over tcp://: no docker_up 1 and name label"
stop_leakwatch
stop_fake
[ "$fail" -eq 0 ] && echo "tcp://127.0.0.1:$port: docker_up 1, $cid named lw-rec-web"
exit "$fail"
