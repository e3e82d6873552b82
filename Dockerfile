# leakwatch: a two-stage build on Debian bookworm. The final image holds the
# stripped binary and the shared libraries it links (prometheus-cpp core,
# spdlog, fmt, zlib, yaml-cpp, RE2, OpenSSL, libcrypt) on BASE_IMAGE, and
# runs as an unprivileged user (uid/gid 10001).
#
# Build (VERSION, REVISION and CREATED only fill the OCI labels and the
# revision `--version` prints; SOURCE_URL, DOCUMENTATION_URL and VENDOR are
# empty unless given):
#
#   docker build -t leakwatch \
#     --build-arg VERSION="$(sed -n 's/^project(leakwatch VERSION \([^ )]*\).*/\1/p' CMakeLists.txt)" \
#     --build-arg REVISION="$(git rev-parse --short=12 HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .
#
# Run:
#
#   docker run -d --name leakwatch -p 9702:9702 \
#     --read-only --cap-drop ALL --security-opt no-new-privileges \
#     -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     --group-add "$(stat -c %g /var/run/docker.sock)" \
#     leakwatch
#
# (compose: `group_add: ["<that gid>"]`, `read_only: true`,
# `cap_drop: [ALL]`.) Without the socket, or with --docker.host none,
# containers are still found from their cgroups and carry only `id`.
#
# The cgroup mount, as found on a hybrid cgroup v1 host (Docker 20.10,
# kernel 6.x; tests/deploy/image.sh checks it): Docker bind mounts
# recursively, so `-v /sys/fs/cgroup:/sys/fs/cgroup:ro` replaces the
# container's own cgroup mount with the host's whole tree, the v1
# controller mounts (memory/, cpu/, cpuacct/, ...) and unified/ included,
# and leakwatch finds every container on the host at the default
# --cgroup.root. No --cgroupns host, no other mount point. Without the
# line, leakwatch sees only its own cgroup and reports no container. (On a
# cgroup v2 host /sys/fs/cgroup is a single mount, so there are no
# submounts to lose; not tried here.)
#
# But before Docker Engine 25 (API 1.44) `:ro` is not recursive: only the
# tmpfs on top is read-only, the controller mounts under it stay writable,
# and root in the container, even with --cap-drop ALL, owns the cgroup
# files below the hierarchy roots: it could create cgroups and rewrite any
# container's memory.limit_in_bytes. The unprivileged user is what stops
# that; do not run the image as root. Docker 25 and later make a read-only
# bind recursively read-only where the kernel can (5.12+);
# `--mount type=bind,src=/sys/fs/cgroup,dst=/sys/fs/cgroup,readonly,bind-recursive=readonly`
# insists on it.
#
# BASE_IMAGE must be Debian bookworm (or a derivative with its package
# names); tests/deploy/image.sh builds on one made with debootstrap.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake make pkg-config libboost-dev prometheus-cpp-dev nlohmann-json3-dev \
      libexpected-dev libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev \
      libyaml-cpp-dev libre2-dev libssl-dev libcrypt-dev \
 && rm -rf /var/lib/apt/lists/*
# .dockerignore lets in only the sources the daemon is built from. No
# WORKDIR: every instruction here copies the whole toolchain under Docker's
# vfs storage driver (which tests/deploy/image.sh runs on), so the build
# stage keeps to the steps it needs.
COPY . /src
ARG REVISION=unknown
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      -DLEAKWATCH_BENCH=OFF -DLEAKWATCH_REVISION="${REVISION}" \
 && cmake --build /build -j"$(nproc)" \
 && strip /build/bin/leakwatch

FROM ${BASE_IMAGE}
# A numeric USER below, so Kubernetes' runAsNonRoot can check it without
# reading /etc/passwd. apt-get clean: a base image other than -slim keeps
# downloaded packages and its caches otherwise.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libprometheus-cpp-core1.0 libspdlog1.10 libfmt9 zlib1g \
      libyaml-cpp0.7 libre2-9 libssl3 libcrypt1 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 leakwatch \
 && useradd --system --uid 10001 --gid leakwatch --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin leakwatch
COPY --from=build /build/bin/leakwatch /usr/bin/leakwatch
USER 10001:10001
EXPOSE 9702
# /healthz is 200 only while sampling is current. The probe is bash alone
# (/dev/tcp and builtins: no curl in the image, and no child process that
# could be orphaned onto leakwatch as PID 1 when Docker kills a slow probe).
# It asks the address leakwatch listens on: --web.listen-address from the
# command line (PID 1's, also behind --init; in the host's PID namespace,
# `pid: host`, that of the leakwatch process in the probe's own cgroup),
# else $LEAKWATCH_WEB_LISTEN_ADDRESS, else :9702; a wildcard host is asked
# on loopback. An address set only in --config.file is not seen: set it by
# flag or environment instead.
#
# With TLS or basic auth (--web.config.file) /healthz is protected like
# every path, so this plain, anonymous probe reports unhealthy. Then either
# replace it with one that speaks TLS and sends credentials, from an image
# derived from this one that adds curl:
#   HEALTHCHECK CMD curl -fsS --cacert /etc/leakwatch/ca.crt \
#     -u "healthz:$HEALTHZ_PASSWORD" https://127.0.0.1:9702/healthz
# (or `docker run --health-cmd ...`, compose `healthcheck: {test: [...]}`),
# or turn it off (`--no-healthcheck`, compose `healthcheck: {disable: true}`)
# and alert on Prometheus' `up` and `leakwatch_up` instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["bash", "-c", "\
    addr=${LEAKWATCH_WEB_LISTEN_ADDRESS:-:9702}; \
    mapfile -d '' -t argv </proc/1/cmdline; \
    if [[ ${argv[*]} != *leakwatch* ]]; then \
      read -r -d '' self </proc/self/cgroup; argv=(); \
      for d in /proc/[0-9]*; do \
        read -r -d '' cg <$d/cgroup 2>/dev/null || [[ -n $cg ]] || continue; \
        [[ $cg == \"$self\" ]] || continue; \
        mapfile -d '' -t argv <$d/cmdline 2>/dev/null; \
        [[ ${argv[0]##*/} == leakwatch ]] && break; argv=(); \
      done; \
    fi; \
    for ((i = 1; i < ${#argv[@]}; i++)); do case ${argv[i]} in \
      --web.listen-address=*) addr=${argv[i]#*=} ;; \
      --web.listen-address) addr=${argv[i + 1]} ;; \
    esac; done; \
    host=${addr%:*}; host=${host#[}; host=${host%]}; \
    case $host in '' | 0.0.0.0) host=127.0.0.1 ;; ::) host=::1 ;; esac; \
    exec 3<>/dev/tcp/$host/${addr##*:} \
      && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 \
      && read -r -t 4 status <&3 \
      && [[ $status == HTTP/1.[01]' 200 '* ]]"]
ENTRYPOINT ["/usr/bin/leakwatch"]
# Labels last: CREATED and REVISION change every build and would otherwise
# invalidate the cached layers above.
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=
ARG SOURCE_URL=
ARG DOCUMENTATION_URL=
ARG VENDOR=
ARG BASE_IMAGE
LABEL org.opencontainers.image.title="leakwatch" \
      org.opencontainers.image.description="Prometheus exporter of container memory and CPU from cgroups and the Docker Engine API, with a memory leak estimator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.documentation="${DOCUMENTATION_URL}" \
      org.opencontainers.image.vendor="${VENDOR}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
