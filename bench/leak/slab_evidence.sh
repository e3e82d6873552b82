#!/usr/bin/env bash
# The evidence behind counting reclaimable slab as kernel memory that
# leaks (docs/leak-detection.md, "Kernel memory and reclaimable slab"), on
# a real v1 memory cgroup with kmem accounting (root only):
#   1. 20000 empty files on a tmpfs: kernel memory (memory.kmem.usage_in_bytes)
#      grows by about 1 KiB per file, anonymous and page cache do not;
#   2. one 50 MiB file on a tmpfs: total_shmem grows by 50 MiB, inside
#      total_cache, on the anonymous LRU (inactive_anon);
#   3. under a 24 MiB limit, empty tmpfs files until the kernel acts: it
#      OOM-kills rather than reclaim their inodes and dentries;
#   4. under the same limit, 260000 lookups of names that do not exist on a
#      disk filesystem (negative dentries, reclaimable slab too): reclaimed,
#      kernel memory stays low;
#   5. 40000 files created and deleted on a tmpfs: unlinking frees them.
#   bench/leak/slab_evidence.sh
set -euo pipefail
cg=/sys/fs/cgroup/memory/leakwatch-slab-evidence-$$
work=$(mktemp -d /var/tmp/leakwatch-slab.XXXXXX)
mkdir "$cg" "$work/tmpfs"
mount -t tmpfs -o size=2g tmpfs "$work/tmpfs"
trap 'umount "$work/tmpfs"; rm -rf "$work"; rmdir "$cg"' EXIT
echo $((1 << 30)) >"$cg/memory.limit_in_bytes"
kib() { echo $(($(cat "$cg/memory.kmem.usage_in_bytes") / 1024)); }
stat_kib() { awk -v k="$1" '$1 == k { print $2 / 1024 }' "$cg/memory.stat"; }
in_cg() { sh -c "echo \$\$ > $cg/cgroup.procs; $1"; }

k0=$(kib)
in_cg "mkdir $work/tmpfs/k; cd $work/tmpfs/k; i=0; while [ \$i -lt 20000 ]; do : > f\$i; i=\$((i+1)); done"
echo "1. 20000 empty tmpfs files: kernel +$(( $(kib) - k0 )) KiB, rss $(stat_kib total_rss) KiB, cache $(stat_kib total_cache) KiB"
in_cg "head -c $((50 << 20)) /dev/zero > $work/tmpfs/s"
echo "2. a 50 MiB tmpfs file: shmem $(stat_kib total_shmem) KiB, cache $(stat_kib total_cache) KiB, inactive_anon $(stat_kib total_inactive_anon) KiB"
rm -rf "$work/tmpfs/k" "$work/tmpfs/s"
echo $((24 << 20)) >"$cg/memory.limit_in_bytes"
in_cg "mkdir $work/tmpfs/k; cd $work/tmpfs/k; i=0; while [ \$i -lt 60000 ]; do : > f\$i; i=\$((i+1)); done" 2>/dev/null || true
echo "3. under 24 MiB: $(ls "$work/tmpfs/k" | wc -l) tmpfs files, then oom_kill $(awk '$1 == "oom_kill" { print $2 }' "$cg/memory.oom_control"), kernel $(kib) KiB"
rm -rf "$work/tmpfs/k"
mkdir "$work/missing"
in_cg "cd $work/missing; i=0; while [ \$i -lt 260000 ]; do [ -e nx\$i ]; i=\$((i+1)); done"
echo "4. 260000 lookups of missing names under 24 MiB: kernel $(kib) KiB (failcnt $(cat "$cg/memory.failcnt"))"
echo $((1 << 30)) >"$cg/memory.limit_in_bytes"
k0=$(kib)
in_cg "mkdir $work/tmpfs/u; cd $work/tmpfs/u; i=0; while [ \$i -lt 40000 ]; do : > u\$i; rm u\$i; i=\$((i+1)); done"
echo "5. 40000 tmpfs files created and deleted: kernel +$(( $(kib) - k0 )) KiB"
