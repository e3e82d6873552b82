#!/usr/bin/env python3
"""Scores `leakwatch analyze` on a labelled trace directory (gen_traces.py's
output, or recordings with a labels.json), and with --prometheus two
hand-written Prometheus alert rules evaluated by a real Prometheus server on
the same traces (prom_rules.py), in one table.

A detection is a first alarm: for leakwatch the earliest non-null
first_suspected_at over the windows, for a rule its first firing. A false
alarm is a detection on a healthy trace, or one before a leak's onset. Delay
is the first alarm minus the onset.

    score.py LEAKWATCH_BINARY TRACE_DIR [--windows 15m,1h,6h] [--json OUT]
             [--verbose] [--prometheus]

Prints the per-pattern breakdown for leakwatch and its JSON summary line as
before; with --prometheus also a per-pattern table of every detector; then
the summary as a Markdown table (one row per detector).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

LEAKWATCH = "leakwatch"
PROM_ROWS = {  # prom_rules.RULES key -> table row
    "deriv": "prometheus deriv rule",
    "predict_linear": "prometheus predict_linear rule",
}


def analyze(binary, path, windows):
    out = subprocess.run(
        [binary, "analyze", "--format", "json", "--windows", windows, path],
        check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def parse_windows(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    out = []
    for item in text.split(","):
        item = item.strip()
        for u in ("ms", "s", "m", "h", "d"):
            if item.endswith(u) and item[:-len(u)].replace(".", "", 1).isdigit():
                out.append(float(item[:-len(u)]) * units[u])
                break
    return sorted(out)


def shortest_visible_window(label, windows_s):
    """The shortest window that can see the leak, in seconds, or None: one
    in which the leak outgrows healthy drift (1.5 % of the limit per hour,
    the most a healthy container may grow) by at least the band the
    post-GC troughs scatter in, that holds four collections (so it sees
    troughs, not one allocation ramp) and, for a staircase, two steps, and
    that fits between the onset and the end of the trace (or the first OOM
    kill). The band is +-2 sigma of noise plus the sampled trough's own
    error: up to one sample's step of the collector's ramp above the real
    trough (the whole amplitude when sampling is slower than the cycle).
    Needs gen_traces.py's labels; None without them (recordings)."""
    if not label.get("leaking") or label.get("growth_pct_per_hour") is None \
            or "gc_amp_frac" not in label:
        return None
    onset_s = label["onset"] - T0 if label.get("onset") else 0
    room = label["duration_h"] * 3600 - onset_s
    if label.get("oom_after_s"):
        room = min(room, label["oom_after_s"])
    gc_period = label.get("gc_period_s", 0)
    quantum = label["gc_amp_frac"] * min(1.0, label["interval_s"] / gc_period) if gc_period else 0
    band = 4 * label["noise_frac"] + quantum
    excess = (label["growth_pct_per_hour"] - HEALTHY_PCT_PER_HOUR) / 100
    for w in windows_s:
        growth = excess * w / 3600
        if growth >= band and w >= 4 * label.get("gc_period_s", 0) \
                and w >= 2 * label.get("step_period_s", 0) and w <= room:
            return w
    return None


T0 = 1_700_000_000  # gen_traces.py's first sample
HEALTHY_PCT_PER_HOUR = 1.5  # the bound: slower growth is never a leak


def classify(label, first):
    """-> "detected", "missed", "early", "quiet" or "false alarm"."""
    if label["leaking"]:
        if first is None:
            return "missed"
        return "early" if first < label["onset"] else "detected"
    return "quiet" if first is None else "false alarm"


def score(labels, firsts, windows_s=()):
    """firsts: {file: first alarm time or None} for the traces this detector
    was run on. -> (summary, {(family, pattern): [(outcome, delay)]},
    {file: outcome})."""
    tp = fp = fn = 0
    delays = []
    ratios = []  # delay / the shortest window that can see the leak
    by_pattern = {}
    outcomes = {}
    for file in sorted(firsts):
        label, first = labels[file], firsts[file]
        outcome = classify(label, first)
        if outcome == "detected":
            tp += 1
            delays.append(first - label["onset"])
            w = shortest_visible_window(label, windows_s)
            if w:
                ratios.append((first - label["onset"]) / w)
        elif outcome == "early":  # an alarm before the onset, and the leak missed
            fp += 1
            fn += 1
        elif outcome == "missed":
            fn += 1
        elif outcome == "false alarm":
            fp += 1
        outcomes[file] = outcome
        by_pattern.setdefault(("leak" if label["leaking"] else "healthy", label["pattern"]), []).append(
            (outcome, first - label["onset"] if outcome == "detected" else None))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    on_healthy = sum(1 for o in outcomes.values() if o == "false alarm")
    early = sum(1 for o in outcomes.values() if o == "early")
    summary = {
        "traces": len(firsts), "leaking": sum(1 for f in firsts if labels[f]["leaking"]),
        "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
        "false_alarms": on_healthy + early,
        "false_alarms_on_healthy": on_healthy,
        "false_alarms_early": early,
        "median_delay_minutes": round(statistics.median(delays) / 60, 1) if delays else None,
        # Over detected leaks that some window can see: delay divided by
        # the shortest such window (<= 1: no slower than that window).
        "median_delay_over_visible_window":
            round(statistics.median(ratios), 2) if ratios else None,
        "detected_within_visible_window":
            sum(1 for r in ratios if r <= 1.0),
        "detected_with_visible_window": len(ratios),
    }
    return summary, by_pattern, outcomes


def pattern_cell(rows):
    right = sum(1 for o, _ in rows if o in ("detected", "quiet"))
    d = [x for _, x in rows if x is not None]
    return right, len(rows), ("%.0fm" % (statistics.median(d) / 60) if d else "-")


def print_markdown(table, notes):
    print("| detector | traces | leaking | precision | recall | F1 | false alarms (healthy + early) | median delay (min) | median delay / W* | within W* |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for name, s in table:
        if not s["traces"]:
            print("| %s | 0 | 0 | - | - | - | - | - | - | - |" % name)
            continue
        ratio = s.get("median_delay_over_visible_window")
        print("| %s | %d | %d | %.3f | %.3f | %.3f | %d (%d + %d) | %s | %s | %s |" % (
            name, s["traces"], s["leaking"], s["precision"], s["recall"], s["f1"], s["false_alarms"],
            s["false_alarms_on_healthy"], s["false_alarms_early"],
            "%.1f" % s["median_delay_minutes"] if s["median_delay_minutes"] is not None else "-",
            "%.2f" % ratio if ratio is not None else "-",
            "%d/%d" % (s["detected_within_visible_window"], s["detected_with_visible_window"])
            if s.get("detected_with_visible_window") else "-"))
    if notes:
        print()
        for n in notes:
            print(n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("traces")
    ap.add_argument("--windows", default="15m,1h,6h")
    ap.add_argument("--json", help="write per-trace results here")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--prometheus", action="store_true",
                    help="also score two Prometheus alert rules, run by a real prometheus (prom_rules.py)")
    ap.add_argument("--prom-step", type=int, default=60, help="rule evaluation interval, s (default 60)")
    ap.add_argument("--prom-for", type=int, default=900, help="rules' for: duration, s (default 900)")
    args = ap.parse_args()
    with open(os.path.join(args.traces, "labels.json")) as f:
        labels = json.load(f)
    files = sorted(labels)
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) + 1) as pool:
        prom = None
        if args.prometheus:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            sys.dont_write_bytecode = True  # no __pycache__ in the source tree
            import prom_rules
            try:
                prom_rules.require_tools()
            except RuntimeError as e:
                sys.exit("score.py --prometheus: %s" % e)
            # Backfilling and querying overlap with leakwatch's analysis.
            prom = pool.submit(prom_rules.evaluate, args.traces, files,
                               step=args.prom_step, hold=args.prom_for)
        results = list(pool.map(
            lambda fn: analyze(args.binary, os.path.join(args.traces, fn), args.windows), files))
        prom = prom.result() if prom else None

    per_trace = {}
    lw_firsts = {}
    for file, rows in zip(files, results):
        firsts = [(r["first_suspected_at"], r["window"]) for r in rows
                  if r["first_suspected_at"] is not None]
        first = min(firsts) if firsts else None
        lw_firsts[file] = first[0] if first else None
        per_trace[file] = {"first": first, "label": labels[file]}
    summary, by_pattern, outcomes = score(labels, lw_firsts, parse_windows(args.windows))
    # With --kinds traces: of the detected leaks still suspected at the
    # end, how many name the kind the generator put the growth in.
    named = [(f, [r["kind"] for r in rows if r.get("kind")])
             for f, rows in zip(files, results)
             if "kind" in labels[f] and outcomes.get(f) == "detected"]
    named = [(f, k) for f, k in named if k]
    if named:
        summary["kind_named"] = len(named)
        summary["kind_right"] = sum(1 for f, k in named if all(x == labels[f]["kind"] for x in k))
    for file in files:
        per_trace[file]["outcome"] = outcomes[file]
        if args.verbose and outcomes[file] in ("missed", "early", "false alarm"):
            print("%-30s %-12s first=%s %s" % (file, outcomes[file], per_trace[file]["first"], labels[file]),
                  file=sys.stderr)

    print("%-24s %6s %6s %6s %6s" % ("pattern", "traces", "right", "wrong", "delay"))
    for (family, pattern), rows in sorted(by_pattern.items()):
        right, n, delay = pattern_cell(rows)
        print("%-24s %6d %6d %6d %6s" % (family + "/" + pattern, n, right, n - right, delay))
    print(json.dumps(summary))

    table = [(LEAKWATCH + " (windows %s)" % args.windows, summary)]
    detectors = {LEAKWATCH: summary}
    notes = []
    if prom is not None:
        patterns = {LEAKWATCH: by_pattern}
        skipped = {}
        for rule, row in PROM_ROWS.items():
            firsts = {f: r[rule] for f, r in prom.items() if not r["skipped"]}
            s, bp, oc = score(labels, firsts, parse_windows(args.windows))
            table.append((row, s))
            detectors[row] = s
            patterns[row] = bp
            for f, r in prom.items():
                per_trace[f].setdefault("prometheus", {})[rule] = {
                    "first": r[rule], "outcome": oc.get(f), "skipped": r["skipped"]}
                if args.verbose and oc.get(f) in ("missed", "early", "false alarm"):
                    print("%-30s %-12s first=%s %s [%s]" % (f, oc[f], r[rule], labels[f], row), file=sys.stderr)
            skipped = {f: r["skipped"] for f, r in prom.items() if r["skipped"]}
        print()
        names = [LEAKWATCH] + list(PROM_ROWS.values())
        print("| pattern | traces | " + " | ".join("%s right, delay" % n for n in names) + " |")
        print("|---|--:|" + "--:|" * len(names))
        for key in sorted(by_pattern):
            cells = []
            for n in names:
                rows = patterns[n].get(key)
                if rows:
                    right, total, delay = pattern_cell(rows)
                    cells.append("%d/%d, %s" % (right, total, delay))
                else:
                    cells.append("-")
            print("| %s/%s | %d | %s |" % (key[0], key[1], len(by_pattern[key]), " | ".join(cells)))
        notes.append(
            "Prometheus rows: a real Prometheus %s evaluated `%s` (deriv) and `%s` (predict_linear) "
            "through query_range every %ds within each trace's span (timestamps aligned to multiples of %ds), "
            "with `for: %dm` applied as Prometheus' rule manager does (pending from the first evaluation "
            "returning the series, reset by any evaluation without it, firing once it has been pending "
            "for >= %dm); the detection time is the first firing."
            % (prom_rules.prometheus_version(), prom_rules.RULES["deriv"].format(sel=""),
               prom_rules.RULES["predict_linear"].format(sel=""), args.prom_step, args.prom_step,
               args.prom_for // 60, args.prom_for // 60))
        if skipped:
            notes.append("Prometheus rows skip %d trace(s) with no usable limit column (both rules need it): %s." % (
                len(skipped), ", ".join("%s (%s)" % kv for kv in sorted(skipped.items()))))
    print()
    print_markdown(table, notes)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "detectors": detectors, "traces": per_trace}, f, indent=1)


if __name__ == "__main__":
    main()
