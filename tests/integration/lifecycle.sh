#!/usr/bin/env bash
# Lifecycle end to end: SIGTERM lets a scrape in flight finish and the
# daemon exit 0 within a second; a taken port is a clear startup error
# (exit 1).
#   lifecycle.sh LEAKWATCH_BINARY
set -euo pipefail
LEAKWATCH="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
cgroups="$here/../fixtures/cgroup/v2"
work="$(mktemp -d)"
trap 'exec 3>&- 3<&- || true; stop_leakwatch || true; rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- daemon log:" >&2
  cat "$work/daemon.log" >&2 || true
  exit 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

for signal in TERM INT; do
  start_leakwatch "$work/daemon.log" --cgroup.root "$cgroups" --docker.host none
  address="${LEAKWATCH_URL#http://}"
  # A scrape in flight: connected, request half sent when the signal comes.
  exec 3<>"/dev/tcp/${address%:*}/${address##*:}"
  printf 'GET /metrics HTTP/1.1\r\nHost: test\r\n' >&3
  sleep 0.1
  signalled=$(now_ms)
  kill "-$signal" "$LEAKWATCH_PID"
  sleep 0.2
  printf '\r\n' >&3
  response=$(timeout 2 cat <&3 || true)
  exec 3>&- 3<&-
  status=0
  wait "$LEAKWATCH_PID" || status=$?
  elapsed=$(($(now_ms) - signalled))
  LEAKWATCH_PID=""
  [ "$status" -eq 0 ] || fail "SIG$signal: exit status $status, want 0"
  [ "$elapsed" -lt 1000 ] || fail "SIG$signal: took ${elapsed} ms to exit, want < 1000"
  [[ "$response" == "HTTP/1.1 200 OK"* ]] || fail "SIG$signal: the scrape in flight got: ${response:0:200}"
  grep -q '^leakwatch_up 1' <<<"$response" || fail "SIG$signal: the in-flight scrape is incomplete"
  grep -qi '^Connection: close' <<<"${response//$'\r'/}" || fail "SIG$signal: the last response does not close the connection"
  grep -q 'msg="Received signal, exiting gracefully"' "$work/daemon.log" || fail "SIG$signal: not logged"
  echo "ok: SIG$signal finishes the scrape in flight and exits 0 in ${elapsed} ms"
done

# A taken port: exit 1, a message naming the address and the reason, and
# no "Listening on".
start_leakwatch "$work/daemon.log" --cgroup.root "$cgroups" --docker.host none
address="${LEAKWATCH_URL#http://}"
status=0
timeout 10 "$LEAKWATCH" --web.listen-address "$address" --cgroup.root "$cgroups" \
  --docker.host none >"$work/second.log" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "a second daemon on $address exited $status, want 1"
grep -q "msg=\"Cannot listen\" address=$address" <<<"$(grep 'level=error' "$work/second.log")" ||
  fail "no clear error: $(cat "$work/second.log")"
grep -q "address already in use" "$work/second.log" || fail "the reason is missing: $(cat "$work/second.log")"
if grep -q 'Listening on' "$work/second.log"; then fail "the second daemon claims to listen"; fi
curl -fsS -o /dev/null "$LEAKWATCH_URL/metrics" || fail "the first daemon stopped serving"
stop_leakwatch
echo "ok: a taken port is a startup error (exit 1, \"address already in use\")"
