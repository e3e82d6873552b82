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


if __name__ == "__main__":
    main()
