#!/usr/bin/env bash
# The stats fallback, against the private dockerd: leakwatch is pointed at a
# cgroup root where no container's cgroup can be found (as under rootless
# Docker or Docker Desktop), so the containers Docker runs are sampled
# through the stats endpoint (stream=false, one-shot) instead, said once
# per container in the log; a removed container's series end within 3 s.
#   real_fallback.sh LEAKWATCH_BINARY STATE_DIR
set -euo pipefail
LEAKWATCH="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
need_private_dockerd "$2"

work="$(mktemp -d)"
cleanup() {
  stop_leakwatch || true
  docker_cli rm -f lw-fb-app >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# A cgroup v2 root with a memory controller and no containers at all.
mkdir -p "$work/cgroup"
echo "cpu memory" >"$work/cgroup/cgroup.controllers"

# A container holding a few MiB, so its working set is clearly not zero.
id="$(docker_cli run -d --network none --name lw-fb-app -m 48m \
  --label com.docker.compose.project=fb --label com.docker.compose.service=app \
  "$LW_DOCKER_IMAGE" sh -c 'dd if=/dev/zero of=/dev/shm/x bs=1M count=8 2>/dev/null; exec sleep 3600')"
start_leakwatch "$work/leakwatch.log" --cgroup.root "$work/cgroup" \
  --docker.host "$LW_DOCKER_HOST" --sample.interval 1s

sampled() {
  local m line
  m="$(scrape)" || return 1
  line="$(series "$m" leakwatch_container_memory_working_set_bytes "$id")"
  [[ "$line" == *'name="lw-fb-app"'* ]] && [ "${line##* }" -gt 0 ] || return 1
  [ "$(series "$m" leakwatch_container_memory_limit_bytes "$id" | awk '{print $NF}')" = 50331648 ]
}
wait_until 5 sampled || { FAIL "lw-fb-app not sampled through Docker's stats within 5 s"; scrape | grep -F "$id" >&2 || true; }
metrics="$(scrape)"
echo "via stats: $(series "$metrics" leakwatch_container_memory_working_set_bytes "$id")"
grep -q . <<<"$(series "$metrics" leakwatch_container_cpu_usage_seconds_total "$id")" ||
  FAIL "no CPU series from the stats fallback"
sleep 2  # more passes: still one log line
n=$(grep -c "sampling it through the Docker stats endpoint" "$work/leakwatch.log" || true)
[ "$n" -eq 1 ] || FAIL "the fallback was logged $n times, want once"
grep -qF "id=$id" <<<"$(grep -F "sampling it through the Docker stats endpoint" "$work/leakwatch.log")" ||
  FAIL "the fallback log line does not name the container"

docker_cli rm -f lw-fb-app >/dev/null
gone() {
  local m
  m="$(scrape)" || return 1
  ! grep -qF "$id" <<<"$m"
}
wait_until 3 gone || FAIL "the removed container was still on /metrics after 3 s"
kill -0 "$LEAKWATCH_PID" || FAIL "leakwatch exited"
stop_leakwatch || FAIL "leakwatch did not exit 0"
exit "$fail"
