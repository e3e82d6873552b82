#!/usr/bin/env bash
# Acceptance 3, against the private dockerd: dockerd is killed (SIGKILL)
# and restarted while leakwatch runs. During the outage the cgroup series
# keep flowing with the names last known (series identity does not flap)
# and leakwatch_docker_up is 0; a second leakwatch started during the
# outage shows IDs only. When dockerd is back, both report docker_up 1, the
# second one's series get their names, and a container started afterwards is
# named by both: no leakwatch was restarted.
#   real_restart.sh LEAKWATCH_BINARY STATE_DIR
set -euo pipefail
LEAKWATCH="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
need_private_dockerd "$2"

work="$(mktemp -d)"
first_pid="" second_pid=""
cleanup() {
  for pid in $first_pid $second_pid; do
    LEAKWATCH_PID=$pid stop_leakwatch || true
  done
  docker_cli version >/dev/null 2>&1 || start_private_dockerd || true
  docker_cli rm -f lw-rs-app lw-rs-late >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

app="$(docker_cli run -d --network none --name lw-rs-app -m 80m \
  --label com.docker.compose.project=rs --label com.docker.compose.service=app \
  "$LW_DOCKER_IMAGE" sleep 3600)"

start_leakwatch "$work/first.log" --docker.host "$LW_DOCKER_HOST" --sample.interval 1s
first_pid=$LEAKWATCH_PID first_url=$LEAKWATCH_URL

named_in() {  # named_in URL ID NAME
  local m
  m="$(LEAKWATCH_URL="$1" scrape)" || return 1
  grep -q "name=\"$3\"" <<<"$(series "$m" leakwatch_container_memory_usage_bytes "$2")"
}
up_in() { LEAKWATCH_URL="$1" docker_up_is "$2"; }
listed_in() {
  local m
  m="$(LEAKWATCH_URL="$1" scrape)" || return 1
  grep -qF "id=\"$2\"" <<<"$m"
}

wait_until 3 named_in "$first_url" "$app" lw-rs-app || FAIL "lw-rs-app not named before the outage"
up_in "$first_url" 1 || FAIL "docker_up not 1 before the outage"

kill_private_dockerd
killed_at=$(date +%s%N)
wait_until 3 up_in "$first_url" 0 || FAIL "docker_up did not go to 0 within 3 s of killing dockerd"
echo "docker_up 0 after $((($(date +%s%N) - killed_at) / 1000000)) ms"
sleep 1.5  # a pass or two into the outage
named_in "$first_url" "$app" lw-rs-app ||
  FAIL "during the outage the series lost the name Docker gave them"

start_leakwatch "$work/second.log" --docker.host "$LW_DOCKER_HOST" --sample.interval 1s
second_pid=$LEAKWATCH_PID second_url=$LEAKWATCH_URL
listed_in "$second_url" "$app" || FAIL "without Docker the cgroup series must still be there"
named_in "$second_url" "$app" lw-rs-app && FAIL "a name without Docker, from nowhere"
up_in "$second_url" 0 || FAIL "second leakwatch: docker_up not 0 while dockerd is down"

start_private_dockerd
back_at=$(date +%s%N)
# Reconnection backs off to at most 5 s, then resyncs the full list.
wait_until 8 up_in "$first_url" 1 || FAIL "first leakwatch: docker_up not back to 1"
wait_until 8 up_in "$second_url" 1 || FAIL "second leakwatch: docker_up not back to 1"
wait_until 3 named_in "$second_url" "$app" lw-rs-app ||
  FAIL "second leakwatch: names did not come back without a restart"
echo "both leakwatch instances back to docker_up 1 and named after $((($(date +%s%N) - back_at) / 1000000)) ms"

late="$(docker_cli run -d --network none --name lw-rs-late -m 40m \
  --label com.docker.compose.project=rs --label com.docker.compose.service=late \
  "$LW_DOCKER_IMAGE" sleep 3600)"
wait_until 3 named_in "$first_url" "$late" lw-rs-late ||
  FAIL "first leakwatch: a container started after the restart is not named"
wait_until 3 named_in "$second_url" "$late" lw-rs-late ||
  FAIL "second leakwatch: a container started after the restart is not named"

for pid in $first_pid $second_pid; do
  kill -0 "$pid" || FAIL "leakwatch $pid exited"
done
LEAKWATCH_PID=$first_pid stop_leakwatch || FAIL "first leakwatch did not exit 0"
LEAKWATCH_PID=$second_pid stop_leakwatch || FAIL "second leakwatch did not exit 0"
first_pid="" second_pid=""
exit "$fail"
