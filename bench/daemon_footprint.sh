#!/usr/bin/env bash
# Whole-daemon footprint: generates a cgroup v2 tree with N containers in a
# temp dir, runs leakwatch on it for a while, and reports its resident
# memory, the last pass's duration and the CPU it used, from its own
# /metrics.
#   bench/daemon_footprint.sh BUILD/bin/leakwatch [N=1000] [INTERVAL=1s] [SECONDS=30]
set -euo pipefail
leakwatch="$1"
n="${2:-1000}"
interval="${3:-1s}"
duration="${4:-30}"
tree="$(mktemp -d)"
log="$tree.log"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tree" "$log"' EXIT

echo "memory cpu" >"$tree/cgroup.controllers"
for i in $(seq 1 "$n"); do
  id=$(printf '%064x' "$i")
  d="$tree/system.slice/docker-$id.scope"
  mkdir -p "$d"
  echo $((100 * 1048576 + i * 4096)) >"$d/memory.current"
  echo max >"$d/memory.max"
  printf 'anon %d\nfile %d\ninactive_file %d\n' $((80 * 1048576)) $((20 * 1048576)) $((5 * 1048576)) >"$d/memory.stat"
  printf 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n' >"$d/memory.events"
  printf 'usage_usec %d\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n' "$i" >"$d/cpu.stat"
done

"$leakwatch" --cgroup.root "$tree" --docker.host none --sample.interval "$interval" \
  --web.listen-address 127.0.0.1:0 >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  address=$(sed -n 's/.*msg="Listening on" address=\([^ ]*\).*/\1/p' "$log" | head -1)
  [ -n "$address" ] && break
  sleep 0.1
done
sleep "$duration"
metrics=$(curl -fsS "http://$address/metrics")
value() { printf '%s\n' "$metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
scrape_s=$(curl -fsS -o /dev/null -w '%{time_total}' "http://$address/metrics")
printf 'containers %s, interval %s, after %ss\n' "$(value leakwatch_containers)" "$interval" "$duration"
printf 'resident memory   %.1f MiB\n' "$(echo "$(value process_resident_memory_bytes) / 1048576" | bc -l)"
printf 'last pass         %.1f ms\n' "$(echo "$(value leakwatch_sample_duration_seconds) * 1000" | bc -l)"
printf 'CPU used          %.2f s over %s s (%.1f %% of one core)\n' "$(value process_cpu_seconds_total)" "$duration" \
  "$(echo "$(value process_cpu_seconds_total) * 100 / $duration" | bc -l)"
printf 'one scrape        %.1f ms, %s bytes\n' "$(echo "$scrape_s * 1000" | bc -l)" "$(printf '%s' "$metrics" | wc -c)"
