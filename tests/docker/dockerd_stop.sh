#!/usr/bin/env bash
# ctest fixture cleanup: removes every container of the private dockerd
# started by dockerd_start.sh, stops it (and its containerd and shims),
# unmounts what it mounted and deletes its directories.
#   dockerd_stop.sh STATE_DIR
set -uo pipefail
state="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
[ -f "$state/env" ] || { echo "no private dockerd to stop"; exit 0; }
source "$state/env"
stop_private_dockerd
rm -f "$state/env"
echo "private dockerd at $LW_DOCKER_ROOT removed"
