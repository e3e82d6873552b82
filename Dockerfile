# leakwatch: a two-stage build on Debian bookworm.
#
#   docker build --build-arg REVISION=$(git rev-parse --short=12 HEAD) -t leakwatch .
#   docker run -d --name leakwatch -p 9702:9702 \
#     -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(getent group docker | cut -d: -f3)" \
#     leakwatch
#
# The final image holds the binary and the shared libraries it links
# (prometheus-cpp core, spdlog, fmt, zlib, yaml-cpp, RE2, OpenSSL, libcrypt)
# and runs as an unprivileged user:
# reading cgroups needs no privilege, only the read-only mount.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake make pkg-config libboost-dev prometheus-cpp-dev nlohmann-json3-dev \
      libexpected-dev libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev \
      libyaml-cpp-dev libre2-dev libssl-dev libcrypt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG REVISION=unknown
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      -DLEAKWATCH_BENCH=OFF -DLEAKWATCH_REVISION="${REVISION}" \
 && cmake --build /build -j"$(nproc)" \
 && strip /build/bin/leakwatch

FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libprometheus-cpp-core1.0 libspdlog1.10 libfmt9 zlib1g \
      libyaml-cpp0.7 libre2-9 libssl3 libcrypt1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin --uid 10001 leakwatch
COPY --from=build /build/bin/leakwatch /usr/bin/leakwatch
ARG REVISION=unknown
LABEL org.opencontainers.image.title="leakwatch" \
      org.opencontainers.image.description="Finds memory leaks in running containers; a Prometheus exporter" \
      org.opencontainers.image.revision="${REVISION}"
USER leakwatch
EXPOSE 9702
# bash's /dev/tcp keeps curl out of the image; /healthz is 200 only while
# sampling is current. Assumes the default port.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9702 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/bin/leakwatch"]
