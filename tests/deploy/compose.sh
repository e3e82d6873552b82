#!/usr/bin/env bash
# deploy/docker-compose.yml and the files it mounts: Debian's docker-compose
# accepts the stack (with DOCKER_GID set and without), and compose_check.py
# checks what the services mount and say against the tools that read them
# (promtool, amtool, leakwatch --config.check) and against each other.
#   compose.sh LEAKWATCH REPO_ROOT
set -euo pipefail
LEAKWATCH="$1"
repo="$2"
for tool in docker-compose promtool amtool; do
  command -v "$tool" >/dev/null || { echo "FAIL: no $tool (scripts/test installs it)" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
compose="$repo/deploy/docker-compose.yml"
# docker-compose config needs no daemon; keep it off any that is around.
export DOCKER_HOST=unix:///nonexistent
env -u DOCKER_GID docker-compose -f "$compose" config --quiet
DOCKER_GID=4242 docker-compose -f "$compose" config >"$work/resolved.yml"
/usr/bin/python3 "$(dirname "$0")/compose_check.py" "$work/resolved.yml" "$repo" "$LEAKWATCH" "$work"
