#!/usr/bin/env bash
# Integration test on this host's real cgroup v1 hierarchy (root only):
# a process holding 150 MiB of anonymous memory in a memory cgroup named
# like a Docker container must be reported within 5 % of the kernel's
# working set, with the exact limit, and its series must end when the
# cgroup goes away.
#   real_cgroup.sh LEAKWATCH_BINARY MEMHOG_BINARY
# Exits 77 (ctest's skip) where v1 memory cgroups cannot be created.
set -euo pipefail
LEAKWATCH="$1"
MEMHOG="$2"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
root=/sys/fs/cgroup
need_v1_memory_cgroups "$root"

id=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
test_dir="leakwatch-it-$$"
controllers=(memory)
for c in cpu cpuacct; do
  [ -d "$root/$c" ] && controllers+=("$c")
done
work="$(mktemp -d)"
hog_pid=""
cleanup() {
  stop_leakwatch || true
  [ -n "$hog_pid" ] && kill -KILL "$hog_pid" 2>/dev/null && wait "$hog_pid" 2>/dev/null
  for c in "${controllers[@]}"; do
    rmdir "$root/$c/$test_dir/docker/$id" "$root/$c/$test_dir/docker" "$root/$c/$test_dir" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

for c in "${controllers[@]}"; do
  mkdir -p "$root/$c/$test_dir/docker/$id"
done
cg="$root/memory/$test_dir/docker/$id"
echo $((512 * 1024 * 1024)) >"$cg/memory.limit_in_bytes"

# The shell joins the cgroups before exec'ing memhog, so every page memhog
# touches is charged to the container's cgroup.
mkfifo "$work/ready"
sh -c '
  for c in "$@"; do echo $$ > "$c/cgroup.procs"; done
  exec "$0" 150' "$MEMHOG" $(for c in "${controllers[@]}"; do echo "$root/$c/$test_dir/docker/$id"; done) >"$work/ready" &
hog_pid=$!
read -r line <"$work/ready"
[ "$line" = ready ] || { echo "memhog did not start: $line" >&2; exit 1; }

start_leakwatch "$work/leakwatch.log" --cgroup.root "$root" --docker.host none --sample.interval 1s
sleep 1.5  # at least one pass after startup's
metrics=$(curl -fsS "$LEAKWATCH_URL/metrics")
usage=$(cat "$cg/memory.usage_in_bytes")
inactive=$(awk '$1 == "total_inactive_file" { print $2 }' "$cg/memory.stat")
kernel_ws=$((usage - inactive))

reported=$(metric_value "$metrics" leakwatch_container_memory_working_set_bytes "$id")
limit=$(metric_value "$metrics" leakwatch_container_memory_limit_bytes "$id")
rss=$(metric_value "$metrics" leakwatch_container_memory_rss_bytes "$id")
cpu=$(metric_value "$metrics" leakwatch_container_cpu_usage_seconds_total "$id")
echo "kernel working set $kernel_ws, reported $reported, rss $rss, limit $limit, cpu $cpu s"
[ -n "$reported" ] || { echo "no working set series for $id" >&2; echo "$metrics" | grep -F "$id" >&2; exit 1; }

fail=0
awk -v r="$reported" -v k="$kernel_ws" 'BEGIN { d = r - k; if (d < 0) d = -d; exit !(d <= 0.05 * k) }' ||
  { echo "FAIL: reported working set $reported is not within 5 % of the kernel's $kernel_ws" >&2; fail=1; }
awk -v k="$kernel_ws" 'BEGIN { exit !(k >= 150 * 1048576 && k <= 1.05 * 150 * 1048576 + 8 * 1048576) }' ||
  { echo "FAIL: kernel working set $kernel_ws is not the 150 MiB memhog holds" >&2; fail=1; }
[ "$limit" = 536870912 ] || { echo "FAIL: limit $limit, want 536870912" >&2; fail=1; }
awk -v r="$rss" 'BEGIN { exit !(r >= 150 * 1048576) }' ||
  { echo "FAIL: rss $rss below 150 MiB" >&2; fail=1; }
if [ -d "$root/cpuacct/$test_dir" ]; then
  [ -n "$cpu" ] || { echo "FAIL: no CPU series" >&2; fail=1; }
fi

# The container goes away: its series end within a pass or two.
kill -KILL "$hog_pid"
wait "$hog_pid" 2>/dev/null || true
hog_pid=""
for c in "${controllers[@]}"; do rmdir "$root/$c/$test_dir/docker/$id"; done
sleep 2.5
if grep -qF "$id" <<<"$(curl -fsS "$LEAKWATCH_URL/metrics")"; then
  echo "FAIL: series for $id still exported after its cgroup was removed" >&2
  fail=1
fi
if grep -E 'level=(warn|error)' "$work/leakwatch.log"; then
  echo "FAIL: a vanished container must not be logged above debug" >&2
  fail=1
fi
stop_leakwatch
exit $fail
