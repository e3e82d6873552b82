#!/usr/bin/env python3
"""The summary tables of bench/leak/suite.sh: one row per run and detector,
tuning and held-out parts apart, with the issue's targets, from the JSON
files score.py wrote (--json).

    suite_table.py OUT_DIR
"""
import glob
import json
import math
import os
import sys

PARTS = (("tuning", "Tuning (the estimator may have been changed for these)"),
         ("held-out", "Held out (generated or recorded after the last estimator change)"))


def cell(t, key):
    v = t.get(key)
    if not v:
        return "-"
    if key == "median":
        x = v["value"]
        txt = "-" if x is None else ("never" if isinstance(x, float) and math.isinf(x) else "%.0f min" % (x / 60))
    else:
        txt = "%d of %d" % (v["value"], v["of"])
    return txt + ("" if v["met"] else " ✗")


def rows(name, detectors):
    for det, s in detectors.items():
        t = s.get("targets", {})
        yield "| %s | %s | %d | %d | %.3f%s | %d%s | %s | %s | %s | %s |" % (
            name, det, s["traces"], s["leaking"], s["f1"], "" if s["f1"] >= 0.97 else " ✗",
            s["false_alarms"], "" if s["false_alarms"] == 0 else " ✗",
            cell(t, "fast"), cell(t, "median"), cell(t, "ttl"),
            "%d of %d" % (s["gray_flagged"], s["gray"]) if "gray" in s else "-")


def outcomes(trace):
    """-> {detector: (outcome, first)} of one trace in score.py's JSON."""
    out = {"leakwatch": (trace["outcome"], trace["first"][0] if trace.get("first") else None)}
    if "coroot" in trace:
        out["coroot"] = (trace["coroot"]["outcome"], trace["coroot"]["first"])
    for rule, r in trace.get("prometheus", {}).items():
        out[rule] = (r["outcome"], r["first"])
    return out


def pattern_rows(runs):
    """Per pattern, pooled over runs: right/total and the median delay of
    each detector (gray traces apart: flagged/total)."""
    cells, order = {}, []
    for r in runs:
        with open(r) as f:
            d = json.load(f)
        for trace in d["traces"].values():
            label = trace["label"]
            fam = "gray" if label.get("gray") else ("leak" if label["leaking"] else "healthy")
            key = "%s/%s" % (fam, label["pattern"])
            for det, (oc, first) in outcomes(trace).items():
                if det not in order:
                    order.append(det)
                c = cells.setdefault(key, {}).setdefault(det, [0, 0, []])
                if oc is None:  # skipped by that detector
                    continue
                c[1] += 1
                c[0] += oc in ("detected", "quiet", "gray, flagged")
                if oc == "detected":
                    c[2].append(first - label["onset"])
    print("| pattern | " + " | ".join(order) + " |")
    print("|---|" + "--:|" * len(order))
    for key in sorted(cells):
        row = []
        for det in order:
            right, n, delays = cells[key].get(det, [0, 0, []])
            delays.sort()
            med = " %.0fm" % (delays[len(delays) // 2] / 60) if delays else ""
            row.append("%d/%d%s" % (right, n, med))
        print("| %s | %s |" % (key, " | ".join(row)))
    print()
    print("right/total (gray: flagged/total) and the median delay of the detected leaks.")


def main():
    out = sys.argv[1]
    runs = sorted(glob.glob(os.path.join(out, "*.json")))
    for part, title in PARTS:
        mine = [r for r in runs if os.path.basename(r).startswith(part + "-")]
        if not mine:
            continue
        print("### %s" % title)
        print()
        print("| run | detector | traces | leaking | F1 (>= 0.97) | false alarms (0) | >= 10 %/h within 30 min "
              "| median delay, all leaks (<= 45 min) | flagged with >= 80 % of time to limit left | gray flagged |")
        print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
        for r in mine:
            with open(r) as f:
                d = json.load(f)
            name = os.path.basename(r)[len(part) + 1:-5]
            for line in rows(name, d["detectors"]):
                print(line)
            for rt, dets in sorted(d.get("by_runtime", {}).items()):
                for line in rows("%s, runtime %s" % (name, rt), dets):
                    print(line)
        print()
        print("✗: the target is not met.")
        print()
        for variant in ("broad", "broad-kinds"):
            pooled = [r for r in mine if os.path.basename(r)[len(part) + 1:].startswith(variant + "-")
                      and os.path.basename(r)[len(part) + 1 + len(variant) + 1:-5].isdigit()]
            if pooled:
                print("%s, %s, per pattern pooled over %d seeds:" % (title.split(" (")[0], variant, len(pooled)))
                print()
                pattern_rows(pooled)
                print()


if __name__ == "__main__":
    main()
