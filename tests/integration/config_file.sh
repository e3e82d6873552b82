#!/usr/bin/env bash
# The YAML configuration end to end: --config.check and startup on bad
# files (file:line:column, exit 1), the shipped example, and precedence
# flag > environment > file > default as the running daemon sees it.
#   config_file.sh LEAKWATCH_BINARY
set -euo pipefail
LEAKWATCH="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
fixtures="$here/../fixtures/config"
cgroups="$here/../fixtures/cgroup/v2"
example="$here/../../deploy/leakwatch.yml"
work="$(mktemp -d)"
trap 'stop_leakwatch || true; rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_invalid FIXTURE LOCATION TEXT: both --config.check and a real
# start fail with exit 1 and an error naming file:line:column.
expect_invalid() {
  local file="$fixtures/$1" where="$fixtures/$1:$2" text="$3" status
  status=0
  "$LEAKWATCH" --config.file "$file" --config.check >"$work/out" 2>&1 || status=$?
  [ "$status" -eq 1 ] || fail "$1: --config.check exited $status, want 1"
  grep -qF "leakwatch: error: $where: " "$work/out" ||
    fail "$1: --config.check does not name $where: $(cat "$work/out")"
  grep -qF -e "$text" "$work/out" || fail "$1: no \"$text\" in: $(cat "$work/out")"

  status=0
  timeout 10 "$LEAKWATCH" --config.file "$file" --web.listen-address 127.0.0.1:0 \
    --cgroup.root "$cgroups" --docker.host none >"$work/out" 2>&1 || status=$?
  [ "$status" -eq 1 ] || fail "$1: startup exited $status, want 1"
  grep -qF "$where: " "$work/out" || fail "$1: startup does not name $where"
  if grep -q "Listening on" "$work/out"; then
    fail "$1: started listening despite the bad file"
  fi
  echo "ok: $1 rejected at $2"
}

expect_invalid unclosed_list.yml 4:12 'unclosed list'
expect_invalid unknown_key.yml 4:3 'did you mean "interval"?'
expect_invalid bad_duration.yml 2:13 'invalid duration "5sec"'
expect_invalid wrong_type.yml 1:9 'expected a mapping'
expect_invalid window_too_short.yml 5:12 'fewer than 10 samples'
expect_invalid bad_regex.yml 4:7 'invalid regular expression'
expect_invalid flag_only.yml 2:3 '--config.file'

# A web config that does not load fails --config.check too.
status=0
"$LEAKWATCH" --web.config.file "$fixtures/web/plaintext_password.yml" \
  --config.check >"$work/out" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "bad web config: --config.check exited $status"
grep -qF "$fixtures/web/plaintext_password.yml:2:10: " "$work/out" ||
  fail "bad web config: no file:line:column in $(cat "$work/out")"
echo "ok: a bad web config fails --config.check"

"$LEAKWATCH" --config.file "$example" --config.check >"$work/out" 2>&1 ||
  fail "deploy/leakwatch.yml does not validate: $(cat "$work/out")"
grep -q 'msg="Configuration is valid"' "$work/out" || fail "no success message"
echo "ok: deploy/leakwatch.yml validates"

# Precedence, as the daemon reports its effective configuration.
cat >"$work/leakwatch.yml" <<'YAML'
web:
  telemetry_path: /from-file
sample:
  interval: 3s
leak:
  windows: [1h]
YAML
LEAKWATCH_SAMPLE_INTERVAL=2s LEAKWATCH_WEB_TELEMETRY_PATH=/from-env \
  start_leakwatch "$work/daemon.log" --config.file "$work/leakwatch.yml" \
  --sample.interval 1s --cgroup.root "$cgroups" --docker.host none
loaded=$(grep 'msg="Loaded configuration"' "$work/daemon.log")
[ "$(grep -c 'msg="Loaded configuration"' "$work/daemon.log")" -eq 1 ] ||
  fail "the configuration is not logged exactly once"
for want in 'sample.interval=1s' 'web.telemetry-path=/from-env' \
  'leak.windows=1h ' 'log.format=logfmt'; do
  [[ "$loaded" == *"$want"* ]] || fail "effective configuration lacks $want: $loaded"
done
# The environment's path is served, the file's is not.
curl -fsS -o /dev/null "$LEAKWATCH_URL/from-env" || fail "/from-env not served"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$LEAKWATCH_URL/from-file")
[ "$code" = 404 ] || fail "/from-file answered $code, want 404"
stop_leakwatch
echo "ok: flag > environment > file > default"
