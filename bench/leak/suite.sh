#!/bin/sh
# The leak benchmark in one command. For the tuning seeds and the held-out
# seeds it generates the broad suite (gen_traces.py --suite broad, with and
# without --kinds) and scores leakwatch, Coroot's memory-leak check and,
# with --prometheus, the two Prometheus rules through a real Prometheus
# (score.py) on each seed and on the recordings; it prints every run's
# output, then one table per part (tuning, held out) with the issue's
# targets. docs/leak-detection.md, "How the benchmark is kept honest", says
# which seeds and recordings are which, and why every run is reported.
#
#   bench/leak/suite.sh [--prometheus] [--binary BIN] [--count K] [--out DIR]
#                       [--no-kinds] [--held-out-recordings DIR]...
#                       TUNING_SEEDS [HELD_OUT_SEEDS]
#
# Seeds are comma-separated (101,102,103,104). Without --binary it builds
# leakwatch in $BUILD (default build). The tuning recordings are every
# directory with a labels.json under bench/leak/recordings except the
# --held-out-recordings ones. --out keeps the traces, outputs and JSON
# (default: a temporary directory, removed at the end).
set -eu
cd "$(dirname "$0")/../.."
here=bench/leak
prom="" binary="" count=6 out="" kinds=1 heldrec=""
while [ $# -gt 0 ]; do
    case "$1" in
    --prometheus) prom=--prometheus ;;
    --binary) binary="$2"; shift ;;
    --count) count="$2"; shift ;;
    --out) out="$2"; shift ;;
    --no-kinds) kinds=0 ;;
    --held-out-recordings) heldrec="$heldrec $(cd "$2" && pwd)"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "suite.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
    shift
done
[ $# -ge 1 ] || { echo "usage: suite.sh [options] TUNING_SEEDS [HELD_OUT_SEEDS] (see --help)" >&2; exit 2; }
tuning="$1" heldout="${2:-}"
if [ -n "$prom" ] && { ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; }; then
    echo "suite.sh: prometheus/promtool missing: apt-get install -y --no-install-recommends prometheus" >&2
    exit 1
fi
if [ -z "$binary" ]; then
    BUILD=${BUILD:-build}
    cmake -S . -B "$BUILD" >/dev/null
    nice cmake --build "$BUILD" -j2 --target leakwatch >/dev/null
    binary="$BUILD/bin/leakwatch"
fi
[ -x "$binary" ] || { echo "suite.sh: $binary is not an executable" >&2; exit 1; }
if [ -z "$out" ]; then
    out=$(mktemp -d /tmp/leakwatch-suite.XXXXXX)
    trap 'rm -rf "$out"' EXIT INT TERM
fi
mkdir -p "$out"
start=$(date +%s)
echo "# leak benchmark suite, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# source $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (with local changes)'), binary $binary sha256 $(sha256sum "$binary" | cut -c1-16)"
echo "# tuning seeds $tuning; held-out seeds ${heldout:-none}; $count traces per pattern; ${prom:-no Prometheus}"

run() {  # run NAME DIR... : one score.py run, its output and JSON kept
    name="$1"; shift
    t=$(date +%s)
    echo
    echo "## $name"
    python3 $here/score.py "$binary" "$@" $prom --verbose --json "$out/$name.json" >"$out/$name.txt" 2>"$out/$name.err" || {
        cat "$out/$name.err" >&2; echo "suite.sh: score.py failed on $name" >&2; exit 1; }
    cat "$out/$name.txt"
    echo "($(($(date +%s) - t)) s)"
}

for part in tuning held-out; do
    seeds=$tuning
    [ "$part" = held-out ] && seeds=$heldout
    for seed in $(echo "$seeds" | tr ',' ' '); do
        for variant in broad broad-kinds; do
            [ "$variant" = broad-kinds ] && [ "$kinds" = 0 ] && continue
            dir="$out/$part-$variant-$seed"
            flags="--suite broad"
            [ "$variant" = broad-kinds ] && flags="$flags --kinds"
            python3 $here/gen_traces.py "$dir" --seed "$seed" --count-per-pattern "$count" $flags >/dev/null
            run "$part-$variant-$seed" "$dir"
        done
    done
done

# Recordings: every labelled directory under bench/leak/recordings is
# tuning unless named held out.
recdirs=""
for f in $(find $here/recordings -name labels.json | sort); do
    d=$(cd "$(dirname "$f")" && pwd)
    case " $heldrec " in *" $d "*) continue ;; esac
    for h in $heldrec; do case "$d/" in "$h"/*) continue 2 ;; esac; done
    recdirs="$recdirs $d"
done
[ -n "$recdirs" ] && run tuning-recordings $recdirs
[ -n "$heldrec" ] && run held-out-recordings $heldrec

echo
python3 $here/suite_table.py "$out"
echo
echo "suite: $(($(date +%s) - start)) s"
