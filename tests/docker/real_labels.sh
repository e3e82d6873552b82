#!/usr/bin/env bash
# Acceptance 1, against the private dockerd (dockerd_start.sh): three
# containers with distinct names, compose project/service labels and memory
# limits appear on /metrics with those labels and limits within 3 s at a
# 1 s interval; a removed one is gone within 3 s; a rename shows at once.
# Allow-listed labels are exported (a colliding key is warned about once),
# environment variables never are.
#   real_labels.sh LEAKWATCH_BINARY STATE_DIR
set -euo pipefail
LEAKWATCH="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
need_private_dockerd "$2"

work="$(mktemp -d)"
names=(lw-it-web lw-it-db lw-it-cache lw-it-cache-renamed)
cleanup() {
  stop_leakwatch || true
  docker_cli rm -f "${names[@]}" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/leakwatch.yml" <<'YAML'
containers:
  labels: [com.example.team, com.example/team]
YAML
start_leakwatch "$work/leakwatch.log" --docker.host "$LW_DOCKER_HOST" \
  --sample.interval 1s --config.file "$work/leakwatch.yml" --log.level debug
wait_until 3 docker_up_is 1 || FAIL "leakwatch_docker_up is not 1 with dockerd up"

# name project service limit(MiB) team
specs=(
  "lw-it-web shop web 64 payments"
  "lw-it-db shop db 96 storage"
  "lw-it-cache tools cache 128 -"
)
declare -A id_of limit_of project_of service_of team_of
for spec in "${specs[@]}"; do
  read -r name project service mib team <<<"$spec"
  extra=()
  [ "$team" = - ] || extra=(--label "com.example.team=$team")
  id_of[$name]="$(docker_cli run -d --network none --name "$name" -m "${mib}m" \
    --label "com.docker.compose.project=$project" \
    --label "com.docker.compose.service=$service" "${extra[@]}" \
    -e LW_SECRET_TOKEN=hunter2-must-not-leak \
    "$LW_DOCKER_IMAGE" sleep 3600)"
  limit_of[$name]=$((mib * 1024 * 1024))
  project_of[$name]=$project
  service_of[$name]=$service
  team_of[$name]=$team
done
started=$(date +%s%N)

all_described() {
  local m name line
  m="$(scrape)" || return 1
  for name in lw-it-web lw-it-db lw-it-cache; do
    line="$(series "$m" leakwatch_container_memory_working_set_bytes "${id_of[$name]}")"
    [[ "$line" == *"name=\"$name\""* ]] || return 1
    [[ "$line" == *"image=\"$LW_DOCKER_IMAGE\""* ]] || return 1
    [[ "$line" == *"compose_project=\"${project_of[$name]}\""* ]] || return 1
    [[ "$line" == *"compose_service=\"${service_of[$name]}\""* ]] || return 1
    line="$(series "$m" leakwatch_container_memory_limit_bytes "${id_of[$name]}")"
    [[ "$line" == *"name=\"$name\""* && "${line##* }" == "${limit_of[$name]}" ]] || return 1
  done
}
if wait_until 3 all_described; then
  echo "three containers named, labelled and limited on /metrics after $((($(date +%s%N) - started) / 1000000)) ms"
else
  FAIL "not all three containers carried their labels and limits within 3 s"
  scrape | grep -F "lw-it-" >&2 || true
fi

metrics="$(scrape)"
# Every per-container series of a described container carries the labels.
for name in lw-it-web lw-it-db lw-it-cache; do
  id="${id_of[$name]}"
  count=$(grep -c "^leakwatch_container_.*id=\"$id\"" <<<"$metrics" || true)
  named=$(printf '%s\n' "$metrics" | grep "^leakwatch_container_.*id=\"$id\"" |
    grep -c "name=\"$name\"" || true)
  [ "$count" -ge 6 ] && [ "$count" -eq "$named" ] ||
    FAIL "$name: $named of $count series carry name=\"$name\""
  line="$(series "$metrics" leakwatch_container_memory_usage_bytes "$id")"
  if [ "${team_of[$name]}" = - ]; then
    [[ "$line" != *container_label_* ]] || FAIL "$name: unexpected container_label_: $line"
  else
    [[ "$line" == *"container_label_com_example_team=\"${team_of[$name]}\""* ]] ||
      FAIL "$name: no allow-listed label: $line"
  fi
  # The cgroup the inspect reply points at is the one sampled.
  cg="$(sed -n "s/.*msg=\"Docker container changed\" id=$id .*cgroup=\([^ ]*\).*/\1/p" \
    "$work/leakwatch.log" | head -1)"
  # v1/hybrid: under the memory hierarchy; v2: under the root.
  [ -n "$cg" ] && { [ -d "/sys/fs/cgroup/memory$cg" ] || [ -d "/sys/fs/cgroup$cg" ]; } ||
    FAIL "$name: the cgroup path from inspect ($cg) does not exist under /sys/fs/cgroup"
done
grep -q hunter2 <<<"$metrics" && FAIL "an environment variable leaked"
[ "$(grep -c 'Container label keys collide' "$work/leakwatch.log")" -eq 1 ] ||
  FAIL "the colliding allow-list keys were not warned about exactly once"

# A rename is an event: the name changes without a restart.
docker_cli rename lw-it-cache lw-it-cache-renamed
renamed() {
  series "$(scrape)" leakwatch_container_memory_usage_bytes "${id_of[lw-it-cache]}" |
    grep -q 'name="lw-it-cache-renamed"'
}
wait_until 3 renamed || FAIL "the rename did not reach /metrics within 3 s"

# A removed container is gone within 3 s.
docker_cli rm -f lw-it-db >/dev/null
removed_at=$(date +%s%N)
gone() {
  local m
  m="$(scrape)" || return 1
  ! grep -qF "${id_of[lw-it-db]}" <<<"$m"
}
if wait_until 3 gone; then
  echo "removed container gone from /metrics after $((($(date +%s%N) - removed_at) / 1000000)) ms"
else
  FAIL "the removed container was still on /metrics after 3 s"
fi
series "$(scrape)" leakwatch_container_memory_usage_bytes "${id_of[lw-it-web]}" |
  grep -q 'name="lw-it-web"' || FAIL "the other containers lost their names"

kill -0 "$LEAKWATCH_PID" || FAIL "leakwatch exited"
stop_leakwatch || FAIL "leakwatch did not exit 0"
exit "$fail"
