#!/usr/bin/env bash
# examples/node-ssr-leak, time-compressed, as a test: the leaking and the
# fixed variant of the Node.js SSR app in containers of the private dockerd
# (the docker_daemon fixture), real Locust bursts against both, a real
# leakwatch and a real Prometheus with the bundled alert rules. The run
# script does it all; this test picks short timings and checks its results:
#
#   - leakwatch sampling every 2 s with windows 3m,6m; Locust bursts of
#     10 s (24 shoppers) with 10 s idle between, for 330 s: a quarter of
#     the 3m window spans two burst cycles, since V8 skips collections,
#     and the 3m window must slide past a fresh node's warm-up (its first
#     bursts grow the heap fastest) before it judges: Debian's node 18
#     was suspected after 270 s, node 20 after 170 s;
#   - V8's collector compressed with the windows: a major collection
#     once the old generation grows 5 % past what the last one left
#     (--heap-growing-percent=5; V8's own factor is at least 1.1, and
#     with the leak's heap growing its collections came 40-120 s apart on
#     a busy machine, longer than a 3m window's quarter: the windows could
#     not see troughs, and the leak was suspected only after 333 s);
#   - the one rewrite of the bundled rules: every `for:` becomes 20s (the
#     copy must differ from deploy/prometheus/leakwatch.rules.yml in the
#     `for:` lines only), and every rule evaluates without error;
#   - the leaky variant: leak_suspected 1, its ContainerMemoryLeakSuspected
#     alert firing in Prometheus at the end, a slope and a time to limit;
#   - the fixed variant: leak_suspected never 1 in any window and no alert
#     ever, not even pending, over the whole run, although both windows
#     fitted it (slope series present) and its memory moved with every
#     burst: its range over each burst cycle, up during most bursts, and
#     back down by a collection after some.
#
#   node_ssr_leak.sh LEAKWATCH DOCKERD_STATE_DIR REPO_ROOT
# On failure it keeps its work dir and prints, per variant and window,
# how many evaluations could not judge, from leakwatch analyze --explain.
# Exits 77 (ctest's skip) only where the fixture has no private dockerd
# (not root, no dockerd); a missing node, Locust, matplotlib or Prometheus
# is a failure: scripts/test installs them.
set -euo pipefail
LEAKWATCH="$1"
repo="$3"
source "$repo/tests/docker/lib.sh"
need_private_dockerd "$2"

work="$(mktemp -d)"
fail=0
# Kept when the test fails: the traces (node-ssr-*.csv, for leakwatch
# analyze), the query_range replies, the chart and every log.
trap 'if [ "$fail" = 0 ]; then rm -rf "$work"; else echo "kept $work" >&2; fi' EXIT

start=$(date +%s)
if ! "$repo/examples/node-ssr-leak/run" --docker-host "$LW_DOCKER_HOST" --leakwatch "$LEAKWATCH" \
  --out "$work" --chart "$work/node-ssr-leak.png" --docs "" \
  --duration 330 --interval 2s --scrape 1s --windows 3m,6m \
  --burst-on 10 --burst-off 10 --peak-users 24 --base-users 0 --think 0.5,1.5 \
  --limit 512m --items 24 --lru 300 --alert-for 20s \
  --node-flags --heap-growing-percent=5; then
  fail=1
  echo "FAIL: examples/node-ssr-leak/run failed" >&2
  for f in leakwatch.log prometheus/prometheus.log locust-leaky.log locust-fixed.log; do
    echo "--- $f (tail):" >&2
    tail -15 "$work/$f" >&2 || true
  done
  exit 1
fi
echo "run took $(($(date +%s) - start)) s"

# The rules Prometheus ran are the bundled ones but for `for:`.
if ! diff <(grep -v '^[[:space:]]*for:' "$repo/deploy/prometheus/leakwatch.rules.yml") \
  <(grep -v '^[[:space:]]*for:' "$work/prometheus/leakwatch.rules.yml") >&2; then
  FAIL "the rules differ from deploy/prometheus/leakwatch.rules.yml in more than for:"
fi
grep -q '^[[:space:]]*for: 20s$' "$work/prometheus/leakwatch.rules.yml" || FAIL "no for: 20s in the rules"
if grep -E '^[[:space:]]*for:' "$work/prometheus/leakwatch.rules.yml" | grep -qv 'for: 20s$'; then
  FAIL "a for: was not rewritten"
fi
[ -s "$work/node-ssr-leak.png" ] || FAIL "no chart written"

/usr/bin/python3 - "$work" <<'PY' || fail=1
import json, os, sys

out = sys.argv[1]
s = json.load(open(os.path.join(out, "summary.json")))
errors = []
def check(ok, msg):
    if not ok:
        errors.append(msg)

# Straight from Prometheus's query_range replies.
def series(name):
    reply = json.load(open(os.path.join(out, name)))
    check(reply["status"] == "success", "%s: %s" % (name, reply["status"]))
    return reply["data"]["result"]
alerts = series("prom-alerts.json")
suspected = series("prom-suspected.json")
for window in ("3m", "6m"):
    check(any(r["metric"].get("window") == window for r in suspected
              if r["metric"].get("name") == "node-ssr-fixed"),
          "no leak_suspected{window=%r} series for node-ssr-fixed" % window)
fixed_suspected = [(r["metric"]["window"], t) for r in suspected
                   if r["metric"].get("name") == "node-ssr-fixed"
                   for t, v in r["values"] if float(v) != 0]
check(not fixed_suspected, "node-ssr-fixed was suspected: %s" % fixed_suspected[:5])
leaky_suspected = [t for r in suspected if r["metric"].get("name") == "node-ssr-leaky"
                   for t, v in r["values"] if float(v) == 1]
check(leaky_suspected, "node-ssr-leaky never had leak_suspected 1")
fixed_alerts = sorted({(r["metric"]["alertname"], r["metric"]["alertstate"]) for r in alerts
                       if r["metric"].get("name") == "node-ssr-fixed"})
check(not fixed_alerts, "alerts for node-ssr-fixed: %s" % fixed_alerts)
last = {}
for r in alerts:
    m = r["metric"]
    if m.get("name") == "node-ssr-leaky" and m["alertname"] == "ContainerMemoryLeakSuspected":
        last[m["alertstate"]] = max(float(t) for t, _ in r["values"])
check("firing" in last, "ContainerMemoryLeakSuspected never fired for node-ssr-leaky: %s" % last)
check(last.get("firing", 0) >= s["end"] - 5,
      "ContainerMemoryLeakSuspected for node-ssr-leaky not firing at the end (last %s, end %s)"
      % (last.get("firing"), s["end"]))

# Every bundled rule evaluated without error on this real data.
bad = [r for r in s["rules"] if r["health"] != "ok"]
check(len(s["rules"]) >= 5 and not bad, "rules: %d, unhealthy: %s" % (len(s["rules"]), bad))

leaky, fixed = s["variants"]["leaky"], s["variants"]["fixed"]
on = [w for w, e in leaky["at_end"].items() if e["suspected"] == 1]
check(on, "node-ssr-leaky not suspected in any window at the end: %s" % leaky["at_end"])
for w in on:
    e = leaky["at_end"][w]
    check((e["slope_mib_per_h"] or 0) > 100, "leaky slope in %s: %s MiB/h" % (w, e["slope_mib_per_h"]))
    check(e["time_to_limit_s"] is not None and 0 < e["time_to_limit_s"] < 4 * 3600,
          "leaky time to limit in %s: %s" % (w, e["time_to_limit_s"]))
ws = leaky["working_set_mib"]
check(ws["last"] - ws["first"] > 50, "the leak grew only %s → %s MiB" % (ws["first"], ws["last"]))

check(not fixed["ever_suspected"], "fixed suspected: %s" % fixed["first_suspected_s"])
check(not fixed["alerts"], "fixed alerts: %s" % fixed["alerts"])
for w, e in fixed["at_end"].items():
    check(e["slope_mib_per_h"] is not None, "no slope for node-ssr-fixed in window %s: not fitted" % w)
# Its memory moved with the load: in every burst cycle (idle, a Node.js
# process's working set stays put to the page), up during most bursts,
# and back down by a collection after some.
bursts = [b for b in fixed["bursts"] if b["fall_mib"] is not None]
rises = [b["rise_mib"] for b in bursts]
falls = [b["fall_mib"] for b in bursts]
ranges = [b["range_mib"] for b in bursts]
check(len(bursts) >= 10, "only %d complete bursts" % len(bursts))
check(all(r >= 0.5 for r in ranges), "fixed stayed put over a burst cycle: %s MiB" % ranges)
check(sum(r >= 0.5 for r in rises) * 3 >= len(rises) * 2, "fixed rose in few bursts: %s MiB" % rises)
check(sum(f >= 4 for f in falls) >= 2, "fixed fell back by >= 4 MiB after fewer than 2 bursts: %s" % falls)

print("leaky: suspected after %s s, slope %s MiB/h, time to limit %s s; alerts %s" % (
    min(x for x in leaky["first_suspected_s"].values() if x is not None) if leaky["ever_suspected"] else None,
    {w: e["slope_mib_per_h"] for w, e in leaky["at_end"].items()},
    {w: e["time_to_limit_s"] for w, e in leaky["at_end"].items()},
    {n: a["first_firing_s"] for n, a in leaky["alerts"].items()}))
print("fixed: never suspected, no alert; per burst rose %s and fell %s MiB" % (rises, falls))
for e in errors:
    print("FAIL: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
if [ "$fail" != 0 ]; then
  # Why, from the traces: each window's evaluations, how many could not
  # judge (not ready, or a quarter without a collection: no troughs), and
  # its last state, as leakwatch analyze replays them.
  for variant in leaky fixed; do
    "$LEAKWATCH" analyze --explain --windows 3m,6m "$work/node-ssr-$variant.csv" 2>&1 >/dev/null |
      /usr/bin/python3 -c '
import json, sys
by = {}
for line in sys.stdin:
    j = json.loads(line)
    by.setdefault(j["window"], []).append(j)
for w, evs in by.items():
    last = evs[-1]
    print("node-ssr-%s %s: %d evaluations, %d not ready, %d without troughs; last: score %.2f rate %.2f keeps_going %.2f not_slowing %.2f suspected %s"
          % (sys.argv[1], w, len(evs), sum(not e["ready"] for e in evs),
             sum(e["ready"] and not e["troughs_seen"] for e in evs), last["score"],
             last["rate"], last["keeps_going"], last["not_slowing"], last["suspected"]),
          file=sys.stderr)' "$variant" || true
  done
fi
exit "$fail"
