#!/bin/sh
# One seed of the default suite (bench/leak/suite.sh runs the whole
# benchmark: tuning and held-out seeds of the broad suite and the
# recordings). Builds leakwatch, generates labelled traces and scores
# leakwatch's estimator together with Coroot's memory-leak check
# (coroot_rule.py) and the two Prometheus alert-rule baselines
# (prom_rules.py, needs Debian's `prometheus` package) in one table.
#
#   bench/leak/run.sh [score.py options...]
#   env: BUILD (build dir, default build-prom), SEED (1), COUNT (6 per pattern),
#        TRACES (an existing trace dir instead of generating one)
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build-prom}
SEED=${SEED:-1}
COUNT=${COUNT:-6}
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    echo "run.sh: prometheus/promtool missing: apt-get install -y --no-install-recommends prometheus" >&2
    exit 1
fi
cmake -S . -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j2 --target leakwatch >/dev/null
if [ -z "${TRACES:-}" ]; then
    TRACES=$(mktemp -d /tmp/leakwatch-traces.XXXXXX)
    trap 'rm -rf "$TRACES"' EXIT INT TERM
    python3 bench/leak/gen_traces.py "$TRACES" --seed "$SEED" --count-per-pattern "$COUNT" >&2
fi
python3 bench/leak/score.py "$BUILD/bin/leakwatch" "$TRACES" --prometheus "$@"
