#!/usr/bin/env bash
# The systemd unit for bare hosts, deploy/systemd/leakwatch.service:
# `systemd-analyze verify` accepts it without a word, its sandbox stays in
# the "OK" band of `systemd-analyze security`, and systemd_check.py finds
# ExecStart, reload, user and sandbox as documented.
#   systemd.sh LEAKWATCH_BINARY REPO_ROOT
set -euo pipefail
bin="$1"
root="$2"
unit="$root/deploy/systemd/leakwatch.service"
installed=/usr/local/bin/leakwatch
command -v systemd-analyze >/dev/null || { echo "FAIL: no systemd-analyze (scripts/test installs systemd)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# verify fails when ExecStart's binary does not exist, and the unit names
# the installed path: check a copy in which ExecStart names the built
# binary instead, and nothing else differs.
copy="$tmp/leakwatch.service"
sed "s#^ExecStart=$installed #ExecStart=$bin #" "$unit" >"$copy"
changed="$(diff "$unit" "$copy" | grep -c '^>' || true)"
if [ "$changed" != 1 ]; then
  echo "FAIL: $unit: want one ExecStart=$installed ... line to point at the built binary, rewrote $changed" >&2
  exit 1
fi

# verify exits 0 through most mistakes (an unknown key, a bad value: it
# logs "..., ignoring" and goes on), so any line it prints about the unit
# fails the test. Lines about other units (a host's own broken ones) do not.
out="$(systemd-analyze verify "$copy" 2>&1)" && rc=0 || rc=$?
if [ "$rc" != 0 ] || grep -q leakwatch <<<"$out"; then
  echo "FAIL: systemd-analyze verify $unit (ExecStart pointed at $bin) exits $rc:" >&2
  printf '%s\n' "$out" >&2
  exit 1
fi
[ -z "$out" ] || printf 'systemd-analyze verify, about other units:\n%s\n' "$out"
echo "systemd-analyze verify: no warning"

# The overall exposure on systemd's 0-100 scale (printed as 0.0-10.0);
# 20 is 2.0, inside "OK". Dropping the system call filter or the empty
# capability set alone crosses it; the named settings are checked below.
if ! out="$(systemd-analyze security --offline=true --threshold=20 "$copy" 2>&1)"; then
  printf '%s\n' "$out" >&2
  echo "FAIL: systemd-analyze security: $unit is exposed above 2.0" >&2
  exit 1
fi
grep 'Overall exposure' <<<"$out"

/usr/bin/python3 "$(dirname "$0")/systemd_check.py" "$bin" "$root"
