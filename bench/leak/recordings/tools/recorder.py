#!/usr/bin/env python3
"""Samples one cgroup v1 memory controller into a CSV for leakwatch's benchmark.

    recorder.py CGROUP_DIR OUT.csv [--interval 5] [--duration SECONDS]

Columns as bench/leak/gen_traces.py writes them:
time,working_set,rss,cache,usage,limit (time in Unix seconds; working_set
is usage - total_inactive_file, floored at 0, as cAdvisor computes it).
Each row is written and flushed whole, so the file never ends mid-line.
"""
import argparse
import os
import time


def read_stat(cg):
    stat = {}
    with open(os.path.join(cg, "memory.stat")) as f:
        for line in f:
            k, v = line.split()
            stat[k] = int(v)
    return stat


def read_int(cg, name):
    with open(os.path.join(cg, name)) as f:
        return int(f.read().strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cgroup")
    ap.add_argument("out")
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--duration", type=float, default=0, help="0: until killed")
    args = ap.parse_args()
    new = not os.path.exists(args.out) or os.path.getsize(args.out) == 0
    start = time.time()
    with open(args.out, "a") as f:
        if new:
            f.write("time,working_set,rss,cache,usage,limit\n")
            f.flush()
        # Align samples to whole multiples of the interval.
        nxt = (int(start // args.interval) + 1) * args.interval
        while not args.duration or time.time() - start < args.duration:
            time.sleep(max(0.0, nxt - time.time()))
            now = int(round(nxt))
            nxt += args.interval
            try:
                st = read_stat(args.cgroup)
                usage = read_int(args.cgroup, "memory.usage_in_bytes")
                limit = read_int(args.cgroup, "memory.limit_in_bytes")
            except OSError:
                break  # the cgroup is gone
            ws = max(0, usage - st.get("total_inactive_file", 0))
            f.write("%d,%d,%d,%d,%d,%d\n" % (now, ws, st["total_rss"], st["total_cache"], usage, limit))
            f.flush()


if __name__ == "__main__":
    main()
