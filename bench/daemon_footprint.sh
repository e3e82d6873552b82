#!/usr/bin/env bash
# Whole-daemon footprint: generates a cgroup v2 tree with N containers in a
# temp dir, runs leakwatch on it for a while, and reports its resident
# memory, the last pass's duration and the CPU it used, from its own
# /metrics.
#   bench/daemon_footprint.sh BUILD/bin/leakwatch [N=1000] [INTERVAL=1s] [SECONDS=30] [DAEMON FLAGS...]
# env PROCS (default 2): processes per container, each listed in the
# container's cgroup.procs with a /proc/<pid>/status in a procfs tree
# beside it (--path.procfs), so attribution by process is paid for; 0
# leaves cgroup.procs empty. memory.stat carries the keys a 6.x kernel
# prints for the memory kinds.
set -euo pipefail
leakwatch="$1"
n="${2:-1000}"
interval="${3:-1s}"
duration="${4:-30}"
shift $(( $# < 4 ? $# : 4 ))
procs="${PROCS:-2}"
tree="$(mktemp -d)"
procfs="$(mktemp -d)"
log="$tree.log"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tree" "$procfs" "$log"' EXIT

# The host's PID namespace, as leakwatch checks it, and its memory.
mkdir -p "$procfs/self/ns"
ln -s 'pid:[4026531836]' "$procfs/self/ns/pid"
cp /proc/meminfo "$procfs/meminfo"
echo "memory cpu" >"$tree/cgroup.controllers"
for i in $(seq 1 "$n"); do
  id=$(printf '%064x' "$i")
  d="$tree/system.slice/docker-$id.scope"
  mkdir -p "$d"
  echo $((100 * 1048576 + i * 4096)) >"$d/memory.current"
  echo max >"$d/memory.max"
  printf 'anon %d\nfile %d\nkernel %d\nkernel_stack %d\npagetables %d\npercpu 3120\nsock 4096\nvmalloc 4096\nshmem %d\nfile_mapped %d\ninactive_file %d\nactive_file %d\nslab_reclaimable 321720\nslab_unreclaimable 676168\nslab 997888\n' \
    $((80 * 1048576)) $((20 * 1048576)) 1921024 98304 782336 131072 $((4 * 1048576)) $((5 * 1048576)) $((15 * 1048576)) >"$d/memory.stat"
  : >"$d/cgroup.procs"
  for k in $(seq 1 "$procs"); do
    p=$((i * 16 + k))
    echo "$p" >>"$d/cgroup.procs"
    mkdir -p "$procfs/$p"
    printf 'Name:\tworker-%d\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t%d\nVmRSS:\t  40960 kB\nRssAnon:\t  %d kB\nRssFile:\t   8192 kB\nRssShmem:\t      0 kB\nThreads:\t4\n' \
      "$k" "$p" $((32768 + k)) >"$procfs/$p/status"
  done
  printf 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n' >"$d/memory.events"
  printf 'usage_usec %d\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n' "$i" >"$d/cpu.stat"
done

"$leakwatch" --cgroup.root "$tree" --path.procfs "$procfs" --docker.host none \
  --sample.interval "$interval" --web.listen-address 127.0.0.1:0 "$@" >"$log" 2>&1 &
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
# Resident memory and CPU from the real /proc: the daemon's own process_*
# series read the fake procfs given to it.
rss_kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status")
cpu_s=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$pid/stat")
printf 'resident memory   %.1f MiB\n' "$(echo "$rss_kb / 1024" | bc -l)"
printf 'last pass         %.1f ms\n' "$(echo "$(value leakwatch_sample_duration_seconds) * 1000" | bc -l)"
printf 'CPU used          %.2f s over %s s (%.1f %% of one core)\n' "$cpu_s" "$duration" \
  "$(echo "$cpu_s * 100 / $duration" | bc -l)"
printf 'one scrape        %.1f ms, %s bytes\n' "$(echo "$scrape_s * 1000" | bc -l)" "$(printf '%s' "$metrics" | wc -c)"
printf 'series            %s\n' "$(printf '%s\n' "$metrics" | grep -c '^leakwatch_container_')"
