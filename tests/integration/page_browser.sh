#!/usr/bin/env bash
# The page at / in a real browser: headless Chromium loads it from
# the real daemon over a copy of the v2 fixture tree in which one container
# leaks (anonymous memory rising 4 MiB/s under a GC sawtooth) and one fills
# its page cache, with Docker's names from the fake Engine API
# (tests/docker/fake_docker.py). Asserts, on the DOM after the page's
# scripts ran:
#   1. the table lists every container /metrics has, the leak first, badged
#      "leaking", with its name, image and compose service; page cache is
#      "ok"; a container collected too seldom for the window reads "can't
#      see GC troughs", and in a window longer than the history so far
#      every container reads "judging";
#   2. the leak's chart is drawn: working set, rss and cache lines with
#      their samples, and the estimator's trend line, rising;
#   3. the browser requested nothing but the daemon's own URLs (Chromium's
#      NetLog), with every other host unresolvable, under the page's CSP.
# Then keeps a screenshot.
#   page_browser.sh LEAKWATCH_BINARY [SCREENSHOT.png]
set -euo pipefail
LEAKWATCH="$1"
SCREENSHOT="${2:-}"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
tools="$here/page_tools.py"
leak_id=2a4cc844a13ab9776f8f85ef994c37cf91f0b97acdf7cd35274d2018c975e594
cache_id=2b85282e3626e558c42abf64936bfdebc4bf3af9977a89e2badda44cee654657
blind_id=2c4fbbaecc8a0cfb9a6cca56d4e944f938a804afa178d79358b6eb5a619dd093

chromium="$(command -v chromium || true)"
if [ -z "$chromium" ]; then
  # Not a skip: scripts/test installs it (scripts/lib.sh), and CI must run
  # this test.
  echo "FAIL: chromium is not installed (Debian's chromium package; scripts/test installs it)" >&2
  exit 1
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  stop_leakwatch || true
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- daemon log (tail):" >&2
  tail -20 "$work/daemon.log" >&2 || true
  exit 1
}

cp -r "$here/../fixtures/cgroup/v2" "$work/cgroup"
python3 "$tools" prepare "$work/cgroup" "$leak_id" "$cache_id" "$blind_id"
python3 "$tools" grow "$work/cgroup" "$leak_id" "$cache_id" "$blind_id" &
pids+=($!)
python3 "$here/../docker/fake_docker.py" --mode good --tcp "$work/docker.port" \
  --fixtures "$here/../fixtures/docker" --container-id "$leak_id" &
pids+=($!)
for _ in $(seq 1 50); do
  [ -s "$work/docker.port" ] && break
  sleep 0.1
done
[ -s "$work/docker.port" ] || fail "the fake Docker API did not start"

# 50 ms samples and 5 s / 20 s windows: a verdict within seconds. The 10m
# window cannot judge for minutes (it needs a quarter of itself), so it
# reads "judging" for the whole test.
start_leakwatch "$work/daemon.log" --cgroup.root "$work/cgroup" \
  --docker.host "tcp://127.0.0.1:$(cat "$work/docker.port")" \
  --sample.interval 50ms --leak.windows 5s,20s,10m
url="$LEAKWATCH_URL"
started=$SECONDS

# The browser should see the finished story, so wait for the verdict first.
# The 20s window: the 5s one is too short to see through the sawtooth of a
# collector that runs every 0.8 s, as a real window is to a real GC.
python3 "$tools" wait-verdict "$url" "$leak_id" 20s leaking 60 || fail "no verdict"
python3 "$tools" wait-verdict "$url" "$cache_id" 20s ok 10 || fail "no verdict"
python3 "$tools" wait-verdict "$url" "$blind_id" 20s no_troughs 20 || fail "no verdict"
curl -fsS "$url/metrics" >"$work/metrics.prom"

# run_chromium ARGS...: a fresh profile each time; the networking flags
# keep it from stalling on this closed network, and the resolver rule
# makes every host but the daemon's unreachable.
run_chromium() {
  local profile
  profile="$(mktemp -d "$work/profile.XXXXXX")"
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --user-data-dir="$profile" \
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
    --enable-logging=stderr --window-size=1280,1000 "$@" 2>>"$work/chromium.log"
}

# Virtual time runs the page's timers and waits for its fetches, so the
# DOM is dumped after several refreshes without a real wait.
run_chromium --virtual-time-budget=5000 --log-net-log="$work/netlog.json" \
  --dump-dom "$url/#window=20s" >"$work/dom.html" || fail "chromium --dump-dom failed (see $work/chromium.log)"
python3 "$tools" check-dom "$work/dom.html" "$work/metrics.prom" "$leak_id" "$cache_id" 20s "$blind_id" ||
  fail "the page's DOM (first lines):
$(head -c 3000 "$work/dom.html")"
run_chromium --virtual-time-budget=5000 --dump-dom "$url/#window=10m" >"$work/dom-10m.html" ||
  fail "chromium --dump-dom failed (see $work/chromium.log)"
python3 "$tools" check-judging "$work/dom-10m.html" 10m || fail "the 10m window's DOM"
python3 "$tools" check-netlog "$work/netlog.json" "$url" || fail "network"
# With logging on, the page's console reaches stderr: a resource the
# policy refused would be named there.
if grep -i "content security policy" "$work/chromium.log" >&2; then
  fail "the page broke its Content-Security-Policy"
fi
echo "ok: no Content-Security-Policy violations"

if [ -n "$SCREENSHOT" ]; then
  # A picture of a full 20 s window rather than of its first seconds.
  while [ "$SECONDS" -lt "$((started + 22))" ]; do sleep 0.5; done
  run_chromium --virtual-time-budget=5000 --hide-scrollbars \
    --screenshot="$work/page.png" "$url/#window=20s" || fail "chromium --screenshot failed"
  [ -s "$work/page.png" ] || fail "no screenshot"
  cp "$work/page.png" "$SCREENSHOT"
  echo "ok: screenshot in $SCREENSHOT"
fi
stop_leakwatch
