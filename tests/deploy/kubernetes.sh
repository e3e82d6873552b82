#!/usr/bin/env bash
# The Kubernetes manifests in deploy/kubernetes/, checked offline (there is
# no API server here; kubernetes_check.py says what it checks and why no
# schema validator does it), and the PrometheusRule's groups through
# promtool, as rules.sh checks the plain rule file.
#   kubernetes.sh LEAKWATCH_BINARY REPO_ROOT
set -euo pipefail
bin="$1"
root="$2"
command -v promtool >/dev/null || { echo "FAIL: no promtool (scripts/test installs prometheus)" >&2; exit 1; }
/usr/bin/python3 -c 'import kubernetes, yaml' ||
  { echo "FAIL: Debian's /usr/bin/python3 lacks python3-kubernetes or python3-yaml (scripts/test installs them)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$(dirname "$0")/kubernetes_check.py" "$bin" "$root" "$tmp/prometheusrule-groups.yml"
promtool check rules "$tmp/prometheusrule-groups.yml"
