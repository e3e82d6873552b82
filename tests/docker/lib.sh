# Helpers for the Docker integration tests. Sourced; needs the variables of
# STATE_DIR/env (dockerd_start.sh) for the private dockerd's parts.

_docker_lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$_docker_lib_dir/../integration/lib.sh"

docker_cli() {
  docker -H "$LW_DOCKER_HOST" "$@"
}

# need_private_dockerd STATE_DIR: sources its env, or skips the test (77)
# when the fixture could not start one.
need_private_dockerd() {
  if [ ! -f "$1/env" ]; then
    echo "SKIP: no private dockerd (see the docker_daemon_start test's output)"
    exit 77
  fi
  source "$1/env"
  if ! docker_cli version >/dev/null 2>&1; then
    echo "private dockerd at $LW_DOCKER_HOST is not answering" >&2
    exit 1
  fi
}

dockerd_pid() {
  cat "$LW_DOCKER_ROOT/dockerd.pid" 2>/dev/null
}

# start_private_dockerd: starts (or restarts) the private dockerd and waits
# for its API. --live-restore keeps containers running while it is down, as
# a production daemon configured for upgrades does.
start_private_dockerd() {
  # A daemon killed with SIGKILL leaves its pidfile, and refuses to start
  # over it.
  rm -f "$LW_DOCKER_ROOT/dockerd.pid"
  # setsid and no inherited descriptors: the daemon outlives this script
  # without holding ctest's output pipe open.
  setsid dockerd --storage-driver=vfs --iptables=false --bridge=none \
    --live-restore --data-root "$LW_DOCKER_ROOT/data" \
    --exec-root "$LW_DOCKER_ROOT/exec" --pidfile "$LW_DOCKER_ROOT/dockerd.pid" \
    -H "$LW_DOCKER_HOST" >>"$LW_DOCKER_ROOT/dockerd.log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 300); do
    docker_cli version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "dockerd did not answer within 30 s:" >&2
  tail -20 "$LW_DOCKER_ROOT/dockerd.log" >&2
  return 1
}

# kill_private_dockerd: SIGKILL, as a crash would (containerd dies with it;
# the containers' shims live on).
kill_private_dockerd() {
  local pid
  pid="$(dockerd_pid)"
  [ -n "$pid" ] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
}

# The pids whose command line names the private daemon's directory: its
# containerd and the containers' shims.
_private_pids() {
  local p
  for p in /proc/[0-9]*; do
    if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$LW_DOCKER_ROOT/"; then
      echo "${p#/proc/}"
    fi
  done
}

stop_private_dockerd() {
  if ! docker_cli version >/dev/null 2>&1; then
    # Down (a test killed it): bring it back to remove its containers.
    start_private_dockerd || true
  fi
  local ids
  ids="$(docker_cli ps -aq 2>/dev/null || true)"
  [ -z "$ids" ] || docker_cli rm -f $ids >/dev/null 2>&1 || true
  local pid
  pid="$(dockerd_pid)"
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  for pid in $(_private_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  # The network namespaces and anything else mounted under the root.
  awk -v root="$LW_DOCKER_ROOT/" 'index($2, root) == 1 { print $2 }' /proc/mounts |
    sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$LW_DOCKER_ROOT"
}

# scrape: the exposition, fetched whole before it is written, so a reader
# that stops early (grep -q) cannot make curl fail with a broken pipe, which
# under pipefail would turn `! scrape | grep -q X` true while X is there.
scrape() {
  local out
  out="$(curl -fsS --max-time 5 "$LEAKWATCH_URL/metrics")" || return 1
  printf '%s\n' "$out" 2>/dev/null || true
}

# series TEXT NAME ID: the line of NAME{...id="ID"...} in an exposition.
series() {
  printf '%s\n' "$1" | awk -v name="$2" -v id="$3" '
    index($0, name "{") == 1 && index($0, "id=\"" id "\"") { print; exit }'
}

# wait_until SECONDS COMMAND...: polls every 0.1 s; fails after SECONDS.
wait_until() {
  local limit="$1"
  shift
  local deadline
  deadline=$(($(date +%s%N) + ${limit%.*} * 1000000000))
  while true; do
    "$@" && return 0
    [ "$(date +%s%N)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

docker_up_is() {
  local m
  m="$(scrape)" || return 1
  grep -qx "leakwatch_docker_up $1" <<<"$m"
}

# FAIL MESSAGE: records a failure and goes on, so one run reports all.
fail=0
FAIL() {
  echo "FAIL: $*" >&2
  fail=1
}
