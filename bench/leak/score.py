#!/usr/bin/env python3
"""Scores `leakwatch analyze` on a labelled trace directory (gen_traces.py's
output, or recordings with a labels.json).

A detection is a non-null first_suspected_at on any window. A false alarm
is a detection on a healthy trace, or one before a leak's onset. Delay is
first_suspected_at minus the onset.

    score.py LEAKWATCH_BINARY TRACE_DIR [--windows 15m,1h,6h] [--json OUT]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def analyze(binary, path, windows):
    out = subprocess.run(
        [binary, "analyze", "--format", "json", "--windows", windows, path],
        check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("traces")
    ap.add_argument("--windows", default="15m,1h,6h")
    ap.add_argument("--json", help="write per-trace results here")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    with open(os.path.join(args.traces, "labels.json")) as f:
        labels = json.load(f)
    files = sorted(labels)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(
            lambda fn: analyze(args.binary, os.path.join(args.traces, fn), args.windows), files))

    per_trace = {}
    tp = fp = fn = 0
    false_alarms = 0
    delays = []
    by_pattern = {}
    for file, rows in zip(files, results):
        label = labels[file]
        firsts = [(r["first_suspected_at"], r["window"]) for r in rows
                  if r["first_suspected_at"] is not None]
        first = min(firsts) if firsts else None
        onset = label["onset"]
        outcome = None
        if label["leaking"]:
            if first is None:
                fn += 1
                outcome = "missed"
            elif first[0] < onset:
                fp += 1
                false_alarms += 1
                fn += 1
                outcome = "early"
            else:
                tp += 1
                delays.append(first[0] - onset)
                outcome = "detected"
        else:
            if first is None:
                outcome = "quiet"
            else:
                fp += 1
                false_alarms += 1
                outcome = "false alarm"
        stats = by_pattern.setdefault(("leak" if label["leaking"] else "healthy", label["pattern"]), [])
        stats.append((outcome, first[0] - onset if outcome == "detected" else None))
        per_trace[file] = {"outcome": outcome, "first": first, "label": label}
        if args.verbose and outcome in ("missed", "early", "false alarm"):
            print("%-30s %-12s first=%s %s" % (file, outcome, first, label), file=sys.stderr)

    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print("%-24s %6s %6s %6s %6s" % ("pattern", "traces", "right", "wrong", "delay"))
    for (family, pattern), rows in sorted(by_pattern.items()):
        right = sum(1 for o, _ in rows if o in ("detected", "quiet"))
        d = [x for _, x in rows if x is not None]
        print("%-24s %6d %6d %6d %6s" % (
            family + "/" + pattern, len(rows), right, len(rows) - right,
            "%.0fm" % (statistics.median(d) / 60) if d else "-"))
    summary = {
        "traces": len(files), "leaking": sum(1 for l in labels.values() if l["leaking"]),
        "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
        "false_alarms": false_alarms,
        "false_alarms_on_healthy": sum(1 for t in per_trace.values()
                                       if t["outcome"] == "false alarm"),
        "median_delay_minutes": round(statistics.median(delays) / 60, 1) if delays else None,
    }
    print(json.dumps(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "traces": per_trace}, f, indent=1)


if __name__ == "__main__":
    main()
