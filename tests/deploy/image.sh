#!/usr/bin/env bash
# The repository's Dockerfile, built and run for real in the private dockerd
# (tests/docker/dockerd_start.sh), as the README tells users to run it:
#  1. a Debian bookworm base image made here with debootstrap from the
#     archive apt uses on this host (no registry is reachable), slimmed as
#     Docker's debian:bookworm-slim is, then `docker import`ed;
#  2. `docker build --build-arg BASE_IMAGE=<it>` with host networking, so the
#     Dockerfile's apt-get reaches the archive;
#  3. the image run against the host's real cgroups (read-only) and the
#     private dockerd's socket (--group-add of its group), beside a busybox
#     container it must find and name.
# It asserts the build context is small, the image's labels, user, size and
# `--version`, then /metrics, leakwatch_up and leakwatch_docker_up, the
# busybox container's series, the process's uid, the cgroup tree being
# unwritable to it, Docker's health status (the probe following
# --web.listen-address, and in a second container
# LEAKWATCH_WEB_LISTEN_ADDRESS), that the socket is unreachable without the
# group, and a clean exit on `docker stop`.
#   image.sh SOURCE_DIR STATE_DIR VERSION
# Set LEAKWATCH_SKIP_IMAGE_TEST=1 to skip it (exit 77); nothing else skips
# it, a missing tool or dockerd fails it.
set -euo pipefail
src="$1"
state="$2"
version="$3"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../docker/lib.sh"
source "$here/lib.sh"

if [ "${LEAKWATCH_SKIP_IMAGE_TEST:-}" = 1 ]; then
  echo "SKIP: LEAKWATCH_SKIP_IMAGE_TEST=1"
  exit 77
fi
for tool in debootstrap docker python3 curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "no $tool: scripts/test installs it (LEAKWATCH_SKIP_IMAGE_TEST=1 skips this test)" >&2
    exit 1
  fi
done
if [ ! -f "$state/env" ]; then
  echo "no private dockerd (see the docker_daemon_start test's output; it needs root)" >&2
  echo "LEAKWATCH_SKIP_IMAGE_TEST=1 skips this test" >&2
  exit 1
fi
need_private_dockerd "$state"

t0=$(date +%s)
work="$(mktemp -d /tmp/lw-image-XXXXXX)"
base_tag=leakwatch-test-debian:bookworm
image_tag=leakwatch:image-test
names=(lw-image-leakwatch lw-image-envport lw-image-busybox)
cleanup() {
  docker_cli rm -f "${names[@]}" >/dev/null 2>&1 || true
  docker_cli rmi -f "$image_tag" "$base_tag" >/dev/null 2>&1 || true
  # The classic builder keeps the build stage as untagged images.
  docker_cli image prune -f >/dev/null 2>&1 || true
  # debootstrap mounts proc and sys in its target; a failed run may leave
  # them, and rm must not walk into them.
  awk -v root="$work/" 'index($2, root) == 1 { print $2 }' /proc/mounts |
    sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# apt_uri SUITE: the first URI this host's apt fetches Debian's SUITE from
# (one-line .list files and deb822 .sources files), or nothing.
apt_uri() {
  local f
  {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      awk -v s="$1" '$1 == "deb" {
        i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == s) print $i
      }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v s="$1" 'BEGIN { RS = "" } {
        n = split($0, l, "\n"); uri = ""; deb = 0; suite = 0; off = 0
        for (j = 1; j <= n; j++) {
          if (l[j] ~ /^Types:/ && (" " l[j] " ") ~ / deb /) deb = 1
          if (l[j] ~ /^URIs:/) { split(l[j], u, " "); uri = u[2] }
          if (l[j] ~ /^Suites:/) { m = split(l[j], w, " "); for (k = 2; k <= m; k++) if (w[k] == s) suite = 1 }
          if (l[j] ~ /^Enabled: *no/) off = 1
        }
        if (deb && suite && !off && uri != "") print uri
      }' "$f"
    done
  } | head -1
}

# make_base_tar OUT: a bookworm minbase root file system, slimmed the way
# debuerreotype makes debian:bookworm-slim (no man pages, docs but
# copyrights, locales, package lists or apt caches, and the dpkg/apt
# configuration that keeps later installs so), as a tar file.
make_base_tar() {
  local out="$1" rootfs="$work/rootfs" mirror security
  mirror="$(apt_uri bookworm)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  security="$(apt_uri bookworm-security)"
  echo "debootstrap --variant=minbase bookworm from $mirror"
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log" >&2
    return 1
  fi
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/bootstrap.log \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/groff/* "$rootfs"/usr/share/lintian/* \
    "$rootfs"/usr/share/linda/*
  find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias \
    -exec rm -rf {} +
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
CFG
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
  rm -f "$rootfs/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\n' "$mirror"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [ -n "$security" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\n' "$security"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } >"$rootfs/etc/apt/sources.list.d/debian.sources"
  : >"$rootfs/etc/machine-id"
  tar -C "$rootfs" --numeric-owner -cf "$out" .
  rm -rf --one-file-system "$rootfs"
}

# 1. The base image. The tarball is cached outside the build tree (it saves
# debootstrap's ~30 s and the archive's bandwidth on every rerun) and made
# again after 30 days, so the base follows point releases; the packages the
# Dockerfile installs on it are today's either way. LEAKWATCH_IMAGE_CACHE
# moves the cache; the file name's v1 changes with make_base_tar.
cache="${LEAKWATCH_IMAGE_CACHE:-/var/cache/leakwatch}"
base_tar="$cache/debian-bookworm-minbase-slim-v1-$(dpkg --print-architecture).tar"
if [ -f "$base_tar" ] && [ -z "$(find "$base_tar" -mtime +30)" ]; then
  echo "base: cached $base_tar"
else
  mkdir -p "$cache"
  # Made aside and renamed: a concurrent run never reads half a file.
  make_base_tar "$work/base.tar"
  mv "$work/base.tar" "$base_tar.$$" && mv "$base_tar.$$" "$base_tar"
fi
docker_cli import "$base_tar" "$base_tag" >/dev/null
t1=$(date +%s)
echo "base image $base_tag ready after $((t1 - t0)) s"

# 2. The build. DOCKER_BUILDKIT=0: the classic builder, which takes
# --network host without the daemon's network.host entitlement and works
# with any client, Debian's 20.10 as well as newer ones without buildx.
revision="$(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
source_url="https://leakwatch.invalid/source"
docs_url="https://leakwatch.invalid/docs"
vendor="leakwatch image test"
if ! DOCKER_BUILDKIT=0 docker_cli build --network host --force-rm -t "$image_tag" \
  --build-arg BASE_IMAGE="$base_tag" --build-arg VERSION="$version" \
  --build-arg REVISION="$revision" --build-arg CREATED="$created" \
  --build-arg SOURCE_URL="$source_url" --build-arg DOCUMENTATION_URL="$docs_url" \
  --build-arg VENDOR="$vendor" \
  -f "$src/Dockerfile" "$src" >"$work/build.log" 2>&1; then
  echo "docker build failed:" >&2
  tail -40 "$work/build.log" >&2
  exit 1
fi
t2=$(date +%s)
echo "docker build took $((t2 - t1)) s"

# The context: .dockerignore keeps .git and the build trees out. The
# classic builder reports it as "Sending build context to Docker daemon
# 1.234MB" (decimal units).
context="$(sed -n 's/.*Sending build context to Docker daemon *\([0-9.]*[kMG]*B\).*/\1/p' \
  "$work/build.log" | tail -1)"
context_bytes="$(awk -v v="$context" 'BEGIN {
  n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
  m = (u == "kB") ? 1e3 : (u == "MB") ? 1e6 : (u == "GB") ? 1e9 : 1
  printf "%d", n * m }')"
echo "build context: $context"
[ -n "$context" ] && [ "$context_bytes" -lt 10000000 ] ||
  FAIL "build context is ${context:-unknown}, want under 10 MB (.dockerignore)"

label() {
  docker_cli image inspect -f "{{index .Config.Labels \"org.opencontainers.image.$1\"}}" "$image_tag"
}
want_label() {
  local got
  got="$(label "$1")"
  [ "$got" = "$2" ] || FAIL "label org.opencontainers.image.$1 is \"$got\", want \"$2\""
}
want_label title leakwatch
want_label version "$version"
want_label revision "$revision"
want_label created "$created"
want_label source "$source_url"
want_label documentation "$docs_url"
want_label vendor "$vendor"
want_label base.name "$base_tag"
[ -n "$(label description)" ] || FAIL "no org.opencontainers.image.description label"

user="$(docker_cli image inspect -f '{{.Config.User}}' "$image_tag")"
case "$user" in
  '' | 0 | 0:* | root | root:*) FAIL "the image runs as root (User \"$user\")" ;;
esac
[ "$(docker_cli image inspect -f '{{if .Config.Healthcheck}}yes{{end}}' "$image_tag")" = yes ] ||
  FAIL "the image has no HEALTHCHECK"

size="$(docker_cli image inspect -f '{{.Size}}' "$image_tag")"
base_size="$(docker_cli image inspect -f '{{.Size}}' "$base_tag")"
echo "image size: $((size / 1000000)) MB ($((base_size / 1000000)) MB base + $(((size - base_size) / 1000000)) MB leakwatch and its libraries)"
[ "$size" -lt 150000000 ] || FAIL "the image is $((size / 1000000)) MB, want under 150 MB"
[ $((size - base_size)) -lt 50000000 ] ||
  FAIL "the image adds $(((size - base_size) / 1000000)) MB to its base, want under 50 MB"

# --version loads every shared library the binary links.
out="$(docker_cli run --rm --network none "$image_tag" --version 2>&1)" ||
  FAIL "leakwatch --version failed in the image: $out"
[ "$(head -1 <<<"$out")" = "leakwatch $version" ] ||
  FAIL "--version's first line is \"$(head -1 <<<"$out")\", want \"leakwatch $version\""
grep -Eq "^ *revision: $revision\$" <<<"$out" ||
  FAIL "--version does not report revision $revision: $out"

# 3. Run it.
port="$(free_port)"
port2="$(free_port)"
while [ "$port2" = "$port" ]; do port2="$(free_port)"; done
sock_gid="$(stat -c %g "$LW_DOCKER_SOCK")"
# As the README runs it; --pid host only widens what it sees (the host's
# processes, to name the one that leaks), not what it may do.
hardening=(--read-only --cap-drop ALL --security-opt no-new-privileges --pid host)

busybox_id="$(docker_cli run -d --name lw-image-busybox --network none \
  "$LW_DOCKER_IMAGE" sleep 3600)"
docker_cli run -d --name lw-image-leakwatch --network host "${hardening[@]}" \
  -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
  -v "$LW_DOCKER_SOCK:/var/run/docker.sock" --group-add "$sock_gid" \
  --health-interval 1s --health-timeout 3s \
  "$image_tag" --web.listen-address "127.0.0.1:$port" --sample.interval 1s >/dev/null
# The same, but the address from the environment, and no --group-add: the
# socket must then be out of reach.
docker_cli run -d --name lw-image-envport --network host "${hardening[@]}" \
  -v /sys/fs/cgroup:/sys/fs/cgroup:ro -v "$LW_DOCKER_SOCK:/var/run/docker.sock" \
  -e LEAKWATCH_WEB_LISTEN_ADDRESS="127.0.0.1:$port2" \
  --health-interval 1s --health-timeout 3s \
  "$image_tag" --sample.interval 1s >/dev/null

show_logs() {
  local name
  for name in lw-image-leakwatch lw-image-envport; do
    echo "--- docker logs $name" >&2
    docker_cli logs "$name" 2>&1 | tail -20 >&2
  done
}

LEAKWATCH_URL="http://127.0.0.1:$port"
if ! wait_until 20 scrape >/dev/null 2>&1; then
  FAIL "/metrics on $LEAKWATCH_URL did not answer within 20 s"
  show_logs
  exit 1
fi
docker_cli logs lw-image-leakwatch 2>&1 | grep -m1 'Detected cgroup layout' || true

described() {
  series "$(scrape)" leakwatch_container_memory_working_set_bytes "$busybox_id" |
    grep -q 'name="lw-image-busybox"'
}
wait_until 15 described ||
  FAIL "the busybox container has no working-set series named lw-image-busybox"
wait_until 5 docker_up_is 1 || FAIL "leakwatch_docker_up is not 1 with the socket's group added"
metrics="$(scrape)"
grep -qx 'leakwatch_up 1' <<<"$metrics" || FAIL "leakwatch_up is not 1"
series "$metrics" leakwatch_container_memory_working_set_bytes "$busybox_id" || true

# The process as the host sees it: no uid 0 anywhere, and the socket's
# group among its groups.
pid="$(docker_cli inspect -f '{{.State.Pid}}' lw-image-leakwatch)"
read -r _ ruid euid suid fsuid < <(grep '^Uid:' "/proc/$pid/status")
echo "leakwatch runs as uids $ruid $euid $suid $fsuid, groups $(sed -n 's/^Groups:\t*//p' "/proc/$pid/status")"
case " $ruid $euid $suid $fsuid " in
  *" 0 "*) FAIL "leakwatch runs as uid 0 (Uid: $ruid $euid $suid $fsuid)" ;;
esac
grep -E "^Groups:.*\<$sock_gid\>" "/proc/$pid/status" >/dev/null ||
  FAIL "the socket's group $sock_gid is not among leakwatch's groups"

# `:ro` on the bind is not recursive before Docker 25: the controller
# mounts under it stay writable, and root in the container, even with
# --cap-drop ALL, owns the cgroup directories and files below the (0555)
# hierarchy roots. Only the unprivileged user keeps the host's cgroups
# safe. Checked as that user, in the container: a child of its own memory
# cgroup, which root could create.
cg="$(sed -n 's/^[0-9]*:memory://p' "/proc/$pid/cgroup")"
if [ -n "$cg" ]; then
  probe="/sys/fs/cgroup/memory$cg/lw-image-probe"
else
  probe="/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$pid/cgroup")/lw-image-probe"
fi
if docker_cli exec lw-image-leakwatch bash -c "mkdir $probe" 2>/dev/null; then
  rmdir "$probe" 2>/dev/null || true
  FAIL "the container's user could create the cgroup $probe through the read-only mount"
fi

health() {
  docker_cli inspect -f '{{.State.Health.Status}}' "$1"
}
wait_until 30 eval '[ "$(health lw-image-leakwatch)" = healthy ]' ||
  FAIL "Docker's health status is \"$(health lw-image-leakwatch)\", want healthy (--web.listen-address 127.0.0.1:$port)"
wait_until 30 eval '[ "$(health lw-image-envport)" = healthy ]' ||
  FAIL "Docker's health status is \"$(health lw-image-envport)\", want healthy (LEAKWATCH_WEB_LISTEN_ADDRESS=127.0.0.1:$port2)"
LEAKWATCH_URL="http://127.0.0.1:$port2"
wait_until 5 docker_up_is 0 ||
  FAIL "leakwatch_docker_up is not 0 without the socket's group: the socket is reachable to anyone"
LEAKWATCH_URL="http://127.0.0.1:$port"

# docker stop sends SIGTERM to PID 1: leakwatch must handle it (the
# kernel ignores signals PID 1 has no handler for) and exit 0.
stopped_at=$(date +%s%N)
docker_cli stop -t 10 lw-image-leakwatch >/dev/null
code="$(docker_cli inspect -f '{{.State.ExitCode}}' lw-image-leakwatch)"
echo "docker stop took $((($(date +%s%N) - stopped_at) / 1000000)) ms, exit code $code"
[ "$code" = 0 ] || FAIL "leakwatch exited $code on docker stop, want 0"

[ "$fail" = 0 ] || show_logs
echo "image test took $(($(date +%s) - t0)) s"
exit "$fail"
