#!/bin/sh
# Makes the leakwatch benchmark recordings: each workload runs in its own
# cgroup v1 memory cgroup under /sys/fs/cgroup/memory/leakwatch-rec/, all
# in parallel, sampled every INTERVAL seconds by recorder.py. Needs root,
# node and python3. Load generators run outside the recorded cgroups.
#
#   record.sh OUT_DIR [DURATION_S [INTERVAL_S [NAMES...]]]
#
# Writes OUT_DIR/<name>.csv and OUT_DIR/events.txt (Unix times at which each
# server and load generator started, for the labels). Everything it started
# is stopped and its cgroups removed after DURATION_S (default 4080) or on
# SIGINT/SIGTERM.
set -eu
OUT=$(realpath -m "$1"); DUR=${2:-4080}; IV=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
ONLY="$*"
TOOLS=$(cd "$(dirname "$0")" && pwd)
ROOT=/sys/fs/cgroup/memory/leakwatch-rec
SCRATCH=/var/tmp/leakwatch-rec   # real disk, not tmpfs: page cache, not shmem
mkdir -p "$OUT" "$ROOT" "$SCRATCH"
EV="$OUT/events.txt"; : >> "$EV"
PIDS=""; CGS=""

ev() { echo "$1 $2 $(date +%s)" >> "$EV"; }
want() { [ -z "$ONLY" ] || case " $ONLY " in *" $1 "*) return 0;; *) return 1;; esac; }

# bg NAME LOGTAG CMD...: start CMD in its own session (pgid = pid).
bg() { tag=$1; shift; setsid "$@" > "$OUT/$tag.log" 2>&1 & PIDS="$PIDS $!"; }

# workload NAME LIMIT LOAD_ARGS CMD: cgroup + recorder + workload (+ load).
# LOAD_ARGS: "RATE ON OFF" for load.js, or "-" for none.
workload() {
    name=$1 limit=$2 load=$3 cmd=$4
    want "$name" || return 0
    cg="$ROOT/$name"
    mkdir -p "$cg"; echo "$limit" > "$cg/memory.limit_in_bytes"; CGS="$CGS $cg"
    bg "$name.server" sh -c "echo \$\$ > $cg/cgroup.procs; cd $TOOLS; $cmd"
    ev "$name" start
    sleep 1   # the recorder starts once the process is in (no empty samples)
    bg "$name.recorder" python3 "$TOOLS/recorder.py" "$cg" "$OUT/$name.csv" --interval "$IV" --duration "$DUR"
    if [ "$load" != "-" ]; then
        set -- $load
        port=$(echo "$cmd" | sed -n 's/.*PORT=\([0-9]*\).*/\1/p')
        bg "$name.load" node "$TOOLS/load.js" "http://127.0.0.1:$port" "$1" "$((DUR - 60))" "$2" "$3" 20
        echo "$name load_start $(( $(date +%s) + 20 ))" >> "$EV"
    fi
}

cleanup() {
    trap - EXIT INT TERM
    for p in $PIDS; do kill -TERM "-$p" 2>/dev/null || true; done
    sleep 3
    for p in $PIDS; do kill -KILL "-$p" 2>/dev/null || true; done
    sleep 1
    for cg in $CGS; do rmdir "$cg" 2>/dev/null || echo "could not remove $cg" >&2; done
    rm -f "$SCRATCH/app.log"
    rmdir "$SCRATCH" 2>/dev/null || true
    echo "stopped $(date -u)"
}
trap cleanup EXIT INT TERM

N="node --max-old-space-size"
workload node-ssr-noleak-constant 512M "5 0 0"    "PORT=18081 exec $N=384 server.js"
workload node-ssr-noleak-bursty   512M "15 120 180" "PORT=18082 exec $N=384 server.js"
workload node-ssr-leak-constant   512M "4 0 0"    "PORT=18083 LEAK=1 LEAK_EVERY=2 LEAK_AFTER_S=600 exec $N=384 server.js"
workload node-ssr-leak-bursty     512M "10 120 180" "PORT=18084 LEAK=1 LEAK_EVERY=3 exec $N=384 server.js"
workload pagecache-writer         512M -          "exec python3 logwriter.py $SCRATCH/app.log 60000"
workload node-gc-sawtooth         512M "3 0 0"    "PORT=18086 CHURN_OBJS=150000 CHURN_HOLD_MS=2000 exec $N=384 server.js"
workload node-step-once           512M "4 0 0"    "PORT=18087 STEP_AT_S=900 STEP_OBJS=600000 exec $N=384 server.js"
# Leaks into its 256 MiB limit; the cgroup OOM killer ends it, the loop restarts it.
workload node-ssr-leak-oom        256M "10 0 0"   "while :; do PORT=18088 LEAK=1 LEAK_EVERY=2 $N=512 server.js; echo exit \$? at \$(date +%s); sleep 2; done"

echo "recording until $(date -u -d "@$(( $(date +%s) + DUR ))")"
sleep "$DUR"
