#!/usr/bin/env bash
# The leak estimator end to end on this host's real cgroup v1 hierarchy
# (root only). Two memory cgroups named like Docker containers, 512 MiB
# limit each: in one, memhog leaks 2 MiB/s of anonymous memory; in the
# other, memhog holds 100 MiB. With a 100 ms interval and 10s/30s windows:
#   1. the leak gets leak_suspected{window=...} 1 in both windows, the flat
#      one never does (checked at every scrape), and both carry the score
#      and suspected series from the start;
#   2. SIGHUP with windows 10s,20s keeps the 10s window's state (still
#      suspected, still fitted, right after the reload), ends the 30s
#      series and starts 20s empty.
#   real_cgroup_leak.sh LEAKWATCH_BINARY MEMHOG_BINARY
# Exits 77 (ctest's skip) where v1 memory cgroups cannot be created.
set -euo pipefail
LEAKWATCH="$1"
MEMHOG="$2"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
root=/sys/fs/cgroup
need_v1_memory_cgroups "$root"

new_id() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
leak_id=$(new_id)
flat_id=$(new_id)
parent="$root/memory/leakwatch-leak-it-$$/docker"
work="$(mktemp -d)"
pids=()
cleanup() {
  stop_leakwatch || true
  for p in "${pids[@]}"; do
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rmdir "$parent/$leak_id" "$parent/$flat_id" "$parent" "$(dirname "$parent")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- leak series:" >&2
  curl -fsS "$LEAKWATCH_URL/metrics" 2>/dev/null | grep -E 'leak|time_to_limit' | grep -E "$leak_id|$flat_id" >&2 || true
  echo "--- daemon log (tail):" >&2
  tail -20 "$work/daemon.log" >&2 || true
  exit 1
}

# hog ID ARGS...: runs memhog ARGS inside the container's cgroup (the shell
# joins it before exec'ing, so every page memhog touches is charged there)
# and waits for its "ready".
hog() {
  local id="$1"
  shift
  mkdir -p "$parent/$id"
  echo $((512 * 1024 * 1024)) >"$parent/$id/memory.limit_in_bytes"
  mkfifo "$work/ready-$id"
  sh -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' "$parent/$id" "$MEMHOG" "$@" >"$work/ready-$id" &
  pids+=($!)
  local line
  read -r line <"$work/ready-$id"
  [ "$line" = ready ] || fail "memhog $* did not start: $line"
}

# value TEXT NAME ID WINDOW: NAME{id="ID",...,window="WINDOW"}'s value.
value() {
  printf '%s\n' "$1" | awk -v name="$2" -v id="$3" -v w="$4" '
    index($0, name "{") == 1 && index($0, "id=\"" id "\"") &&
    index($0, "window=\"" w "\"") { print $NF; exit }'
}

hog "$leak_id" 32 2 400   # 32 MiB, then 2 MiB/s: 1400 % of the limit per hour
hog "$flat_id" 100

cfg="$work/leakwatch.yml"
cat >"$cfg" <<'YAML'
sample:
  interval: 100ms
leak:
  windows: [10s, 30s]
YAML
start_leakwatch "$work/daemon.log" --config.file "$cfg" --cgroup.root "$root" \
  --docker.host none

# 1. Detection: each window needs enough history to judge (at most its
# length) and then leak.persistence agreeing evaluations (one per 1/32 of
# it): well within 70 s.
suspected_name=leakwatch_container_memory_leak_suspected
detected=""
for i in $(seq 1 70); do
  metrics=$(curl -fsS "$LEAKWATCH_URL/metrics")
  for w in 10s 30s; do
    flat=$(value "$metrics" $suspected_name "$flat_id" $w)
    [ -n "$flat" ] || fail "no $suspected_name{window=\"$w\"} for the flat container"
    [ "$flat" = 0 ] || fail "the flat container is suspected in window $w"
    [ -n "$(value "$metrics" leakwatch_container_memory_leak_score "$flat_id" $w)" ] ||
      fail "no leak_score{window=\"$w\"} for the flat container"
  done
  if [ "$(value "$metrics" $suspected_name "$leak_id" 10s)" = 1 ] &&
    [ "$(value "$metrics" $suspected_name "$leak_id" 30s)" = 1 ]; then
    detected=$i
    break
  fi
  sleep 1
done
[ -n "$detected" ] || fail "the leak was not suspected in both windows within 70 s"
echo "leak suspected in 10s and 30s after about $detected s; flat never"
slope=$(value "$metrics" leakwatch_container_memory_leak_slope_bytes_per_second "$leak_id" 30s)
ttl=$(value "$metrics" leakwatch_container_memory_time_to_limit_seconds "$leak_id" 30s)
r2=$(value "$metrics" leakwatch_container_memory_leak_r_squared "$leak_id" 30s)
echo "30s window: slope $slope B/s, r2 $r2, time to limit $ttl s"
# memhog touches 2 MiB/s; allow for the kernel's accounting granularity.
awk -v s="$slope" 'BEGIN { exit !(s > 1.6 * 1048576 && s < 2.4 * 1048576) }' ||
  fail "slope $slope is not about 2 MiB/s"
[ -n "$ttl" ] || fail "no time to limit for the leak"
[ -z "$(value "$metrics" leakwatch_container_memory_time_to_limit_seconds "$flat_id" 30s)" ] ||
  fail "a time to limit for the flat container"

# 2. Reload with 10s kept, 30s dropped, 20s added.
cat >"$cfg" <<'YAML'
sample:
  interval: 100ms
leak:
  windows: [10s, 20s]
YAML
kill -HUP "$LEAKWATCH_PID"
for _ in $(seq 1 50); do
  grep -q 'msg="Completed loading of configuration file"' "$work/daemon.log" && break
  sleep 0.1
done
grep -q 'msg="Completed loading of configuration file"' "$work/daemon.log" || fail "the reload did not complete"
sleep 0.3 # the pass that applies the settings
metrics=$(curl -fsS "$LEAKWATCH_URL/metrics")
[ "$(value "$metrics" $suspected_name "$leak_id" 10s)" = 1 ] ||
  fail "the 10s window lost its verdict in the reload"
[ -n "$(value "$metrics" leakwatch_container_memory_leak_slope_bytes_per_second "$leak_id" 10s)" ] ||
  fail "the 10s window lost its fit in the reload"
[ "$(value "$metrics" $suspected_name "$leak_id" 20s)" = 0 ] ||
  fail "the new 20s window is not there with suspected 0"
[ -z "$(value "$metrics" leakwatch_container_memory_leak_slope_bytes_per_second "$leak_id" 20s)" ] ||
  fail "the new 20s window has a fit before it has 20 s of history"
if grep -q 'window="30s"' <<<"$metrics"; then fail "window 30s still exported after the reload"; fi
echo "reload: 10s kept its verdict, 30s gone, 20s started empty"

if grep -E 'level=(warn|error)' "$work/daemon.log"; then fail "warnings or errors in the log"; fi
stop_leakwatch
