#!/usr/bin/env python3
"""Checks recordings against the leak definition: growth of the memory that
survives GC (rss, page cache excluded), in % of the limit per hour.

    growth.py DIR   (uses DIR/labels.json for the onsets)

The GC floor is the minimum rss in consecutive 5-minute windows. Reports
the least-squares slope of that floor from the onset to the end, over the
last half of the trace, and the floor of each quarter after the onset (a
leak keeps rising: every quarter above the one before), and for traces
with restarts (OOM kills) the slope within each run.
"""
import csv
import json
import os
import sys

WIN = 300


def slope(pts):
    n = len(pts)
    if n < 2:
        return 0.0
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx else 0.0


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "labels.json")) as f:
        labels = json.load(f)
    for name in sorted(labels):
        lab = labels[name]
        with open(os.path.join(d, name)) as f:
            rows = [(int(r["time"]), int(r["rss"]), int(r["cache"]), int(r["limit"])) for r in csv.DictReader(f)]
        t0, t1, limit = rows[0][0], rows[-1][0], rows[-1][3]
        onset = lab["onset"] if lab["onset"] is not None else t0
        floors = {}
        for t, rss, _, _ in rows:
            k = (t - t0) // WIN
            if k not in floors or rss < floors[k][1]:
                floors[k] = (t, rss)
        # Drop a last window shorter than half a window.
        pts = [v for k, v in sorted(floors.items()) if t0 + k * WIN + WIN / 2 <= t1]
        pct = lambda b: 100.0 * b * 3600 / limit
        after = [p for p in pts if p[0] >= onset]
        half = [p for p in pts if p[0] >= (t0 + t1) / 2]
        q = []
        span = (t1 - onset) / 4
        for i in range(4):
            sel = [r[1] for r in rows if onset + i * span <= r[0] < onset + (i + 1) * span]
            q.append(min(sel) / 2**20 if sel else float("nan"))
        # Restarts (OOM kills): rss falls by more than a third of the limit
        # between two samples. Slope of the floor within each run.
        runs, cur = [], [rows[0]]
        for prev, r in zip(rows, rows[1:]):
            if prev[1] - r[1] > limit / 3:
                runs.append(cur)
                cur = []
            cur.append(r)
        runs.append(cur)
        per_run = ""
        if len(runs) > 1:
            parts = []
            for run in runs:
                sel = [r for r in run if r[0] >= onset]
                if len(sel) < 2:
                    continue
                fl = {}
                for t, rss, _, _ in sel:
                    k = (t - sel[0][0]) // 60
                    if k not in fl or rss < fl[k][1]:
                        fl[k] = (t, rss)
                parts.append("%.0f min %.1f %%/h" % ((sel[-1][0] - sel[0][0]) / 60, pct(slope(list(fl.values())))))
            per_run = "; runs (1-min floors): " + ", ".join(parts)
        cache = [r[2] for r in rows]
        print("%-30s %-7s %4.0f min, limit %4d MiB, onset +%3.0f min: floor slope after onset %6.1f %%/h,"
              " last half %6.1f %%/h; quarter floors %s MiB; rss %5.1f -> %5.1f MiB, cache %5.1f -> %5.1f MiB%s" % (
                  name, "LEAK" if lab["leaking"] else "healthy", (t1 - t0) / 60, limit // 2**20, (onset - t0) / 60,
                  pct(slope(after)), pct(slope(half)), "/".join("%.0f" % x for x in q),
                  rows[0][1] / 2**20, rows[-1][1] / 2**20, cache[0] / 2**20, cache[-1] / 2**20, per_run))


if __name__ == "__main__":
    main()
