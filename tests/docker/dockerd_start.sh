#!/usr/bin/env bash
# ctest fixture setup: starts a private dockerd for the Docker integration
# tests and imports a busybox image into it. Nothing is shared with a
# system Docker: its own data-root, exec-root, pidfile and socket under a
# temp dir, vfs storage, no bridge, no iptables. No registry is reachable,
# so the image is a rootfs tarball made from busybox-static's /bin/busybox.
#   dockerd_start.sh STATE_DIR
# Writes STATE_DIR/env (sourced by the tests and dockerd_stop.sh). Exits 77
# (ctest's skip) where a Docker daemon cannot run: not root, no dockerd.
set -euo pipefail
state="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"

rm -f "$state/env"
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: a private dockerd needs root"
  exit 77
fi
for tool in dockerd docker busybox; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: no $tool (scripts/test installs docker.io and busybox-static)"
    exit 77
  fi
done
mkdir -p "$state"
# A short path: a unix socket path must fit in 108 bytes.
root="$(mktemp -d /tmp/lw-dockerd-XXXXXX)"
cat >"$state/env" <<VARS
LW_DOCKER_ROOT=$root
LW_DOCKER_SOCK=$root/docker.sock
LW_DOCKER_HOST=unix://$root/docker.sock
LW_DOCKER_IMAGE=leakwatch-busybox:test
VARS
source "$state/env"

start_private_dockerd
echo "dockerd up at $LW_DOCKER_HOST ($(docker_cli version --format '{{.Server.Version}} API {{.Server.APIVersion}}'))"

mkdir -p "$root/rootfs/bin"
cp "$(command -v busybox)" "$root/rootfs/bin/busybox"
for applet in sh sleep cat head dd; do ln -s busybox "$root/rootfs/bin/$applet"; done
tar -C "$root/rootfs" -c . | docker_cli import - "$LW_DOCKER_IMAGE" >/dev/null
rm -rf "$root/rootfs"
echo "imported $LW_DOCKER_IMAGE"
