#!/usr/bin/env python3
"""Evaluates two hand-written Prometheus alert rules on labelled traces with
a real Prometheus server, as the baseline leakwatch's estimator is compared
against in score.py.

    A "deriv":          deriv(ws[1h]) > 0.02 * limit / 3600        for: 15m
    B "predict_linear": predict_linear(ws[1h], 4h) > limit          for: 15m

ws is leakwatch_container_memory_working_set_bytes, limit is
leakwatch_container_memory_limit_bytes, one series each per trace, labelled
trace="<csv file name>".

How (stdlib only; needs Debian's `prometheus` package for prometheus and
promtool):
  1. every trace's working_set and limit columns go into one OpenMetrics
     file (two gauge families, real timestamps), which
     `promtool tsdb create-blocks-from openmetrics` turns into TSDB blocks;
  2. `prometheus` is started on those blocks (retention 100y, as the data is
     from 2023) on a free 127.0.0.1 port with an empty scrape config;
  3. each rule's alert expression is queried per trace with
     /api/v1/query_range over the trace's span at step = evaluation
     interval (1m, the usual global evaluation_interval), evaluation
     timestamps aligned to multiples of the step (Prometheus offsets a
     group's evaluations by a hash of the group; any fixed phase is as
     representative), only within [first sample, last sample] of the trace
     (afterwards the container is gone; deriv over [1h] would otherwise keep
     returning for an hour), chunked to <= 10000 points per query;
  4. `for: 15m` is applied as Prometheus' alerting rule does: the alert
     becomes pending (ActiveAt) at the first evaluation returning the series,
     is dropped at any evaluation not returning it, and fires at the first
     evaluation with ts - ActiveAt >= 15m (so 16 consecutive evaluations at
     1m). The first firing time is that evaluation's timestamp.
  5. the server is stopped and its data dir removed.

Both rules need the limit: traces without a usable limit column (absent,
empty, 0, or "unlimited" >= 2^60) are skipped for both rules and reported.
The limit series uses the default 5m lookback delta, so traces sampled
less often than every 5m would make the limit side intermittently absent.

    prom_rules.py TRACE_DIR [--json OUT] [--step 60] [--for 900] [--check]

prints one line per trace (first firing time per rule, or null) and writes
{"rules": {...}, "traces": {file: {"deriv": t|null, "predict_linear":
t|null, "skipped": reason|null}}} to --json. --check also compares
Prometheus' raw deriv/predict_linear values with a least-squares fit
computed here at a few evaluation times per trace.
"""
import argparse
import csv
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

WS = "leakwatch_container_memory_working_set_bytes"
LIMIT = "leakwatch_container_memory_limit_bytes"
UNLIMITED = 2 ** 60
MAX_POINTS = 10000  # Prometheus refuses > 11000 points per series

# Alert expressions with the series of one trace selected; {sel} is filled
# with the trace's label matcher. Without it they are the rules one would
# deploy (see RULES_YAML); on(trace) matches a container's two series.
RULES = {
    "deriv": "deriv(%s{sel}[1h]) > on(trace) 0.02 * %s{sel} / 3600" % (WS, LIMIT),
    "predict_linear": "predict_linear(%s{sel}[1h], 4 * 3600) > on(trace) %s{sel}" % (WS, LIMIT),
}
RULE_TITLES = {
    "deriv": "prometheus deriv(ws[1h]) > 2%·limit/h, for 15m",
    "predict_linear": "prometheus predict_linear(ws[1h], 4h) > limit, for 15m",
}
RULES_YAML = """groups:
- name: leakwatch-baseline
  interval: {step}s
  rules:
  - alert: MemoryGrowingFast
    expr: {deriv}
    for: {hold}s
  - alert: MemoryWillHitLimit
    expr: {predict_linear}
    for: {hold}s
"""


def log(msg):
    print("prom_rules: " + msg, file=sys.stderr, flush=True)


# ---- traces -------------------------------------------------------------


def _num(s):
    try:
        v = float(s)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def load_trace(path):
    """-> (times, working_set, limit or None, skip reason or None).
    Uses the time, working_set and limit columns by name; other columns are
    ignored, rows with no usable time/working_set are skipped."""
    times, ws, limits = [], [], []
    with open(path, newline="") as f:
        rd = csv.DictReader(f)
        cols = rd.fieldnames or []
        if "time" not in cols or "working_set" not in cols:
            return [], [], None, "no time/working_set column"
        has_limit = "limit" in cols
        last = None
        for row in rd:
            t, w = _num(row.get("time")), _num(row.get("working_set"))
            if t is None or w is None or (last is not None and t <= last):
                continue
            last = t
            times.append(t)
            ws.append(w)
            if has_limit:
                limits.append(_num(row.get("limit")))
    if len(times) < 2:
        return times, ws, None, "fewer than 2 samples"
    if not has_limit:
        return times, ws, None, "no limit column"
    if not any(l is not None and 0 < l < UNLIMITED for l in limits):
        return times, ws, None, "no usable limit (empty, 0 or unlimited)"
    return times, ws, limits, None


def _label(value):
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt_value(v):
    return "%d" % v if float(v).is_integer() and abs(v) < 2 ** 63 else repr(float(v))


def _fmt_ts(t):
    return "%d" % t if float(t).is_integer() else "%.3f" % t


def write_openmetrics(traces, path):
    """traces: {name: (times, ws, limits)} -> one OpenMetrics file, two
    gauge families, each family's samples contiguous, per series in time
    order."""
    n = 0
    with open(path, "w") as f:
        f.write("# HELP %s Container working set (trace replay).\n# TYPE %s gauge\n" % (WS, WS))
        for name, (times, ws, _) in traces.items():
            lab = '%s{trace="%s"} ' % (WS, _label(name))
            f.writelines("%s%s %s\n" % (lab, _fmt_value(w), _fmt_ts(t)) for t, w in zip(times, ws))
            n += len(times)
        f.write("# HELP %s Container memory limit (trace replay).\n# TYPE %s gauge\n" % (LIMIT, LIMIT))
        for name, (times, _, limits) in traces.items():
            lab = '%s{trace="%s"} ' % (LIMIT, _label(name))
            for t, l in zip(times, limits):
                if l is not None and 0 < l < UNLIMITED:
                    f.write("%s%s %s\n" % (lab, _fmt_value(l), _fmt_ts(t)))
                    n += 1
        f.write("# EOF\n")
    return n


# ---- the server ---------------------------------------------------------


def require_tools():
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            raise RuntimeError("%s not found: apt-get install -y prometheus" % tool)


def prometheus_version():
    """"2.42.0+ds" for Debian 12's."""
    try:
        out = subprocess.run(["prometheus", "--version"], capture_output=True, text=True).stdout
        return out.split()[2]
    except (OSError, IndexError):
        return "?"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """Backfills traces into a private data dir and runs a prometheus on it;
    a context manager that always stops it and removes the dir."""

    def __init__(self, traces, step, hold, keep=False):
        self.traces, self.step, self.hold, self.keep = traces, step, hold, keep
        self.proc = None
        self.dir = None

    def __enter__(self):
        require_tools()
        self.dir = tempfile.mkdtemp(prefix="leakwatch-prom-")
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self):
        data = os.path.join(self.dir, "data")
        om = os.path.join(self.dir, "traces.om")
        t = time.time()
        n = write_openmetrics(self.traces, om)
        log("wrote %d samples of %d traces as OpenMetrics (%.1fs)" % (n, len(self.traces), time.time() - t))
        t = time.time()
        r = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", om, data],
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("promtool create-blocks-from failed:\n" + r.stderr[-3000:] + r.stdout[-2000:])
        os.remove(om)
        log("promtool created %d blocks (%.1fs)" % (
            sum(1 for d in os.listdir(data) if os.path.isdir(os.path.join(data, d))), time.time() - t))
        # The deployable rules, checked by promtool so the baseline is a
        # valid alerting rule file and not just a query.
        rules = os.path.join(self.dir, "rules.yml")
        with open(rules, "w") as f:
            f.write(RULES_YAML.format(step=self.step, hold=self.hold,
                                      **{k: json.dumps(v.format(sel="")) for k, v in RULES.items()}))
        r = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("promtool check rules failed:\n" + r.stdout + r.stderr)
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            # No scrape targets and no rule_files: the rules are evaluated
            # over the backfilled past through query_range below.
            f.write("global:\n  scrape_interval: %ds\n  evaluation_interval: %ds\n"
                    "scrape_configs: []\n" % (self.step, self.step))
        for attempt in range(3):
            port = _free_port()
            self.url = "http://127.0.0.1:%d" % port
            self.logf = open(os.path.join(self.dir, "prometheus.log"), "w+")
            self.proc = subprocess.Popen(
                ["prometheus", "--config.file=" + config, "--storage.tsdb.path=" + data,
                 "--storage.tsdb.retention.time=100y", "--web.listen-address=127.0.0.1:%d" % port,
                 "--log.level=warn"],
                stdout=self.logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            t = time.time()
            while time.time() - t < 120:
                if self.proc.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as resp:
                        if resp.status == 200:
                            log("prometheus pid %d ready on %s (%.1fs)" % (self.proc.pid, self.url, time.time() - t))
                            return
                except (urllib.error.URLError, OSError):
                    pass
                time.sleep(0.2)
            self._stop()
            self.logf.seek(0)
            tail = self.logf.read()[-2000:]
            self.logf.close()
            log("prometheus did not get ready (attempt %d):\n%s" % (attempt + 1, tail))
        raise RuntimeError("could not start prometheus")

    def _stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __exit__(self, *exc):
        self._stop()
        if self.dir:
            if self.keep:
                log("kept " + self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def api(self, path, **params):
        body = urllib.parse.urlencode(params).encode()
        req = urllib.request.Request(self.url + path, data=body, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                out = json.load(resp)
        except urllib.error.HTTPError as e:
            raise RuntimeError("%s %s: %s" % (path, params.get("query"), e.read()[:500]))
        if out.get("status") != "success":
            raise RuntimeError("%s %s: %s" % (path, params.get("query"), out))
        return out["data"]

    def present(self, expr, grid):
        """Evaluation timestamps of grid (ints, evenly spaced by the step)
        at which expr returns a series (the traces' expressions return at
        most one)."""
        got = set()
        for i in range(0, len(grid), MAX_POINTS):
            chunk = grid[i:i + MAX_POINTS]
            data = self.api("/api/v1/query_range", query=expr, start=chunk[0], end=chunk[-1], step=self.step)
            series = data["result"]
            if len(series) > 1:
                raise RuntimeError("%s returned %d series" % (expr, len(series)))
            for s in series:
                got.update(int(round(float(ts))) for ts, _ in s["values"])
        return got


# ---- rule semantics -----------------------------------------------------


def eval_grid(times, step):
    """Rule evaluation timestamps within the trace: multiples of step."""
    first = int(math.ceil(times[0] / step) * step)
    return list(range(first, int(math.floor(times[-1])) + 1, step))


def first_firing(grid, present, hold):
    """Prometheus' `for:` on one alert series: pending from the first
    evaluation returning it (ActiveAt), reset by any evaluation without it,
    firing at the first evaluation with ts - ActiveAt >= hold."""
    active_at = None
    for ts in grid:
        if ts in present:
            if active_at is None:
                active_at = ts
            if ts - active_at >= hold:
                return ts
        else:
            active_at = None
    return None


def _selector(name):
    return '{trace="%s"}' % _label(name)


# ---- a hand check -------------------------------------------------------


def _fit(times, ws, t, window, left_open):
    """Least squares of ws over the window ending at t, as Prometheus'
    linearRegression: -> (slope per s, value at t)."""
    lo = t - window
    pts = [(x, y) for x, y in zip(times, ws) if (x > lo if left_open else x >= lo) and x <= t]
    if len(pts) < 2:
        return None
    n = len(pts)
    mx = sum(x - t for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - t - mx) ** 2 for x, _ in pts)
    sxy = sum((x - t - mx) * (y - my) for x, y in pts)
    slope = sxy / sxx
    return slope, my - slope * mx


def check(prom, traces, grids):
    """Compares Prometheus' raw deriv and predict_linear with _fit at a few
    evaluation times per trace; -> max relative errors."""
    worst = {"deriv": 0.0, "predict_linear": 0.0}
    closed_better = 0
    for name, (times, ws, _) in traces.items():
        grid = grids[name]
        for ts in {grid[min(len(grid) - 1, k)] for k in (5, 61, len(grid) // 2, len(grid) - 1)}:
            sel = _selector(name)
            vals = {}
            for key, expr in (("deriv", "deriv(%s%s[1h])" % (WS, sel)),
                              ("predict_linear", "predict_linear(%s%s[1h], 4 * 3600)" % (WS, sel))):
                r = prom.api("/api/v1/query", query=expr, time=ts)["result"]
                vals[key] = float(r[0]["value"][1]) if r else None
            fits = [_fit(times, ws, ts, 3600, lo) for lo in (False, True)]
            if vals["deriv"] is None or fits[0] is None:
                continue
            errs = []
            for fit in fits:
                e_d = abs(vals["deriv"] - fit[0]) / max(abs(fit[0]), 1.0)
                want = fit[1] + fit[0] * 4 * 3600
                e_p = abs(vals["predict_linear"] - want) / max(abs(want), 1.0)
                errs.append((e_d, e_p))
            best = min(errs, key=lambda e: e[0] + e[1])
            closed_better += errs[0] <= errs[1]
            worst["deriv"] = max(worst["deriv"], best[0])
            worst["predict_linear"] = max(worst["predict_linear"], best[1])
    log("check: max relative error vs. least squares: deriv %.2e, predict_linear %.2e "
        "(window [t-1h, t] fits at least as well as (t-1h, t] in %d points)" % (
            worst["deriv"], worst["predict_linear"], closed_better))
    return worst


# ---- driver -------------------------------------------------------------


def evaluate(trace_dir, files=None, step=60, hold=900, do_check=False, keep=False, workers=4):
    """-> {file: {"deriv": first firing or None, "predict_linear": ...,
    "skipped": reason or None}} for every file (labels.json's if None)."""
    if files is None:
        with open(os.path.join(trace_dir, "labels.json")) as f:
            files = sorted(json.load(f))
    out = {}
    traces, grids = {}, {}
    for fn in files:
        times, ws, limits, why = load_trace(os.path.join(trace_dir, fn))
        grid = eval_grid(times, step) if not why else []
        if not why and not grid:
            why = "shorter than one evaluation interval"
        out[fn] = {"deriv": None, "predict_linear": None, "skipped": why}
        if why:
            log("%s: skipped for both rules: %s" % (fn, why))
            continue
        traces[fn] = (times, ws, limits)
        grids[fn] = grid
    if not traces:
        return out
    with Prometheus(traces, step, hold, keep=keep) as prom:
        t = time.time()

        def one(job):
            fn, rule = job
            present = prom.present(RULES[rule].format(sel=_selector(fn)), grids[fn])
            return fn, rule, first_firing(grids[fn], present, hold)

        jobs = [(fn, rule) for fn in traces for rule in RULES]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for fn, rule, first in pool.map(one, jobs):
                out[fn][rule] = first
        log("%d query_range evaluations in %.1fs" % (len(jobs), time.time() - t))
        if do_check:
            check(prom, traces, grids)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("traces", help="directory with CSVs and labels.json")
    ap.add_argument("--json", help="write per-trace first firing times here")
    ap.add_argument("--step", type=int, default=60, help="evaluation interval, s (default 60)")
    ap.add_argument("--for", dest="hold", type=int, default=900, help="for: duration, s (default 900)")
    ap.add_argument("--check", action="store_true", help="compare raw values with a local least-squares fit")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (data, config, log)")
    args = ap.parse_args()
    t = time.time()
    res = evaluate(args.traces, step=args.step, hold=args.hold, do_check=args.check, keep=args.keep)
    for fn, r in sorted(res.items()):
        print("%-32s deriv=%-10s predict_linear=%-10s%s" % (
            fn, r["deriv"], r["predict_linear"], "  skipped: " + r["skipped"] if r["skipped"] else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rules": {k: v.format(sel="") for k, v in RULES.items()},
                       "step_s": args.step, "for_s": args.hold, "traces": res}, f, indent=1)
    log("done in %.1fs" % (time.time() - t))


if __name__ == "__main__":
    main()
