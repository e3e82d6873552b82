#!/usr/bin/env bash
# --web.config.file end to end with real curl: basic auth (401 / 200 / 401
# for no, right and wrong credentials; every bcrypt flavour), HTTPS with a
# certificate made here by the openssl CLI, TLS 1.1 refused by default,
# client certificates (mTLS, allowed SANs), and reloads of the web config.
#   web_config.sh LEAKWATCH_BINARY
set -euo pipefail
LEAKWATCH="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
cgroups="$here/../fixtures/cgroup/v2"
users="$here/../fixtures/config/web/users.yml"
work="$(mktemp -d)"
trap 'stop_leakwatch || true; rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- daemon log:" >&2
  cat "$work/daemon.log" >&2 || true
  exit 1
}

# code ARGS...: the HTTP status curl gets, "000" when it got none.
code() { curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$@" 2>>"$work/curl.err" || true; }
expect() {
  local want="$1" what="$2"
  shift 2
  local got
  got=$(code "$@")
  [ "$got" = "$want" ] || fail "$what: got $got, want $want"
  echo "ok: $what -> $want"
}

# The users fixture: alice ($2a$), bob ($2b$), carol ($2y$).
start_leakwatch "$work/daemon.log" --web.config.file "$users" \
  --cgroup.root "$cgroups" --docker.host none --log.level debug
url="$LEAKWATCH_URL"
expect 401 "no credentials" "$url/metrics"
expect 200 "right credentials" -u alice:hunter2-a "$url/metrics"
expect 401 "wrong password" -u alice:hunter2-b "$url/metrics"
expect 401 "unknown user" -u mallory:hunter2-a "$url/metrics"
expect 200 "bcrypt \$2b\$" -u bob:hunter2-b "$url/metrics"
expect 200 "bcrypt \$2y\$" -u carol:hunter2-y "$url/metrics"
expect 401 "/healthz is protected too" "$url/healthz"
expect 401 "HEAD without credentials" -I "$url/metrics"
expect 200 "HEAD with credentials" -I -u alice:hunter2-a "$url/metrics"
# Two requests on one keep-alive connection, the first a refused HEAD: the
# answer to a HEAD has no body, so the next response follows its headers
# directly.
address="${url#http://}"
exec 3<>"/dev/tcp/${address%:*}/${address##*:}"
auth=$(printf 'alice:hunter2-a' | base64)
printf 'HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\nAuthorization: Basic %s\r\nConnection: close\r\n\r\n' "$auth" >&3
both=$(timeout 5 cat <&3 | tr -d '\r' || true)
exec 3>&- 3<&-
after_head="${both#*$'\n\n'}"
[[ "$both" == "HTTP/1.1 401 Unauthorized"* ]] || fail "HEAD: ${both:0:100}"
[[ "$after_head" == "HTTP/1.1 200 OK"* ]] || fail "after a refused HEAD: ${after_head:0:100}"
echo "ok: a refused HEAD leaves the connection usable"
curl -sS -D "$work/headers" -o /dev/null "$url/metrics"
grep -qi '^WWW-Authenticate: Basic' "$work/headers" || fail "no WWW-Authenticate: Basic on 401"
grep -q '^leakwatch_up 1' <<<"$(curl -fsS -u alice:hunter2-a "$url/metrics")" ||
  fail "the authorised scrape has no leakwatch_up"

# Reload: a new user takes effect; a broken file is refused and the old
# users stay.
cp "$users" "$work/web.yml"
stop_leakwatch
start_leakwatch "$work/daemon.log" --web.config.file "$work/web.yml" \
  --cgroup.root "$cgroups" --docker.host none
url="$LEAKWATCH_URL"
expect 401 "dave before the reload" -u dave:hunter2-a "$url/metrics"
grep alice "$users" | sed 's/alice/dave/' >>"$work/web.yml"
kill -HUP "$LEAKWATCH_PID"
for _ in $(seq 1 50); do
  [ "$(code -u dave:hunter2-a "$url/metrics")" = 200 ] && break
  sleep 0.1
done
expect 200 "dave after the reload" -u dave:hunter2-a "$url/metrics"
printf 'basic_auth_users:\n  alice: hunter2-a\n' >"$work/web.yml"
kill -HUP "$LEAKWATCH_PID"
for _ in $(seq 1 50); do
  grep -q 'msg="Error reloading configuration' "$work/daemon.log" && break
  sleep 0.1
done
grep -qF "$work/web.yml:2:10: " <<<"$(grep 'msg="Error reloading configuration' "$work/daemon.log")" ||
  fail "the bad web config is not reported with file:line:column"
grep -q '^leakwatch_config_last_reload_successful 0' <<<"$(curl -fsS -u alice:hunter2-a "$url/metrics")" ||
  fail "leakwatch_config_last_reload_successful is not 0"
expect 200 "alice still in after a failed reload" -u alice:hunter2-a "$url/metrics"
stop_leakwatch

# A CA, a server certificate for 127.0.0.1, and client certificates.
tls="$work/tls"
mkdir -p "$tls"
(
  cd "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt \
    -days 2 -subj /CN=leakwatch-test-ca 2>/dev/null
  sign() { # NAME CN SAN
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" \
      -subj "/CN=$2" 2>/dev/null
    printf 'subjectAltName=%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
  }
  sign server localhost "DNS:localhost,IP:127.0.0.1"
  sign scraper scraper "DNS:scraper.example"
  sign other other "DNS:other.example"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout stranger.key \
    -out stranger.crt -days 2 -subj /CN=stranger 2>/dev/null
)

cat >"$work/https.yml" <<YAML
tls_server_config:
  cert_file: tls/server.crt
  key_file: tls/server.key
basic_auth_users:
$(grep alice "$users")
YAML
start_leakwatch "$work/daemon.log" --web.config.file "$work/https.yml" \
  --cgroup.root "$cgroups" --docker.host none --log.level debug
grep -q 'msg="TLS is enabled."' "$work/daemon.log" || fail "TLS is not reported enabled"
https="https://${LEAKWATCH_URL#http://}"
ca=(--cacert "$tls/ca.crt")
expect 200 "HTTPS with the CA-verified certificate" "${ca[@]}" -u alice:hunter2-a "$https/metrics"
expect 401 "HTTPS without credentials" "${ca[@]}" "$https/metrics"
# Plain HTTP to the HTTPS port: Go's 400, so a scrape config still saying
# http:// reads why it fails.
expect 400 "plain HTTP to the HTTPS port" "$LEAKWATCH_URL/metrics"
grep -q "Client sent an HTTP request to an HTTPS server." <<<"$(curl -s "$LEAKWATCH_URL/metrics")" ||
  fail "plain HTTP to the HTTPS port: no explanation in the reply"
expect 200 "TLS 1.2" "${ca[@]}" -u alice:hunter2-a --tlsv1.2 --tls-max 1.2 "$https/metrics"
expect 200 "TLS 1.3" "${ca[@]}" -u alice:hunter2-a --tlsv1.3 "$https/metrics"
# SECLEVEL=0 lets curl's OpenSSL offer TLS 1.1 at all: the refusal below is
# the server's.
old_tls=(--tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0')
: >"$work/curl.err"
expect 000 "TLS 1.1 refused by default" "${ca[@]}" -u alice:hunter2-a "${old_tls[@]}" "$https/metrics"
grep -q 'protocol version' "$work/curl.err" || fail "curl did not get a protocol_version alert: $(cat "$work/curl.err")"
for _ in $(seq 1 20); do
  grep -q 'step=handshake.*err="unsupported protocol"' "$work/daemon.log" && break
  sleep 0.1
done
grep -q 'step=handshake.*err="unsupported protocol"' "$work/daemon.log" ||
  fail "the server did not log refusing TLS 1.1"
stop_leakwatch

# The same client once min_version allows it: the refusal above was the
# default's doing.
sed 's/^  key_file: tls\/server.key$/&\n  min_version: TLS11/' "$work/https.yml" >"$work/tls11.yml"
start_leakwatch "$work/daemon.log" --web.config.file "$work/tls11.yml" \
  --cgroup.root "$cgroups" --docker.host none
https="https://${LEAKWATCH_URL#http://}"
expect 200 "TLS 1.1 with min_version: TLS11" "${ca[@]}" -u alice:hunter2-a "${old_tls[@]}" "$https/metrics"
stop_leakwatch

# mTLS: only certificates from the client CA, and with an allowed SAN.
cat >"$work/mtls.yml" <<'YAML'
tls_server_config:
  cert_file: tls/server.crt
  key_file: tls/server.key
  client_ca_file: tls/ca.crt
  client_auth_type: RequireAndVerifyClientCert
  client_allowed_sans: [scraper.example]
YAML
start_leakwatch "$work/daemon.log" --web.config.file "$work/mtls.yml" \
  --cgroup.root "$cgroups" --docker.host none
https="https://${LEAKWATCH_URL#http://}"
expect 200 "mTLS with a CA-signed client certificate" "${ca[@]}" \
  --cert "$tls/scraper.crt" --key "$tls/scraper.key" "$https/metrics"
expect 000 "mTLS without a client certificate" "${ca[@]}" "$https/metrics"
expect 000 "mTLS with a self-signed client certificate" "${ca[@]}" \
  --cert "$tls/stranger.crt" --key "$tls/stranger.key" "$https/metrics"
expect 000 "mTLS with a SAN not allowed" "${ca[@]}" \
  --cert "$tls/other.crt" --key "$tls/other.key" "$https/metrics"

# Reload to plain HTTP with users: new connections follow.
cp "$users" "$work/mtls.yml"
kill -HUP "$LEAKWATCH_PID"
for _ in $(seq 1 50); do
  [ "$(code -u alice:hunter2-a "$LEAKWATCH_URL/metrics")" = 200 ] && break
  sleep 0.1
done
expect 200 "plain HTTP after reloading the web config" -u alice:hunter2-a "$LEAKWATCH_URL/metrics"
stop_leakwatch
