#!/usr/bin/env python3
"""Scores `leakwatch analyze` on labelled trace directories (gen_traces.py's
output, or recordings with a labels.json), together with Coroot's
memory-leak check (coroot_rule.py, run here) and with --prometheus two
hand-written Prometheus alert rules evaluated by a real Prometheus server on
the same traces (prom_rules.py), in one table.

A detection is a first alarm: for leakwatch the earliest non-null
first_suspected_at over the windows, for a rule its first firing. A false
alarm is a detection on a healthy trace, or one before a leak's onset. Delay
is the first alarm minus the onset. Traces labelled "gray": true (growth
between 1.5 and 2 % of the limit per hour) are scored neither way: left out
of F1 and false alarms, and reported on their own line (how many flagged).

    score.py LEAKWATCH_BINARY TRACE_DIR... [--recurse] [--windows 15m,1h,6h]
             [--json OUT] [--verbose] [--prometheus] [--no-coroot]

Several directories are scored pooled; --recurse also takes every
subdirectory (at any depth) that has a labels.json. Where labels name a
`runtime`, each runtime is also scored on its own.

Prints the per-pattern breakdown for leakwatch and its JSON summary line as
before; then a per-pattern table of every detector; then the summary as a
Markdown table (one row per detector); then the issue's targets per
detector ("targets" lines): F1 and false alarms, every leak of >= 10 %/h
flagged within 30 min of its onset (of the container's 30th minute for a
leak from the start), the median delay over all leaks (missed ones count
as never), every leak flagged while >= 80 % of its time to the limit
remains. --verbose lists the traces that miss each target.
"""
import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

LEAKWATCH = "leakwatch"
COROOT = "coroot memory-leak check"
PROM_ROWS = {  # prom_rules.RULES key -> table row
    "deriv": "prometheus deriv rule",
    "predict_linear": "prometheus predict_linear rule",
}


def analyze(binary, path, windows):
    """-> (the final per-window rows, the number of times a verdict turned
    off again: any window going from suspected to not, from --explain's
    every evaluation)."""
    r = subprocess.run(
        [binary, "analyze", "--format", "json", "--explain", "--windows", windows, path],
        check=True, capture_output=True, text=True)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    last, offs = {}, 0
    for line in r.stderr.splitlines():
        if not line.startswith("{"):
            continue
        ev = json.loads(line)
        w, on = ev.get("window"), bool(ev.get("suspected"))
        if last.get(w) and not on:
            offs += 1
        last[w] = on
    return rows, offs


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
    gray = gray_flagged = 0
    for file in sorted(firsts):
        label, first = labels[file], firsts[file]
        if label.get("gray"):  # scored neither way
            gray += 1
            gray_flagged += first is not None
            outcomes[file] = "gray, flagged" if first is not None else "gray, quiet"
            continue
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
        "traces": len(firsts) - gray,
        "leaking": sum(1 for f in firsts if labels[f]["leaking"] and not labels[f].get("gray")),
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
    if gray:
        summary["gray"] = gray
        summary["gray_flagged"] = gray_flagged
    return summary, by_pattern, outcomes


# ---- the targets -------------------------------------------------

FAST_PCT = 10.0  # %/h: such a leak must be flagged within FAST_S
FAST_S = 1800  # of its onset, or of the container's 30th minute (WARM_S)
WARM_S = 1800
DELAY_S = 45 * 60  # the median delay over all leaks
TTL_LEFT = 0.8  # flagged while this share of the time to the limit remains


def time_to_limit(label, path):
    """Seconds from the onset to the limit at the leak's rate, from the
    baseline at the onset: the label's time_to_limit_s (gen_traces --suite
    broad: the baseline is what survives GC at the onset), else from the
    trace: the lowest rss (working_set without one) in the 5 minutes from
    the onset, and the label's growth_pct_per_hour and limit_mib. None
    without a rate or a limit."""
    if label.get("time_to_limit_s"):
        return label["time_to_limit_s"]
    pct, limit = label.get("growth_pct_per_hour"), label.get("limit_mib")
    if not pct or not limit or not label.get("onset"):
        return None
    limit *= 1024 * 1024
    lo = None
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                t = float(row["time"])
                v = float(row.get("rss") or row["working_set"])
            except (KeyError, TypeError, ValueError):
                continue
            if label["onset"] <= t <= label["onset"] + 300:
                lo = v if lo is None else min(lo, v)
            elif t > label["onset"] + 300:
                break
    if lo is None:
        return None
    return max(0.0, limit - lo) / (limit * pct / 100 / 3600)


def container_start(label, path):
    """The label's container_start, else the trace's first sample."""
    if label.get("container_start"):
        return label["container_start"]
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                return float(row["time"])
            except (KeyError, TypeError, ValueError):
                continue
    return None


def targets(labels, paths, firsts, summary):
    """-> {name: (k, n, ok, [failing files])} and the median delay over all
    leaks, missed leaks counted as never."""
    leaks = [f for f in sorted(firsts) if labels[f]["leaking"] and not labels[f].get("gray")]
    out = {}
    fast_n, fast_fail = 0, []
    ttl_n, ttl_fail = 0, []
    delays = []
    for f in leaks:
        label, first = labels[f], firsts[f]
        hit = first is not None and first >= label["onset"]
        delays.append(first - label["onset"] if hit else math.inf)
        pct = label.get("growth_pct_per_hour") or 0
        if pct >= FAST_PCT:
            fast_n += 1
            start = container_start(label, paths[f])
            deadline = max(label["onset"], (start or label["onset"]) + WARM_S) + FAST_S
            if not (hit and first <= deadline):
                fast_fail.append(f)
        ttl = time_to_limit(label, paths[f])
        if ttl is not None:
            ttl_n += 1
            if not (hit and first - label["onset"] <= (1 - TTL_LEFT) * ttl):
                ttl_fail.append(f)
    healthy_fa = [f for f in sorted(firsts) if not labels[f]["leaking"] and not labels[f].get("gray")
                  and firsts[f] is not None]
    early = [f for f in leaks if firsts[f] is not None and firsts[f] < labels[f]["onset"]]
    out["f1"] = (summary["f1"], None, summary["f1"] >= 0.97, [])
    out["false_alarms"] = (summary["false_alarms"], None, summary["false_alarms"] == 0, healthy_fa + early)
    out["fast"] = (fast_n - len(fast_fail), fast_n, not fast_fail, fast_fail)
    out["ttl"] = (ttl_n - len(ttl_fail), ttl_n, not ttl_fail, ttl_fail)
    med = statistics.median(delays) if delays else None
    out["median"] = (med, len(delays), med is not None and med <= DELAY_S, [])
    return out


def fmt_targets(name, t, summary):
    def yn(ok):
        return "yes" if ok else "NO"

    med, n_leaks, med_ok, _ = t["median"]
    med_txt = "-" if med is None else ("never" if math.isinf(med) else "%.1f min" % (med / 60))
    line = ("targets %s: F1 %.3f (>= 0.97: %s); false alarms %d (0: %s); "
            ">= 10 %%/h flagged within 30 min: %d of %d (%s); "
            "median delay over all %d leaks %s (<= 45 min: %s); "
            "flagged with >= 80 %% of the time to the limit left: %d of %d (%s)" % (
                name, t["f1"][0], yn(t["f1"][2]), t["false_alarms"][0], yn(t["false_alarms"][2]),
                t["fast"][0], t["fast"][1], yn(t["fast"][2]),
                n_leaks, med_txt, yn(med_ok), t["ttl"][0], t["ttl"][1], yn(t["ttl"][2])))
    if "gray" in summary:
        line += "; gray band: %d of %d flagged" % (summary["gray_flagged"], summary["gray"])
    return line


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


def trace_dirs(dirs, recurse):
    """The directories to score: each given one that has a labels.json,
    and with recurse every subdirectory that has one."""
    out = []
    for d in dirs:
        if os.path.isfile(os.path.join(d, "labels.json")):
            out.append(d)
        elif not recurse:
            sys.exit("score.py: %s has no labels.json (give --recurse to take its subdirectories)" % d)
        if recurse:
            for root, subdirs, files in os.walk(d):
                subdirs.sort()
                if root != d and "labels.json" in files:
                    out.append(root)
    if not out:
        sys.exit("score.py: no labels.json under %s" % ", ".join(dirs))
    return out


def load_labels(dirs):
    """-> ({key: label}, {key: csv path}); a key is the file name when one
    directory is scored, else its path from the directories' common
    parent."""
    labels, paths = {}, {}
    common = os.path.commonpath([os.path.abspath(d) for d in dirs]) if len(dirs) > 1 else None
    for d in dirs:
        with open(os.path.join(d, "labels.json")) as f:
            try:
                lab = json.load(f)
            except json.JSONDecodeError as e:
                sys.exit("score.py: %s: %s" % (os.path.join(d, "labels.json"), e))
        for fn, label in lab.items():
            key = fn if common is None else os.path.normpath(
                os.path.join(os.path.relpath(os.path.abspath(d), common), fn))
            for field in ("leaking", "pattern"):
                if field not in label:
                    sys.exit("score.py: %s: %s: no %r field" % (os.path.join(d, "labels.json"), fn, field))
            labels[key] = label
            paths[key] = os.path.join(d, fn)
    return labels, paths


def coroot_one(path):
    import coroot_rule
    times, rss, limits, which = coroot_rule.load(path)
    first, _ = coroot_rule.first_firing(times, rss, limits)
    return first, which


def pattern_table(by_pattern, patterns, names):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("traces", nargs="+", help="directories with CSVs and a labels.json")
    ap.add_argument("--recurse", action="store_true",
                    help="also score every subdirectory with a labels.json (a recordings tree)")
    ap.add_argument("--windows", default="15m,1h,6h")
    ap.add_argument("--json", help="write per-trace results here")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--prometheus", action="store_true",
                    help="also score two Prometheus alert rules, run by a real prometheus (prom_rules.py)")
    ap.add_argument("--no-coroot", action="store_true", help="leave out Coroot's memory-leak check")
    ap.add_argument("--prom-step", type=int, default=60, help="rule evaluation interval, s (default 60)")
    ap.add_argument("--prom-for", type=int, default=900, help="rules' for: duration, s (default 900)")
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    labels, paths = load_labels(trace_dirs(args.traces, args.recurse))
    files = sorted(labels)
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) + 1) as pool, \
            ProcessPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1)) as procs:
        prom = None
        if args.prometheus:
            import prom_rules
            try:
                prom_rules.require_tools()
            except RuntimeError as e:
                sys.exit("score.py --prometheus: %s" % e)
            # Backfilling and querying overlap with leakwatch's analysis.
            prom = pool.submit(prom_rules.evaluate, "", [paths[f] for f in files],
                               step=args.prom_step, hold=args.prom_for)
        coroot = None if args.no_coroot else [procs.submit(coroot_one, paths[f]) for f in files]
        results = list(pool.map(lambda fn: analyze(args.binary, paths[fn], args.windows), files))
        prom = {f: prom.result()[paths[f]] for f in files} if prom else None
        coroot = {f: c.result() for f, c in zip(files, coroot)} if coroot else None

    per_trace = {}
    lw_firsts = {}
    offs = {}
    for file, (rows, n_off) in zip(files, results):
        firsts = [(r["first_suspected_at"], r["window"]) for r in rows
                  if r["first_suspected_at"] is not None]
        first = min(firsts) if firsts else None
        lw_firsts[file] = first[0] if first else None
        offs[file] = n_off
        per_trace[file] = {"first": first, "label": labels[file], "verdicts_turned_off": n_off}
    results = [rows for rows, _ in results]
    windows_s = parse_windows(args.windows)
    summary, by_pattern, outcomes = score(labels, lw_firsts, windows_s)
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

    lw_row = LEAKWATCH + " (windows %s)" % args.windows
    table = [(lw_row, summary)]
    detectors = {LEAKWATCH: summary}
    all_firsts = {lw_row: lw_firsts}
    patterns = {LEAKWATCH: by_pattern}
    names = [LEAKWATCH]
    notes = []
    skipped = {}
    if coroot is not None:
        firsts = {f: c[0] for f, c in coroot.items()}
        s, bp, oc = score(labels, firsts, windows_s)
        table.append((COROOT, s))
        detectors[COROOT] = s
        patterns[COROOT] = bp
        names.append(COROOT)
        all_firsts[COROOT] = firsts
        for f, (first, which) in coroot.items():
            per_trace[f]["coroot"] = {"first": first, "outcome": oc.get(f), "input": which}
            if args.verbose and oc.get(f) in ("missed", "early", "false alarm"):
                print("%-30s %-12s first=%s %s [%s]" % (f, oc[f], first, labels[f], COROOT), file=sys.stderr)
        inputs = sorted(set(w for _, w in coroot.values()))
        notes.append(
            "Coroot row: its memory-leak check as of coroot/coroot 370a33fd (auditor/memory.go "
            "MemoryGrowthPct, threshold 10 %%/h of the value an hour ago, growth >= 5 %% of the limit; "
            "the built-in rule's for: 15m), re-implemented in bench/leak/coroot_rule.py over the "
            "container's %s on a 15 s grid, 1 h range, evaluated every 60 s." % " or ".join(inputs))
    if prom is not None:
        for rule, row in PROM_ROWS.items():
            firsts = {f: r[rule] for f, r in prom.items() if not r["skipped"]}
            s, bp, oc = score(labels, firsts, windows_s)
            table.append((row, s))
            detectors[row] = s
            patterns[row] = bp
            names.append(row)
            all_firsts[row] = firsts
            for f, r in prom.items():
                per_trace[f].setdefault("prometheus", {})[rule] = {
                    "first": r[rule], "outcome": oc.get(f), "skipped": r["skipped"]}
                if args.verbose and oc.get(f) in ("missed", "early", "false alarm"):
                    print("%-30s %-12s first=%s %s [%s]" % (f, oc[f], r[rule], labels[f], row), file=sys.stderr)
            skipped = {f: r["skipped"] for f, r in prom.items() if r["skipped"]}
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
    if len(names) > 1:
        print()
        pattern_table(by_pattern, patterns, names)
    print()
    print_markdown(table, notes)

    # Per runtime, where the labels say which.
    runtimes = sorted(set(l["runtime"] for l in labels.values() if l.get("runtime")))
    for rt in runtimes:
        sub = {f for f in files if labels[f].get("runtime") == rt}
        print()
        print("runtime %s (%d traces):" % (rt, len(sub)))
        rt_table = []
        for row, firsts in all_firsts.items():
            s, _, _ = score(labels, {f: v for f, v in firsts.items() if f in sub}, windows_s)
            rt_table.append((row, s))
        print_markdown(rt_table, [])

    # The targets, per detector.
    print()
    by_runtime = {}
    for row, firsts in all_firsts.items():
        s = dict(table)[row]
        t = targets(labels, paths, firsts, s)
        print(fmt_targets(row, t, s))
        detectors[LEAKWATCH if row == lw_row else row]["targets"] = {
            k: {"value": v[0], "of": v[1], "met": v[2], "failing": v[3]} for k, v in t.items()}
        if args.verbose:
            for key, title in (("false_alarms", "false alarm"), ("fast", ">= 10 %/h not within 30 min"),
                               ("ttl", "not while 80 % of the time to the limit remains")):
                for f in t[key][3]:
                    print("  %s: %s: first=%s %s" % (title, f, firsts.get(f), labels[f]))
        if runtimes:
            for rt in runtimes:
                sub = {f: v for f, v in firsts.items() if labels[f].get("runtime") == rt}
                rs, _, _ = score(labels, sub, windows_s)
                rt_t = targets(labels, paths, sub, rs)
                print("  " + fmt_targets("%s, runtime %s" % (row, rt), rt_t, rs))
                rs["targets"] = {k: {"value": v[0], "of": v[1], "met": v[2], "failing": v[3]}
                                 for k, v in rt_t.items()}
                by_runtime.setdefault(rt, {})[LEAKWATCH if row == lw_row else row] = rs
    gray = [f for f in files if labels[f].get("gray")]
    if gray:
        print("gray band (1.5-2 %%/h of the limit, scored neither way): %d traces; flagged by %s" % (
            len(gray), "; ".join("%s %d" % (row, sum(1 for f in gray if firsts.get(f) is not None))
                                 for row, firsts in all_firsts.items())))
        if args.verbose:
            for f in gray:
                print("  gray %s (%s, %.2f %%/h): %s" % (
                    f, labels[f]["pattern"], labels[f]["growth_pct_per_hour"],
                    ", ".join("%s %s" % (row, "flagged" if firsts.get(f) is not None else "quiet")
                              for row, firsts in all_firsts.items())))
    flapped = [f for f in files if offs[f]]
    print("leakwatch verdicts that turned off again (--explain, any window): %d on %d traces "
          "(%d healthy, %d leaking, %d gray)" % (
              sum(offs.values()), len(flapped),
              sum(1 for f in flapped if not labels[f]["leaking"] and not labels[f].get("gray")),
              sum(1 for f in flapped if labels[f]["leaking"] and not labels[f].get("gray")),
              sum(1 for f in flapped if labels[f].get("gray"))))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "detectors": detectors, "by_runtime": by_runtime,
                       "traces": per_trace}, f, indent=1, default=lambda x: None)


if __name__ == "__main__":
    main()
