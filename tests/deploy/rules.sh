#!/usr/bin/env bash
# The bundled alert rules: promtool accepts them, their unit tests pass,
# and every alert has a unit test where it fires and one where it does not.
#   rules.sh REPO_ROOT
set -euo pipefail
root="$1"
rules="$root/deploy/prometheus/leakwatch.rules.yml"
tests="$root/deploy/prometheus/leakwatch.rules.test.yml"
command -v promtool >/dev/null || { echo "FAIL: no promtool (scripts/test installs prometheus)" >&2; exit 1; }
promtool check rules "$rules"
promtool test rules "$tests"
/usr/bin/python3 "$(dirname "$0")/rules_coverage.py" "$rules" "$tests"
