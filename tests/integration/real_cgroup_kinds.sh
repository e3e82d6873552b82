#!/usr/bin/env bash
# Each kind of leak, and its healthy twin, in this host's real cgroup v1
# memory hierarchy (root only): eight memory cgroups named like Docker
# containers, 1 GiB limit each, all running at once, watched by the daemon
# with a 100 ms interval and 10s/30s windows. The workloads, with the rates
# measured on the development VM (kernel 6.18) from their cgroups'
# memory.stat and memory.kmem.usage_in_bytes, sampled every 0.3 s for
# 180 s while all eight ran:
#
#   anon_leak     memhog: 32 MiB, then 2 MiB/s more anonymous memory
#                 (total_rss +2.0 MiB/s; kmem +4 KiB/s of page tables)
#   anon_saw      memhog saw: 64 MiB held, and a 24 MiB heap touched over
#                 2 s and handed back at once, again and again (total_rss
#                 64-88 MiB, the same in every 30 s)
#   shmem_leak    a file of 1 MiB every 0.5 s on a tmpfs, never deleted
#                 (total_shmem +2.0 MiB/s; kmem +8 KiB/s of inodes and
#                 page-cache tree nodes)
#   shmem_rotate  a 40 MiB tmpfs cache filled before the daemon starts,
#                 then a new 1 MiB file every 0.5 s and the oldest deleted
#                 (total_shmem 40-41 MiB throughout)
#   kernel_leak   40 empty files every 0.1 s on a tmpfs, never deleted:
#                 only inodes and dentries (kmem +375 KiB/s, 0.94 KiB a
#                 file; no shmem, no rss growth)
#   kernel_churn  the same 40 empty files every 0.1 s, and at the end of
#                 each second the previous second's 400 deleted, which
#                 frees their inodes and dentries on a tmpfs (kmem
#                 0.37-0.88 MiB, the same in every 30 s)
#   page_cache    a 512 MiB file on a disk filesystem written (and synced)
#                 before the daemon starts, then every second a read of a
#                 prefix 4 MiB longer than the last, so its pages turn
#                 active (total_active_file +3.9 MiB/s, inactive falling as
#                 much; kmem 14 MiB after the write, then slowly falling)
#   two_procs     two processes: "sidecar" (memhog) holds 200 MiB,
#                 "worker" (memhog) starts at 16 MiB and leaks 2 MiB/s
#                 (total_rss +2.0 MiB/s, all of it the worker's)
#
# Every writer runs inside its container's cgroup (its shell joins it
# before doing anything), so the tmpfs pages and inodes are charged there.
# The tmpfs is this run's own mount under the work directory.
#
# The test asserts, scraping /metrics every second until every leak is
# flagged, for at least 75 s (so every twin has been judged by the 30s
# window for over a minute) and at most 100 s:
#   1. each leak gets leak_suspected{window="30s"} 1, with leak_info's kind
#      right (anon, shmem, kernel, anon) in every window that suspects it,
#      and for two_procs process="worker" with the worker's host pid (the
#      sidecar is never named); leak_info appears only beside
#      leak_suspected 1;
#   2. no twin and not page_cache is ever suspected in either window or
#      gets a leak_info, at any scrape, and each has been judged (ready)
#      in both windows by the end;
#   3. the raw shmem and kernel series grow as measured above for
#      shmem_leak and kernel_leak, and stay flat for their twins, and the
#      dominant kind's slope is about the workload's rate;
#   4. /api/v1/containers says the same: kind, process, kind slopes, and
#      shmem, kernel and mapped-file bytes;
#   5. `leakwatch analyze --windows 10s,30s` on a CSV of each container's
#      scraped samples suspects every leak in its 30s window, names the
#      kind, and suspects no twin;
#   6. the daemon logs no warning or error.
#   real_cgroup_kinds.sh LEAKWATCH_BINARY MEMHOG_BINARY
# Exits 77 (ctest's skip) where v1 memory cgroups cannot be created.
set -euo pipefail
LEAKWATCH="$1"
# Absolute, for the links two_procs runs it through.
MEMHOG="$(realpath "$2")"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
root=/sys/fs/cgroup
need_v1_memory_cgroups "$root"

leaks=(anon_leak shmem_leak kernel_leak two_procs)
healthy=(anon_saw shmem_rotate kernel_churn page_cache)
declare -A want_kind=([anon_leak]=anon [shmem_leak]=shmem [kernel_leak]=kernel [two_procs]=anon)
declare -A id
new_id() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
for name in "${leaks[@]}" "${healthy[@]}"; do id[$name]=$(new_id); done

parent="$root/memory/leakwatch-kinds-it-$$/docker"
# On disk, not tmpfs: page_cache needs a file in the page cache proper.
work="$(mktemp -d /var/tmp/leakwatch-kinds.XXXXXX)"
shm="$work/tmpfs"
pids=()

# kill_container NAME: kills what still runs in the cgroup (children the
# workloads left, once they are reaped by init) and removes it, which
# waits for the last task to be released.
kill_container() {
  local cg="$parent/${id[$1]}" p
  for _ in $(seq 1 50); do
    [ -d "$cg" ] || return 0
    while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$cg/cgroup.procs"
    rmdir "$cg" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "could not remove $cg" >&2
}
cleanup() {
  stop_leakwatch || true
  # Quiet: bash reports every job killed here as it reaps it. Reaped
  # before the cgroups go: a zombie still holds its cgroup.
  {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  } 2>/dev/null
  for name in "${!id[@]}"; do kill_container "$name"; done
  rmdir "$parent" "$(dirname "$parent")" 2>/dev/null || true
  if mountpoint -q "$shm"; then umount "$shm" || umount -l "$shm" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -n "${LEAKWATCH_URL:-}" ]; then
    echo "--- leak series:" >&2
    local name
    for name in "${!id[@]}"; do
      echo "# $name = ${id[$name]}" >&2
      curl -fsS "$LEAKWATCH_URL/metrics" 2>/dev/null | grep -F "${id[$name]}" |
        grep -E '_memory_(leak_(suspected|info|kind_slope|score)|shmem|kernel|rss)' >&2 || true
    done
    echo "--- daemon log (tail):" >&2
    tail -20 "$work/daemon.log" >&2 || true
  fi
  exit 1
}

[ "$(stat -f -c %T "$work")" != tmpfs ] || fail "$work is on tmpfs; page_cache needs a disk filesystem"
mkdir "$shm"
mount -t tmpfs -o size=1g,mode=0700 leakwatch-kinds-it "$shm"
mkfifo "$work/pace"
# 1 MiB of text for the tmpfs writers (a shell variable cannot hold NULs).
mib=$(head -c 1048576 /dev/zero | tr '\0' x)

# --- the workloads ---------------------------------------------------------
# Shell loops of builtins: `: >FILE` and `printf >FILE` create and write
# without forking; pace sleeps with `read -t` on a FIFO nobody writes, to
# deadlines taken from EPOCHREALTIME, so a rate does not drift with the
# time the loop's own work takes. Only the deletions fork (one rm per
# tick) and page_cache's reads (one dd a second).

pace_start() {
  exec {pace_fd}<>"$work/pace"
  pace_next=${EPOCHREALTIME/./}
}
# pace MICROSECONDS: sleeps until that long after the last deadline.
pace() {
  pace_next=$((pace_next + $1))
  local wait=$((pace_next - ${EPOCHREALTIME/./})) t
  if ((wait > 0)); then
    printf -v t '%d.%06d' $((wait / 1000000)) $((wait % 1000000))
    read -r -t "$t" -u "$pace_fd" _ || true
  fi
}

shmem_leak() {
  local dir="$shm/shmem_leak" i
  mkdir "$dir"
  echo ready
  pace_start
  for ((i = 0; ; i++)); do
    printf '%s' "$mib" >"$dir/f$i"
    pace 500000
  done
}

shmem_rotate() {
  local dir="$shm/shmem_rotate" i
  mkdir "$dir"
  for ((i = 0; i < 40; i++)); do printf '%s' "$mib" >"$dir/f$i"; done
  echo ready
  pace_start
  for (( ; ; i++)); do
    printf '%s' "$mib" >"$dir/f$i"
    rm -f "$dir/f$((i - 40))"
    pace 500000
  done
}

kernel_leak() {
  local dir="$shm/kernel_leak" i j
  mkdir "$dir"
  echo ready
  pace_start
  for ((i = 0; ; i++)); do
    for ((j = 0; j < 40; j++)); do : >"$dir/e$i-$j"; done
    pace 100000
  done
}

kernel_churn() {
  local dir="$shm/kernel_churn" i j
  mkdir "$dir"
  echo ready
  pace_start
  for ((i = 0; ; i++)); do
    for ((j = 0; j < 40; j++)); do : >"$dir/s$((i / 10))-$((i % 10))-$j"; done
    if ((i % 10 == 9 && i >= 10)); then rm -f "$dir/s$((i / 10 - 1))-"*; fi
    pace 100000
  done
}

page_cache() {
  local file="$work/page_cache.bin" n
  dd if=/dev/zero of="$file" bs=1M count=512 conv=fsync status=none
  echo ready
  pace_start
  for ((n = 4; ; n += 4)); do
    dd if="$file" of=/dev/null bs=1M count=$n status=none
    pace 1000000
  done
}

# in_container NAME CMD...: runs CMD, a program or one of the functions
# above, in NAME's cgroup (made on first use, 1 GiB limit): the subshell
# joins the cgroup before anything else, so all CMD allocates is charged
# there. Waits for CMD's "ready" and sets started_pid.
launches=0
in_container() {
  local name="$1" cg="$parent/${id[$1]}" fifo="$work/ready-$((launches += 1))" line
  shift
  if [ ! -d "$cg" ]; then
    mkdir -p "$cg"
    echo $((1024 * 1024 * 1024)) >"$cg/memory.limit_in_bytes"
  fi
  mkfifo "$fifo"
  (
    echo "$BASHPID" >"$cg/cgroup.procs"
    if declare -F "$1" >/dev/null; then "$@"; else exec "$@"; fi
  ) >"$fifo" &
  started_pid=$!
  pids+=("$started_pid")
  read -r line <"$fifo" || true
  [ "$line" = ready ] || fail "$name: $* did not start: $line"
}

# comm is the name the program was executed by, so two links tell the
# two_procs processes apart for leak_info's process label.
ln -s "$MEMHOG" "$work/worker"
ln -s "$MEMHOG" "$work/sidecar"

in_container anon_leak "$MEMHOG" 32 2 400
in_container anon_saw "$MEMHOG" saw 64 88 2
in_container shmem_leak shmem_leak
in_container shmem_rotate shmem_rotate
in_container kernel_leak kernel_leak
in_container kernel_churn kernel_churn
in_container page_cache page_cache
in_container two_procs "$work/sidecar" 200
sidecar_pid=$started_pid
in_container two_procs "$work/worker" 16 2 400
worker_pid=$started_pid
stat_of() { awk -v k="$2" '$1 == k { print $2 }' "$parent/${id[$1]}/memory.stat"; }
active_file_at_start=$(stat_of page_cache total_active_file)

cfg="$work/leakwatch.yml"
cat >"$cfg" <<'YAML'
sample:
  interval: 100ms
leak:
  windows: [10s, 30s]
YAML
start_leakwatch "$work/daemon.log" --config.file "$cfg" --cgroup.root "$root" \
  --docker.host none

# --- scraping --------------------------------------------------------------
# scrape: reads /metrics into M["series|name|window|kind"] (series without
# the leakwatch_container_memory_ prefix; fields a series lacks are empty)
# and INFO["name|window"]="kind|process|pid" from leak_info, for this
# test's containers only. One awk over the exposition keeps it cheap.
declare -A name_of M INFO
for name in "${!id[@]}"; do name_of[${id[$name]}]=$name; done
scrape() {
  local text series cid w kind proc pid value
  text=$(curl -fsS --max-time 5 "$LEAKWATCH_URL/metrics") || fail "scrape failed"
  M=()
  INFO=()
  while IFS='|' read -r series cid w kind proc pid value; do
    [ -n "${name_of[$cid]:-}" ] || continue
    M["$series|${name_of[$cid]}|$w|$kind"]=$value
    if [ "$series" = leak_info ]; then INFO["${name_of[$cid]}|$w"]="$kind|$proc|$pid"; fi
  done < <(printf '%s\n' "$text" | awk '
    /^leakwatch_container_memory_[a-z_]*\{/ {
      series = substr($0, 28, index($0, "{") - 28)
      delete l
      rest = substr($0, index($0, "{") + 1)
      while (match(rest, /^[a-z_]+="[^"]*"/)) {
        kv = substr(rest, 1, RLENGTH)
        eq = index(kv, "=")
        l[substr(kv, 1, eq - 1)] = substr(kv, eq + 2, length(kv) - eq - 2)
        rest = substr(rest, RLENGTH + 2)
      }
      print series "|" l["id"] "|" l["window"] "|" l["kind"] "|" l["process"] "|" l["pid"] "|" $NF
    }')
}
m() { echo "${M["$1|$2|${3:-}|${4:-}"]:-}"; }

csv_header=t,working_set,usage,anon,cache,shmem,kernel,limit
for name in "${!id[@]}"; do echo "$csv_header" >"$work/$name.csv"; done
# record T: one CSV row per container from the last scrape, at time T.
record() {
  local name row series v
  for name in "${!id[@]}"; do
    row=$1
    for series in working_set_bytes usage_bytes rss_bytes cache_bytes shmem_bytes kernel_bytes limit_bytes; do
      v=$(m "$series" "$name")
      row+=",$v"
    done
    echo "$row" >>"$work/$name.csv"
  done
}

declare -A detected=()
started=$SECONDS
pace_start
for i in $(seq 1 100); do
  now=$EPOCHREALTIME
  scrape
  record "$now"
  # Each leak_info beside leak_suspected 1 only.
  for key in "${!INFO[@]}"; do
    [ "$(m leak_suspected "${key%|*}" "${key#*|}")" = 1 ] ||
      fail "leak_info for ${key%|*} in window ${key#*|} without leak_suspected 1: ${INFO[$key]}"
  done
  for name in "${healthy[@]}"; do
    for w in 10s 30s; do
      v=$(m leak_suspected "$name" $w)
      [ -n "$v" ] || fail "no leak_suspected{window=\"$w\"} for $name"
      [ "$v" = 0 ] || fail "$name is suspected in window $w after $((SECONDS - started)) s"
    done
  done
  for name in "${leaks[@]}"; do
    for w in 10s 30s; do
      info=${INFO["$name|$w"]:-}
      [ -n "$info" ] || continue
      IFS='|' read -r kind proc pid <<<"$info"
      [ "$kind" = "${want_kind[$name]}" ] ||
        fail "$name's leak_info{window=\"$w\"} says kind=\"$kind\", want ${want_kind[$name]} ($info)"
      if [ "$name" = two_procs ] && { [ "$proc" = sidecar ] || [ "$pid" = "$sidecar_pid" ]; }; then
        fail "two_procs' leak_info{window=\"$w\"} names the flat sidecar: $info"
      fi
    done
    if [ -z "${detected[$name]:-}" ] && [ "$(m leak_suspected "$name" 30s)" = 1 ] &&
      [ -n "${INFO["$name|30s"]:-}" ]; then
      detected[$name]=$((SECONDS - started))
    fi
  done
  [ ${#detected[@]} = ${#leaks[@]} ] && ((SECONDS - started >= 75)) && break
  pace 1000000
done
for name in "${leaks[@]}"; do
  [ -n "${detected[$name]:-}" ] || fail "$name was not suspected in window 30s within 100 s"
done
echo "after $((SECONDS - started)) s of scrapes, no twin ever suspected; leaks suspected in 30s after:" \
  "$(for n in "${leaks[@]}"; do printf '%s %s s; ' "$n" "${detected[$n]}"; done)"

# --- 1. the verdicts at the last scrape -------------------------------------
for name in "${leaks[@]}"; do
  IFS='|' read -r kind proc pid <<<"${INFO["$name|30s"]:-}"
  echo "$name: leak_info{window=\"30s\"} kind=\"$kind\" process=\"$proc\" pid=\"$pid\"," \
    "kind slope $(m leak_kind_slope_bytes_per_second "$name" 30s "$kind") B/s"
  [ "$(m leak_suspected "$name" 30s)" = 1 ] || fail "$name is no longer suspected in window 30s"
  [ "$kind" = "${want_kind[$name]}" ] || fail "$name's kind is \"$kind\", want ${want_kind[$name]}"
done
IFS='|' read -r kind proc pid <<<"${INFO["two_procs|30s"]}"
if [ "$proc" != worker ] || [ "$pid" != "$worker_pid" ]; then
  fail "two_procs' leak_info names process=\"$proc\" pid=\"$pid\", want the leaking worker, pid $worker_pid (sidecar: $sidecar_pid)"
fi

# within MIN MAX VALUE: MIN <= VALUE <= MAX (floats).
within() { awk -v lo="$1" -v hi="$2" -v v="$3" 'BEGIN { exit !(v != "" && v + 0 >= lo && v + 0 <= hi) }'; }
MiB=1048576
KiB=1024
declare -A slope_min=([anon_leak]=$((16 * MiB / 10)) [shmem_leak]=$((16 * MiB / 10))
  [kernel_leak]=$((250 * KiB)) [two_procs]=$((16 * MiB / 10)))
declare -A slope_max=([anon_leak]=$((24 * MiB / 10)) [shmem_leak]=$((24 * MiB / 10))
  [kernel_leak]=$((500 * KiB)) [two_procs]=$((24 * MiB / 10)))
for name in "${leaks[@]}"; do
  v=$(m leak_kind_slope_bytes_per_second "$name" 30s "${want_kind[$name]}")
  within "${slope_min[$name]}" "${slope_max[$name]}" "$v" ||
    fail "$name's leak_kind_slope_bytes_per_second{window=\"30s\",kind=\"${want_kind[$name]}\"} is \"$v\", want ${slope_min[$name]}-${slope_max[$name]}"
done

# --- 3. the raw series, from the scrapes -------------------------------------
# column_stats NAME COLUMN: "first last min max rate" of a CSV column,
# rate in bytes/s from the first row to the last.
column_stats() {
  awk -F, -v col="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
    $c == "" { next }
    n++ == 0 { t0 = $1; first = $c; lo = $c; hi = $c }
    { t1 = $1; last = $c; if ($c < lo) lo = $c; if ($c > hi) hi = $c }
    END { printf "%d %d %d %d %.0f\n", first, last, lo, hi, (last - first) / (t1 - t0) }' "$work/$1.csv"
}
read -r first last lo hi rate < <(column_stats shmem_leak shmem)
echo "shmem_leak: shmem_bytes $first -> $last, $rate B/s"
within $((16 * MiB / 10)) $((24 * MiB / 10)) "$rate" || fail "shmem_leak's shmem_bytes grew $rate B/s, want about 2 MiB/s"
read -r first last lo hi rate < <(column_stats kernel_leak kernel)
echo "kernel_leak: kernel_bytes $first -> $last, $rate B/s"
within $((250 * KiB)) $((500 * KiB)) "$rate" || fail "kernel_leak's kernel_bytes grew $rate B/s, want about 375 KiB/s"
read -r first last lo hi rate < <(column_stats shmem_rotate shmem)
echo "shmem_rotate: shmem_bytes $lo-$hi"
if ! within $((38 * MiB)) $((44 * MiB)) "$lo" || ! within $((38 * MiB)) $((44 * MiB)) "$hi"; then
  fail "shmem_rotate's shmem_bytes ranged $lo-$hi, want within 38-44 MiB"
fi
read -r first last lo hi rate < <(column_stats kernel_churn kernel)
echo "kernel_churn: kernel_bytes $lo-$hi"
within 0 $((2 * MiB)) "$hi" || fail "kernel_churn's kernel_bytes reached $hi, want under 2 MiB"
# page_cache really grew its hot set, which only the cgroup's file says.
active_file=$(stat_of page_cache total_active_file)
echo "page_cache: total_active_file $active_file_at_start -> $active_file"
((active_file - active_file_at_start >= 150 * MiB)) || fail "page_cache's active file pages grew by less than 150 MiB"

# --- 2 and 4. the JSON API -----------------------------------------------------
api="$work/containers.json"
curl -fsS --max-time 5 "$LEAKWATCH_URL/api/v1/containers" >"$api" || fail "GET /api/v1/containers failed"
# NAME ID KIND per line, KIND "-" for the healthy.
for name in "${leaks[@]}" "${healthy[@]}"; do
  echo "$name ${id[$name]} ${want_kind[$name]:--}"
done >"$work/expect"
python3 - "$work/expect" "$api" "$worker_pid" "$(tail -1 "$work/shmem_leak.csv")" \
  "$(tail -1 "$work/kernel_leak.csv")" <<'PY' || fail "/api/v1/containers disagrees (above)"
import json, sys

body = json.load(open(sys.argv[2]))
worker_pid = int(sys.argv[3])
by_id = {c["id"]: c for c in body["containers"]}
errors = []
for line in open(sys.argv[1]):
    name, cid, kind = line.split()
    c = by_id.get(cid)
    if c is None:
        errors.append(f"{name}: not listed")
        continue
    mem = c["memory"]
    for key in ("shmem_bytes", "kernel_bytes", "mapped_file_bytes"):
        if not isinstance(mem.get(key), int):
            errors.append(f"{name}: memory.{key} is {mem.get(key)!r}, want a number")
    for w in ("10s", "30s"):
        leak = c["leak"][w]
        got = (leak.get("kind"), leak.get("process"), leak.get("kind_slopes_bytes_per_second"))
        if kind == "-" or not leak["suspected"]:
            if kind == "-" and (leak["suspected"] or not leak["ready"]):
                errors.append(f"{name}: window {w} ready {leak['ready']} suspected {leak['suspected']}, want judged and not suspected")
            if got != (None, None, None):
                errors.append(f"{name}: window {w} not suspected but kind, process, kind slopes = {got}")
            continue
        if leak["kind"] != kind:
            errors.append(f"{name}: window {w} kind {leak['kind']!r}, want {kind!r}")
        slopes = leak["kind_slopes_bytes_per_second"]
        if not isinstance(slopes, dict) or not isinstance(slopes.get(kind), (int, float)):
            errors.append(f"{name}: window {w} kind_slopes_bytes_per_second {slopes!r} has no {kind}")
        elif max(v for k, v in slopes.items() if k in ("anon", "shmem", "kernel") and isinstance(v, (int, float))) != slopes[kind]:
            errors.append(f"{name}: window {w} {kind} is not the fastest of {slopes}")
        proc = leak["process"]
        if name == "two_procs" and proc != {"comm": "worker", "pid": worker_pid}:
            errors.append(f"{name}: window {w} process {proc!r}, want worker, pid {worker_pid}")
    if kind != "-" and not c["leak"]["30s"]["suspected"]:
        errors.append(f"{name}: window 30s not suspected")
    print(f"api: {name}: " + ", ".join(
        f"{w}: suspected {c['leak'][w]['suspected']} kind {c['leak'][w].get('kind')} process {c['leak'][w].get('process')}"
        for w in ("10s", "30s")) + f"; shmem {mem.get('shmem_bytes')} kernel {mem.get('kernel_bytes')}")
    # The figures the scrape before showed, give or take a few seconds' growth.
    for row, key, col in ((sys.argv[4], "shmem_bytes", 5), (sys.argv[5], "kernel_bytes", 6)):
        want_name = {"shmem_bytes": "shmem_leak", "kernel_bytes": "kernel_leak"}[key]
        if name == want_name:
            scraped = float(row.split(",")[col])
            if not scraped * 0.9 <= mem[key] <= scraped * 1.2:
                errors.append(f"{name}: memory.{key} {mem[key]}, but /metrics said {scraped:.0f} just before")
for e in errors:
    print("api: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

# --- 5. leakwatch analyze on the recorded samples -----------------------------
# Only the 30s window must suspect: in 10 s the CSV holds ten scraped
# samples, too few of the window's 32 buckets filled for it to judge. The
# series endpoint would give every sample, but carries no shmem or kernel.
csvs=()
for name in "${leaks[@]}" "${healthy[@]}"; do csvs+=("$work/$name.csv"); done
"$LEAKWATCH" analyze --windows 10s,30s --format json "${csvs[@]}" >"$work/analyze.json" 2>"$work/analyze.err" ||
  fail "leakwatch analyze failed: $(cat "$work/analyze.err")"
python3 - "$work/expect" "$work/analyze.json" "$work" <<'PY' || fail "leakwatch analyze disagrees (above)"
import json, sys

out = {}
for line in open(sys.argv[2]):
    o = json.loads(line)
    out[(o["series"], o["window"])] = o
errors = []
for line in open(sys.argv[1]):
    name, _, kind = line.split()
    series = f"{sys.argv[3]}/{name}.csv"
    for w in ("10s", "30s"):
        o = out.get((series, w))
        if o is None:
            errors.append(f"{name}: no output for window {w}")
            continue
        print(f"analyze: {name} {w}: samples {o['samples']} suspected {o['suspected']} kind {o.get('kind')} slope {o['slope_bytes_per_second']}")
        if kind == "-" and o["suspected"]:
            errors.append(f"{name}: suspected in window {w}")
        if kind != "-" and w == "30s":
            if not o["suspected"]:
                errors.append(f"{name}: not suspected in window 30s")
            elif o.get("kind") != kind:
                errors.append(f"{name}: kind {o.get('kind')!r} in window 30s, want {kind!r}")
for e in errors:
    print("analyze: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

# --- 6. the page ------------------------------------------------------------------
# What a user sees at /: each leak's row says what grows (and, for the two
# processes, which one); no healthy row says anything of the kind. The
# 30s window, the one every leak is suspected in.
rm -rf "$work/chromium"
timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$work/chromium" --virtual-time-budget=5000 \
  --dump-dom "$LEAKWATCH_URL/#window=30s" >"$work/dom.html" 2>"$work/chromium.log" ||
  fail "chromium --dump-dom failed: $(tail -5 "$work/chromium.log")"
python3 - "$work/expect" "$work/dom.html" "$worker_pid" <<'PY' || fail "the page disagrees (above)"
import re, sys

dom = open(sys.argv[2]).read()
words = {"anon": "anonymous memory", "shmem": "shmem", "kernel": "kernel memory"}
errors = []
for line in open(sys.argv[1]):
    name, cid, kind = line.split()
    row = re.search(r'<tr class="container" data-id="%s".*?</tr>' % cid, dom, re.S)
    if row is None:
        errors.append(f"{name}: no row on the page")
        continue
    what = re.findall(r'<div class="what">([^<]*)</div>', row.group(0))
    if kind == "-":
        if what:
            errors.append(f"{name}: healthy, but the page says {what}")
        continue
    if len(what) != 1 or not what[0].startswith(words[kind]) or "grows" not in what[0]:
        errors.append(f"{name}: the page says {what}, want {words[kind]} ... grows")
        continue
    if name == "two_procs" and f"of worker (pid {sys.argv[3]})" not in what[0]:
        errors.append(f"{name}: the page says {what[0]!r}, not naming worker (pid {sys.argv[3]})")
    print(f"page: {name}: {what[0]}")
for e in errors:
    print("page: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

if grep -E 'level=(warn|error)' "$work/daemon.log"; then fail "warnings or errors in the log"; fi
stop_leakwatch
