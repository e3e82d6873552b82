#!/usr/bin/env bash
# Attribution by process needs the host's PID namespace. With a procfs
# whose self/ns/pid is another namespace (leakwatch in a container without
# `pid: host`), the daemon logs once, at start, that attribution by
# process is off and why, and keeps exporting the memory kinds; with this
# host's /proc it logs no such line.
#   pid_namespace.sh LEAKWATCH_BINARY
set -euo pipefail
LEAKWATCH="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
fixtures="$here/../fixtures/cgroup"
work="$(mktemp -d)"
trap 'stop_leakwatch || true; rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  cat "$work/daemon.log" >&2 || true
  exit 1
}
api=2a4cc844a13ab9776f8f85ef994c37cf91f0b97acdf7cd35274d2018c975e594

# A container's procfs: its own PID namespace, the host's meminfo.
mkdir -p "$work/procfs/self/ns"
ln -s 'pid:[4026532219]' "$work/procfs/self/ns/pid"
cp /proc/meminfo "$work/procfs/meminfo"
start_leakwatch "$work/daemon.log" --cgroup.root "$fixtures/v2" \
  --path.procfs "$work/procfs" --docker.host none --sample.interval 200ms
sleep 1 # several passes: the line must not repeat
metrics=$(curl -fsS "$LEAKWATCH_URL/metrics")
stop_leakwatch
[ "$(grep -c 'msg="Attribution by process is off; memory kinds still work"' "$work/daemon.log")" = 1 ] ||
  fail "not exactly one line saying attribution by process is off"
grep 'Attribution by process is off' "$work/daemon.log" | grep -q "host's PID namespace" ||
  fail "the line does not say it needs the host's PID namespace"
[ "$(metric_value "$metrics" leakwatch_container_memory_shmem_bytes "$api")" = 131072 ] ||
  fail "shmem_bytes missing while attribution is off"
[ "$(metric_value "$metrics" leakwatch_container_memory_kernel_bytes "$api")" = 1921024 ] ||
  fail "kernel_bytes missing while attribution is off"
echo "other PID namespace: attribution off, said once; kinds exported"

start_leakwatch "$work/daemon.log" --cgroup.root "$fixtures/v2" --docker.host none \
  --sample.interval 200ms
sleep 0.5
stop_leakwatch
if grep -q 'Attribution by process is off' "$work/daemon.log"; then
  fail "attribution reported off in the host's PID namespace"
fi
echo "host PID namespace: attribution on"
