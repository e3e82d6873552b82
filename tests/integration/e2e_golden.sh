#!/usr/bin/env bash
# End-to-end golden test: runs the real daemon on each fixture tree with
# --docker.host none, scrapes /metrics, strips the lines that change from
# run to run, and diffs the result with tests/golden/e2e.prom.
#   e2e_golden.sh LEAKWATCH_BINARY [-u]    (-u rewrites the golden file)
set -euo pipefail
LEAKWATCH="$1"
UPDATE="${2:-}"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
fixtures="$here/../fixtures/cgroup"
golden="$here/../golden/e2e.prom"
work="$(mktemp -d)"
trap 'stop_leakwatch || true; rm -rf "$work"' EXIT

# Lines that differ between runs: the process' own series, the build's
# revision, timings and the time leakwatch first saw each container.
volatile='^(# (HELP|TYPE) )?process_|^(leakwatch_build_info|leakwatch_sample_duration_seconds|leakwatch_container_start_time_seconds|leakwatch_config_last_reload_success_timestamp_seconds)[{ ]'

for tree in v1 v1-comounted v2 hybrid; do
  echo "# tree: $tree" >>"$work/actual"
  start_leakwatch "$work/$tree.log" --cgroup.root "$fixtures/$tree" \
    --docker.host none --sample.interval 1s
  curl -fsS "$LEAKWATCH_URL/metrics" >"$work/$tree.prom"
  stop_leakwatch
  grep -Ev "$volatile" "$work/$tree.prom" >>"$work/actual" || true
  # The stripped lines must still be there, just not compared.
  for name in process_resident_memory_bytes leakwatch_build_info leakwatch_container_start_time_seconds; do
    grep -q "^$name" "$work/$tree.prom" || { echo "$tree: no $name" >&2; exit 1; }
  done
done

if [ "$UPDATE" = "-u" ]; then
  cp "$work/actual" "$golden"
  echo "rewrote $golden"
  exit 0
fi
if ! diff -u "$golden" "$work/actual"; then
  echo "/metrics differs from $golden (run with -u to accept an intended change)" >&2
  exit 1
fi
echo "e2e: $(grep -c '^leakwatch_container_' "$work/actual") container series match $golden"
