#!/usr/bin/env bash
# The JSON API (docs/api.md) from the real daemon on every fixture
# tree, with real curl:
#   1. /api/v1/containers agrees with /metrics container by container
#      (ids, every memory figure, the limit's absence) and matches
#      tests/golden/api.json with its times zeroed;
#   2. every container's series over every window holds its samples, in
#      time order, ending at "end";
#   3. errors: unknown id 404, unknown or unconfigured window 400, unknown
#      parameter 400, other methods 405 with Allow, unknown API path 404,
#      all as {"error": ...}; HEAD; gzip;
#   4. the web config's basic auth covers the page and the API.
#   api.sh LEAKWATCH_BINARY [-u]    (-u rewrites the golden file)
set -euo pipefail
LEAKWATCH="$1"
UPDATE="${2:-}"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
tools="$here/page_tools.py"
fixtures="$here/../fixtures/cgroup"
golden="$here/../golden/api.json"
work="$(mktemp -d)"
trap 'stop_leakwatch || true; rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  tail -5 "$work/daemon.log" >&2 || true
  exit 1
}

# expect STATUS WHAT CURL_ARGS...: the status, and for an error a JSON
# {"error": "..."} body; prints the error.
expect() {
  local want="$1" what="$2"
  shift 2
  local got
  got=$(curl -sS -o "$work/body" -w '%{http_code}' --max-time 5 "$@") || fail "$what: curl failed"
  [ "$got" = "$want" ] || fail "$what: got $got, want $want: $(head -c 300 "$work/body")"
  if [ "$want" -ge 400 ] && [ "$want" != 401 ]; then
    python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); assert list(b)==["error"] and b["error"], b; print("  ", b["error"])' \
      "$work/body" || fail "$what: not a JSON error: $(head -c 300 "$work/body")"
  fi
  echo "ok: $what -> $want"
}

: >"$work/actual"
for tree in v1 v1-comounted v2 hybrid; do
  echo "# tree: $tree"
  start_leakwatch "$work/daemon.log" --cgroup.root "$fixtures/$tree" \
    --docker.host none --sample.interval 100ms --leak.windows 10s,1m
  sleep 1  # some samples for the series
  curl -fsS "$LEAKWATCH_URL/metrics" >"$work/metrics.prom"
  python3 "$tools" check-api "$LEAKWATCH_URL" "$work/metrics.prom" || fail "$tree"
  echo "# tree: $tree" >>"$work/actual"
  curl -fsS "$LEAKWATCH_URL/api/v1/containers" | python3 "$tools" normalize >>"$work/actual"
  stop_leakwatch
done

if [ "$UPDATE" = "-u" ]; then
  cp "$work/actual" "$golden"
  echo "rewrote $golden"
elif ! diff -u "$golden" "$work/actual"; then
  fail "/api/v1/containers differs from $golden (run with -u to accept an intended change)"
else
  echo "ok: /api/v1/containers matches $golden"
fi

start_leakwatch "$work/daemon.log" --cgroup.root "$fixtures/v2" \
  --docker.host none --sample.interval 100ms --leak.windows 10s,1m
url="$LEAKWATCH_URL"
id=2a4cc844a13ab9776f8f85ef994c37cf91f0b97acdf7cd35274d2018c975e594
expect 200 "series by the window's length" "$url/api/v1/containers/$id/series?window=60s"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["window"] == "1m"' "$work/body" ||
  fail "window=60s is not the 1m window"
expect 404 "unknown id" "$url/api/v1/containers/${id/2a4c/ffff}/series?window=10s"
expect 404 "a short id" "$url/api/v1/containers/${id:0:12}"
expect 400 "unconfigured window" "$url/api/v1/containers/$id/series?window=1h"
expect 400 "a window that is not a duration" "$url/api/v1/containers/$id/series?window=forever"
expect 400 "unknown parameter" "$url/api/v1/containers/$id/series?windows=10s"
expect 400 "a parameter on the list" "$url/api/v1/containers?window=10s"
expect 404 "unknown API path" "$url/api/v1/nodes"
expect 405 "POST" -X POST "$url/api/v1/containers"
curl -sS -D "$work/headers" -o /dev/null -X DELETE "$url/api/v1/containers/$id"
grep -qi '^Allow: GET, HEAD' "$work/headers" || fail "405 without Allow: $(cat "$work/headers")"
echo "ok: 405 carries Allow: GET, HEAD"
curl -sS -I "$url/api/v1/containers" >"$work/head"
grep -q '^HTTP/1.1 200' "$work/head" && grep -qi '^Content-Type: application/json' "$work/head" ||
  fail "HEAD: $(cat "$work/head")"
echo "ok: HEAD"
curl -fsS "$url/api/v1/containers" >"$work/plain.json"
curl -fsS --compressed -D "$work/headers" "$url/api/v1/containers" >"$work/gzip.json"
grep -qi '^Content-Encoding: gzip' "$work/headers" || fail "no gzip: $(cat "$work/headers")"
python3 -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); a.pop("time"); b.pop("time"); assert a==b' \
  "$work/plain.json" "$work/gzip.json" || fail "the gzipped reply differs"
echo "ok: gzip when accepted"
stop_leakwatch

# Basic auth covers the page and the API like every other path.
start_leakwatch "$work/daemon.log" --web.config.file "$here/../fixtures/config/web/users.yml" \
  --cgroup.root "$fixtures/v2" --docker.host none
url="$LEAKWATCH_URL"
for path in / /api/v1/containers "/api/v1/containers/$id/series"; do
  expect 401 "$path without credentials" "$url$path"
  expect 200 "$path with credentials" -u alice:hunter2-a "$url$path"
done
stop_leakwatch
