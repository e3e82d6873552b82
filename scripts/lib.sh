# Shared by scripts/run and scripts/test: install what is missing, then
# configure and build. Sourced, not run.

# Debian 12 packages the build and the test suite need. Boost is Debian's
# default 1.74 (libboost-dev), never libboost1.81-dev, which conflicts.
LEAKWATCH_BUILD_PACKAGES=(
  g++ cmake make pkg-config git
  libboost-dev prometheus-cpp-dev nlohmann-json3-dev
  libexpected-dev libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev
  libyaml-cpp-dev libre2-dev libssl-dev libcrypt-dev
)
# docker.io and busybox-static: the Docker integration tests start a private
# dockerd and import a busybox image made from /bin/busybox (no registry);
# python3 runs their fake Engine API (standard library only).
# The deployment tests: prometheus brings promtool (rules, and a real server
# for the dashboard's queries), prometheus-alertmanager brings amtool,
# docker-compose checks the stack, python3-yaml (Debian's /usr/bin/python3)
# reads the rule, compose and manifest files, python3-kubernetes' typed
# models catch misspelt manifest fields, and systemd brings
# systemd-analyze, which checks the unit for bare hosts.
LEAKWATCH_TEST_PACKAGES=(
  # chromium: the page at / in a headless browser (page_browser.sh).
  chromium
  libgtest-dev libgmock-dev libbenchmark-dev clang-format curl procps openssl
  docker.io busybox-static python3 prometheus prometheus-alertmanager
  docker-compose python3-yaml python3-kubernetes systemd
  debootstrap  # tests/deploy/image.sh: the Docker image's Debian base
  # examples/node-ssr-leak and its test: the app, the load, the chart
  # (Locust and matplotlib run under Debian's /usr/bin/python3).
  nodejs python3-locust python3-matplotlib
)

# install_missing PACKAGE...: apt-get installs only what dpkg does not have,
# so a warm machine skips apt entirely.
install_missing() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "leakwatch: missing packages: ${missing[*]}; run as root or install them" >&2
    return 1
  fi
  echo "leakwatch: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists; a stale one may name old versions.
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# build_leakwatch [BUILD_DIR]: configure once, then build incrementally.
build_leakwatch() {
  local dir="${1:-build}"
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$dir" -j "$(nproc)"
}
