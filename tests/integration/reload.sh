#!/usr/bin/env bash
# SIGHUP end to end: the daemon re-reads its file and applies the sample
# interval and the container filters live; an invalid file is rejected,
# logged with file:line:column, reported by
# leakwatch_config_last_reload_successful, and the old config stays; flags
# still win over the file after a reload.
#   reload.sh LEAKWATCH_BINARY
set -euo pipefail
LEAKWATCH="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
work="$(mktemp -d)"
trap 'stop_leakwatch || true; rm -rf "$work"' EXIT
cp -r "$here/../fixtures/cgroup/v2" "$work/cgroup"
cfg="$work/leakwatch.yml"

gone=2a4cc844a13ab9776f8f85ef994c37cf91f0b97acdf7cd35274d2018c975e594
kept=2b85282e3626e558c42abf64936bfdebc4bf3af9977a89e2badda44cee654657
kept_dir="$work/cgroup/system.slice/docker-$kept.scope"

fail() {
  echo "FAIL: $*" >&2
  echo "--- daemon log:" >&2
  cat "$work/daemon.log" >&2 || true
  exit 1
}

scrape() { curl -fsS "$LEAKWATCH_URL/metrics"; }
# gauge NAME: the value of an unlabelled series.
gauge() { scrape | awk -v n="$1" '$1 == n { v = $2 } END { print v }'; }
usage_of() {
  metric_value "$(scrape)" leakwatch_container_memory_usage_bytes "$1"
}
# wait_for DESCRIPTION COMMAND...: polls COMMAND for up to 5 s.
wait_for() {
  local what="$1"
  shift
  for _ in $(seq 1 50); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  fail "timed out waiting for: $what"
}
reloads_done() { grep -c 'msg="Completed loading of configuration file"' "$work/daemon.log" || true; }
reload_errors() { grep -c 'msg="Error reloading configuration' "$work/daemon.log" || true; }
reloads_ended() { echo $(($(reloads_done) + $(reload_errors))); }
more_than() { [ "$(reloads_ended)" -gt "$1" ]; }
# hangup: SIGHUP, then wait until the daemon has finished (either way).
hangup() {
  local before
  before=$(reloads_ended)
  kill -HUP "$LEAKWATCH_PID"
  wait_for "the reload to finish" more_than "$before"
  # The sampling thread runs a pass as soon as it has the new settings;
  # let it finish so that a file the test writes next is not in it.
  sleep 0.3
}
is() { [ "$($1 "${@:3}")" = "$2" ]; }

cat >"$cfg" <<'YAML'
sample:
  interval: 200ms
leak:
  windows: [1h]
YAML
start_leakwatch "$work/daemon.log" --config.file "$cfg" \
  --cgroup.root "$work/cgroup" --docker.host none
[ "$(gauge leakwatch_containers)" = 6 ] || fail "want 6 containers at start"
[ "$(gauge leakwatch_config_last_reload_successful)" = 1 ] || fail "startup load not successful"
ts0=$(gauge leakwatch_config_last_reload_success_timestamp_seconds)

# 1. Filters, live.
cat >"$cfg" <<YAML
sample:
  interval: 200ms
leak:
  windows: [1h]
containers:
  exclude: ["${gone:0:4}.*"]
YAML
sleep 1.1  # so the success timestamp visibly moves (it has 1 s resolution at worst)
hangup
wait_for "the excluded container to go" is gauge 5 leakwatch_containers
grep -q "id=\"$gone\"" <<<"$(scrape)" && fail "excluded container still exported"
[ "$(gauge leakwatch_config_last_reload_successful)" = 1 ] || fail "reload not successful"
ts1=$(gauge leakwatch_config_last_reload_success_timestamp_seconds)
awk -v a="$ts1" -v b="$ts0" 'BEGIN { exit !(a > b) }' || fail "success timestamp did not move ($ts0 -> $ts1)"
grep -q 'changed=containers.exclude' <<<"$(grep 'msg="Completed loading of configuration file"' "$work/daemon.log")" ||
  fail "the reload log does not say what changed"
echo "ok: SIGHUP applies container filters live"

# 2. The interval, live: at 1h nothing is re-read; back at 200ms it is.
cat >"$cfg" <<YAML
sample:
  interval: 1h
leak:
  windows: [10h]
containers:
  exclude: ["${gone:0:4}.*"]
YAML
hangup
before=$(usage_of "$kept")
echo 999997440 >"$kept_dir/memory.current"
sleep 1.5
[ "$(usage_of "$kept")" = "$before" ] || fail "sampled within 1.5 s at a 1h interval"
cat >"$cfg" <<YAML
sample:
  interval: 200ms
leak:
  windows: [1h]
containers:
  exclude: ["${gone:0:4}.*"]
YAML
hangup
wait_for "the 200ms interval to pick up the new value" is usage_of 999997440 "$kept"
[ "$(gauge leakwatch_up)" = 1 ] || fail "leakwatch_up is not 1 after the interval change"
echo "ok: SIGHUP changes the sample interval live, both ways"

# 3. An invalid file: rejected, reported, and the old config stays.
ts_ok=$(gauge leakwatch_config_last_reload_success_timestamp_seconds)
cat >"$cfg" <<'YAML'
sample:
  interval: 200ms
  intervall: 1s
YAML
hangup
[ "$(gauge leakwatch_config_last_reload_successful)" = 0 ] || fail "invalid reload reported as successful"
ts2=$(gauge leakwatch_config_last_reload_success_timestamp_seconds)
[ "$ts2" = "$ts_ok" ] || fail "a failed reload moved the success timestamp ($ts_ok -> $ts2)"
grep -qF "$cfg:3:3: unknown key" <<<"$(grep 'msg="Error reloading configuration' "$work/daemon.log")" ||
  fail "the error is not logged with file:line:column"
[ "$(gauge leakwatch_containers)" = 5 ] || fail "the old filter is no longer in force"
echo 536870912 >"$kept_dir/memory.current"
wait_for "sampling to go on at the old interval" is usage_of 536870912 "$kept"
# Fixed: successful again.
cat >"$cfg" <<'YAML'
sample:
  interval: 200ms
leak:
  windows: [1h]
YAML
hangup
[ "$(gauge leakwatch_config_last_reload_successful)" = 1 ] || fail "fixed file not accepted"
wait_for "the excluded container to come back" is gauge 6 leakwatch_containers
stop_leakwatch
echo "ok: an invalid reload is rejected, reported and leaves the old config"

# 4. Flags still win after a reload: the file's 1h never applies.
cat >"$cfg" <<'YAML'
sample:
  interval: 1h
leak:
  windows: [10h]
YAML
start_leakwatch "$work/daemon.log" --config.file "$cfg" --sample.interval 200ms \
  --cgroup.root "$work/cgroup" --docker.host none
hangup
echo 268435456 >"$kept_dir/memory.current"
wait_for "the flag's 200ms interval to stay in force" is usage_of 268435456 "$kept"
stop_leakwatch
echo "ok: flags win over the file on reload"
