#!/usr/bin/env bash
# The bundled Grafana dashboard against a real Prometheus scraping a real
# leakwatch, which watches real containers of the private dockerd
# (dockerd_start.sh) and a cgroup no runtime describes:
#   lw-dash-leaky     memhog leaking 2 MiB/s under a 256 MiB limit, with
#                     compose labels
#   lw-dash-flat      memhog holding 40 MiB
#   <id> (no name)    a v1 memory cgroup named like a Docker container that
#                     Docker does not know, memhog holding 30 MiB
# Once Prometheus sees the leak suspected, dashboard_check.py runs every
# variable and panel query as Grafana would and checks the figures. The
# bundled alert rules are loaded too: they must evaluate without error on
# real data, and the leak's alert must be pending with its annotations
# naming the container, its slope and (where leakwatch says it) what leaks.
#   dashboard.sh LEAKWATCH MEMHOG DOCKERD_STATE_DIR REPO_ROOT
set -euo pipefail
LEAKWATCH="$1"
MEMHOG="$2"
repo="$4"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../docker/lib.sh"
source "$here/lib.sh"
need_private_dockerd "$3"
cgroot=/sys/fs/cgroup
need_v1_memory_cgroups "$cgroot"

"$repo/grafana-dashboards/generate.py" --check

work="$(mktemp -d)"
nameless_id="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
parent="$cgroot/memory/leakwatch-dash-$$/docker"
hog_pid=""
cleanup() {
  stop_prometheus || true
  stop_leakwatch || true
  docker_cli rm -f lw-dash-leaky lw-dash-flat >/dev/null 2>&1 || true
  if [ -n "$hog_pid" ]; then kill -KILL "$hog_pid" 2>/dev/null || true; wait "$hog_pid" 2>/dev/null || true; fi
  rmdir "$parent/$nameless_id" "$parent" "$(dirname "$parent")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
dump() {
  echo "--- prometheus log (tail):" >&2; tail -20 "$work/prometheus.log" >&2 || true
  echo "--- leakwatch log (tail):" >&2; tail -20 "$work/leakwatch.log" >&2 || true
}

limit=$((256 * 1024 * 1024))
# memhog is static, so the busybox image runs it from a read-only mount.
docker_cli run -d --name lw-dash-leaky --network none -m 256m \
  --label com.docker.compose.project=shop --label com.docker.compose.service=ssr \
  -v "$MEMHOG:/memhog:ro" "$LW_DOCKER_IMAGE" /memhog 16 2 200 >/dev/null
docker_cli run -d --name lw-dash-flat --network none -m 256m \
  -v "$MEMHOG:/memhog:ro" "$LW_DOCKER_IMAGE" /memhog 40 >/dev/null
mkdir -p "$parent/$nameless_id"
echo "$limit" >"$parent/$nameless_id/memory.limit_in_bytes"
sh -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' "$parent/$nameless_id" "$MEMHOG" 30 >/dev/null &
hog_pid=$!

start_leakwatch "$work/leakwatch.log" --cgroup.root "$cgroot" --docker.host "$LW_DOCKER_HOST" \
  --sample.interval 200ms --leak.windows 10s,30s
port="${LEAKWATCH_URL##*:}"

cp "$repo/deploy/prometheus/leakwatch.rules.yml" "$work/"
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [leakwatch.rules.yml]
scrape_configs:
  - job_name: leakwatch
    static_configs:
      - targets: ["127.0.0.1:$port"]
YAML
promtool check config "$work/prometheus.yml" >/dev/null
start_prometheus "$work/prometheus.yml" "$work"
echo "leakwatch at $LEAKWATCH_URL, prometheus at $PROM_URL"

# The 30 s window needs its whole length, then a few agreeing evaluations.
if ! wait_until 120 prom_has 'leakwatch_container_memory_leak_suspected{name="lw-dash-leaky",window="30s"} == 1'; then
  echo "FAIL: Prometheus never saw lw-dash-leaky suspected" >&2
  dump
  exit 1
fi
echo "leak suspected after $(( $(date +%s) - $(stat -c %Y "$work/prometheus.yml") )) s"
# leakwatch names the process once it has followed it for half a window,
# a little after the verdict (memhog grows for 92 s in all). A leakwatch
# that exports no leak_info has nothing to wait for.
if prom_has 'leakwatch_container_memory_leak_info{name="lw-dash-leaky"}' &&
  ! wait_until 40 prom_has 'leakwatch_container_memory_leak_info{name="lw-dash-leaky",process="memhog"}'; then
  echo "FAIL: leak_info never named memhog: $(prom_query 'leakwatch_container_memory_leak_info')" >&2
  dump
  exit 1
fi

# memhog is the leaky container's one process; leakwatch, outside any
# container, sees it by its host PID.
leaky_pid="$(docker_cli inspect -f '{{.State.Pid}}' lw-dash-leaky)"
/usr/bin/python3 "$here/dashboard_check.py" "$repo/grafana-dashboards/leakwatch.json" "$PROM_URL" \
  lw-dash-leaky lw-dash-flat "$nameless_id" "$limit" "$leaky_pid" "$repo/docs/interface.md" || { dump; exit 1; }

# The rules on real data: every rule evaluated without error, and the
# leak's alert is pending (its `for` is 10m) with rendered annotations.
# Where leakwatch says what leaks (leak_info), they say it too: memhog's
# heap is anonymous memory of its one process.
alerts_ok() {
  local rules alerts info
  rules="$(curl -fsS "$PROM_URL/api/v1/rules")" || return 1
  alerts="$(curl -fsS "$PROM_URL/api/v1/alerts")" || return 1
  info="$(prom_query 'leakwatch_container_memory_leak_info{name="lw-dash-leaky"}')" || return 1
  /usr/bin/python3 - "$rules" "$alerts" "$info" <<'PY'
import json, re, sys
rules = json.loads(sys.argv[1])["data"]["groups"]
bad = [(r["name"], r.get("lastError")) for g in rules for r in g["rules"]
       if r.get("health") != "ok"]
if bad:
    sys.exit("rules not healthy: %s" % bad)
says_what = bool(json.loads(sys.argv[3])["data"]["result"])
for a in json.loads(sys.argv[2])["data"]["alerts"]:
    if a["labels"]["alertname"] == "ContainerMemoryLeakSuspected" and a["labels"].get("name") == "lw-dash-leaky":
        s = a["annotations"]["summary"]
        m = re.fullmatch(r"Container lw-dash-leaky is leaking memory at ([0-9.]+) MiB/h(?:, mostly (.+))?", s)
        if not m or not 5000 < float(m.group(1)) < 9500:
            sys.exit("summary %r: want lw-dash-leaky at about 7200 MiB/h" % s)
        if says_what and m.group(2) != "anonymous memory of process memhog":
            sys.exit("summary %r: want it to end ', mostly anonymous memory of process memhog'" % s)
        if not says_what and m.group(2) is not None:
            sys.exit("summary %r names a kind, but Prometheus has no leak_info" % s)
        d = a["annotations"]["description"]
        if "reaches its memory limit in" not in d:
            sys.exit("description %r lacks the time to limit" % d)
        if says_what and not re.search(r"Anonymous memory of process memhog \(pid [0-9]+\) grows [0-9.]+ MiB/h", d):
            sys.exit("description %r does not name memhog's anonymous memory" % d)
        print("alert %s (%s): %s" % (a["labels"]["alertname"], a["state"], s))
        sys.exit(0)
sys.exit("no ContainerMemoryLeakSuspected alert for lw-dash-leaky")
PY
}
# Rules are evaluated every second; give the alert a few evaluations.
if ! wait_until 10 alerts_ok >/dev/null 2>&1; then
  alerts_ok || true
  dump
  exit 1
fi
alerts_ok
