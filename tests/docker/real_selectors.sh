#!/usr/bin/env bash
# Image and label selectors (containers.include_images, exclude_images,
# label_selector) against the private dockerd: only the selected
# containers are exported, and a SIGHUP with other selectors changes the
# set live.
#   real_selectors.sh LEAKWATCH_BINARY STATE_DIR
set -euo pipefail
LEAKWATCH="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
need_private_dockerd "$2"

work="$(mktemp -d)"
names=(lw-sel-plain lw-sel-optout lw-sel-other)
other_image=leakwatch-busybox:selector-test
cleanup() {
  stop_leakwatch || true
  docker_cli rm -f "${names[@]}" >/dev/null 2>&1 || true
  docker_cli rmi "$other_image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# A second image name for the same content: selectors see the name the
# container was created from.
docker_cli tag "$LW_DOCKER_IMAGE" "$other_image"
declare -A id_of
run() {
  local name="$1" image="$2"
  shift 2
  id_of[$name]="$(docker_cli run -d --network none --name "$name" "$@" \
    "$image" sleep 3600)"
}
run lw-sel-plain "$LW_DOCKER_IMAGE"
run lw-sel-optout "$LW_DOCKER_IMAGE" --label leakwatch.watch=false
run lw-sel-other "$other_image"

cat >"$work/leakwatch.yml" <<YAML
containers:
  include_images: ["$LW_DOCKER_IMAGE"]
  label_selector: ["leakwatch.watch != false"]
YAML
start_leakwatch "$work/leakwatch.log" --docker.host "$LW_DOCKER_HOST" \
  --sample.interval 1s --config.file "$work/leakwatch.yml"

# exported NAME...: exactly these of the three are on /metrics.
exported() {
  local m name want
  m="$(scrape)" || return 1
  for name in "${names[@]}"; do
    want=0
    for w in "$@"; do [ "$w" = "$name" ] && want=1; done
    if [ "$want" = 1 ]; then
      [ -n "$(series "$m" leakwatch_container_memory_usage_bytes "${id_of[$name]}")" ] || return 1
    else
      [ -z "$(series "$m" leakwatch_container_memory_usage_bytes "${id_of[$name]}")" ] || return 1
    fi
  done
}
wait_until 5 exported lw-sel-plain ||
  FAIL "include_images + label_selector: want only lw-sel-plain exported; got $(scrape | grep -o 'name="lw-sel-[a-z]*"' | sort -u | tr '\n' ' ')"
# Stays that way: the others are not merely late.
sleep 2
exported lw-sel-plain || FAIL "the selection did not hold"

# Live change: exclude the first image instead, no label requirement.
cat >"$work/leakwatch.yml" <<YAML
containers:
  exclude_images: ["$LW_DOCKER_IMAGE"]
YAML
kill -HUP "$LEAKWATCH_PID"
wait_until 5 exported lw-sel-other ||
  FAIL "after SIGHUP with exclude_images: want only lw-sel-other exported"
grep -q 'leakwatch_config_last_reload_successful 1' <<<"$(scrape)" ||
  FAIL "the reload was not reported successful"

# A bad selector on reload is refused, naming the file and line; the
# running selection stays.
cat >"$work/leakwatch.yml" <<YAML
containers:
  label_selector:
    - "=oops"
YAML
kill -HUP "$LEAKWATCH_PID"
reload_failed() { grep -q 'leakwatch_config_last_reload_successful 0' <<<"$(scrape)"; }
wait_until 5 reload_failed ||
  FAIL "the bad selector was not reported as a failed reload"
grep -q "leakwatch.yml:3:7: containers.label-selector" "$work/leakwatch.log" ||
  FAIL "the reload error does not name file:line:column"
exported lw-sel-other || FAIL "the running selection changed after a bad reload"

kill -0 "$LEAKWATCH_PID" || FAIL "leakwatch exited"
stop_leakwatch || FAIL "leakwatch did not exit 0"
exit "$fail"
