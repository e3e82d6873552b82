#!/usr/bin/env python3
"""Coroot's memory-leak check, written down from its source, as a third
baseline for score.py (no Coroot server: it runs here, on the traces).

Source: github.com/coroot/coroot at commit
370a33fd4fd3a9fff4433ded83de335df64ecd2f (2026-08-18):

- auditor/memory.go, MemoryGrowthPct(rss, limit, to): the check's value;
- model/check.go, MemoryLeakPercent: value-based, DefaultThreshold 10
  ("memory usage is growing by > 10 % per hour"); Check.Calc turns the
  check to WARNING when value > threshold;
- model/alerting_rule.go, the built-in rule "memory-leak": For 15m,
  KeepFiringFor 15m; watchers/alerts.go evaluateCheckAlert applies them;
- watchers/watchers.go handleProjectUpdate: the world (and so the check)
  is loaded over [to - 1h, to] at the cache's step, on every cache update
  (cache/updater.go MinRefreshInterval = 1 minute);
- coroot-node-agent cgroup/memory.go: the container's RSS is v1
  total_rss + total_mapped_file (v2 anon + file_mapped).

The input, per trace: rss + mapped_file where the CSV has a mapped_file
column, else rss (the recordings and the default synthetic suite have no
mapped_file, so there it is rss alone), sampled onto a 15 s grid (Coroot's
default scrape interval, and so the cache step): a grid point holds the
last sample at or before it within 5 minutes (Prometheus' lookback), else
NaN. The limit is the CSV's limit column (max over the range, as the
auditor takes Reduce(Max) of the limit aggregate); 0 or >= 2^60 is none.

At each evaluation (every 60 s, timestamps multiples of 60 s, within the
trace's span), to = the evaluation time, the series is the 241 grid points
from to - 1h to to inclusive (cache/client.go QueryRange: from and to
truncated to the step, (to - from) / step + 1 points at from + i*step).
MemoryGrowthPct, step by step:

 1. no points -> 0; fewer than 80 % of the points non-NaN -> 0 (so nothing
    is judged before the container's 48th minute);
 2. split the non-NaN points into segments wherever a value falls below
    half the previous one (an OOM kill or restart); keep the longest
    segment (the earlier one on a tie);
 3. fewer than 10 points, or fewer than len/3 (len counting NaN) -> 0;
 4. least-squares line y = alpha + beta*t over the segment (gonum
    stat.LinearRegression, unweighted, with intercept); beta <= 0 -> 0;
 5. the tail: the last quarter of the segment, extended back until it
    spans at least 15 minutes; fewer than 5 points -> 0; its own slope
    must be > 0 and >= 0.3 * beta, else 0;
 6. s = alpha + beta*(to - 1h), e = alpha + beta*to; unless e > 0 and
    e > s -> 0;
 7. the growth e - s must reach 5 % of the limit (50 MiB without one),
    else 0;
 8. value = (e - s) / s * 100 if s > 0, else (e - s) / e * 100: percent
    per hour of the fitted value an hour ago, not of the limit.

The check fires when value > 10. The alert (watchers/alerts.go): the first
firing evaluation makes it pending at that time; any evaluation that does
not fire drops the pending state; it fires (an alert is created) at the
first firing evaluation at least 15 minutes after the pending time.
KeepFiringFor only delays resolving an alert that fired, so it does not
change the first firing, which is what score.py scores. The detection
time is that evaluation's timestamp.

Not modelled: the lag between a scrape and the cache (to is taken as the
evaluation time), the per-application aggregation over instances (one
trace is one container of one instance) and the periodic-job exception.

    coroot_rule.py TRACE.csv...   prints each trace's first firing (or None)
"""
import csv
import math
import sys

STEP = 15  # s, Coroot's default scrape interval and cache step
RANGE = 3600  # s, the world the watcher loads
EVAL = 60  # s, the cache's refresh, so the alert's evaluation interval
LOOKBACK = 300  # s, Prometheus' default lookback delta
THRESHOLD = 10.0  # %/h, MemoryLeakPercent's DefaultThreshold
HOLD = 900  # s, the built-in rule's For
MiB = 1024 * 1024
UNLIMITED = 2 ** 60
NAN = float("nan")


def linear_regression(x, y):
    """-> (alpha, beta) of the least-squares line y = alpha + beta*x."""
    n = len(x)
    mx = sum(x) / n
    my = sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    if sxx == 0:
        return my, 0.0
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    beta = sxy / sxx
    return my - beta * mx, beta


def memory_growth_pct(times, values, limit, to):
    """MemoryGrowthPct: times/values the series' points (NaN where
    missing), limit in bytes (NaN or <= 0: none), to the range's end."""
    if not values:
        return 0.0
    if sum(1 for v in values if not math.isnan(v)) < len(values) * 0.8:
        return 0.0
    x, y, cx, cy = [], [], [], []
    prev = NAN
    for t, v in zip(times, values):
        if math.isnan(v):
            continue
        if not math.isnan(prev) and prev > 0 and v < prev * 0.5:
            if len(cx) > len(x):
                x, y = cx, cy
            cx, cy = [], []
        cx.append(float(t))
        cy.append(float(v))
        prev = v
    if len(cx) > len(x):
        x, y = cx, cy
    if len(x) < 10 or len(x) < len(values) // 3:
        return 0.0
    alpha, beta = linear_regression(x, y)
    if beta <= 0:
        return 0.0
    tail = len(x) - len(x) // 4
    while tail > 0 and x[-1] - x[tail] < 15 * 60:
        tail -= 1
    if len(x) - tail < 5:
        return 0.0
    _, tail_beta = linear_regression(x[tail:], y[tail:])
    if tail_beta <= 0 or tail_beta < beta * 0.3:
        return 0.0
    s = alpha + beta * (to - 3600)
    e = alpha + beta * to
    if not (e > 0 and e > s):
        return 0.0
    min_growth = 50 * MiB
    if not math.isnan(limit) and limit > 0:
        min_growth = limit * 0.05
    if e - s < min_growth:
        return 0.0
    return (e - s) / s * 100 if s > 0 else (e - s) / e * 100


def load(path):
    """-> (times, rss-as-Coroot-reads-it, limits, which columns)."""
    times, rss, limits = [], [], []
    with open(path, newline="") as f:
        rd = csv.DictReader(f)
        cols = rd.fieldnames or []
        if "time" not in cols or "rss" not in cols:
            raise ValueError("%s: needs time and rss columns (has %s)" % (path, ",".join(cols)))
        mapped = "mapped_file" in cols
        for line, row in enumerate(rd, start=2):
            try:
                t = float(row["time"])
                v = float(row["rss"]) + (float(row["mapped_file"] or 0) if mapped else 0.0)
            except (TypeError, ValueError):
                raise ValueError("%s:%d: bad time/rss%s" % (path, line, "/mapped_file" if mapped else ""))
            if times and t <= times[-1]:
                continue
            times.append(t)
            rss.append(v)
            try:
                lim = float(row.get("limit") or "nan")
            except ValueError:
                lim = NAN
            limits.append(lim if 0 < lim < UNLIMITED else NAN)
    return times, rss, limits, "rss + mapped_file" if mapped else "rss"


def scrape(times, values, step=STEP):
    """The series as Prometheus would return it at the cache's step: grid
    points every step s (multiples of step), each the last sample at or
    before it within LOOKBACK, NaN otherwise. -> (grid start, points)."""
    start = int(math.ceil(times[0] / step) * step)
    end = int(math.floor(times[-1] / step) * step)
    out = []
    j = 0
    for g in range(start, end + 1, step):
        while j + 1 < len(times) and times[j + 1] <= g:
            j += 1
        out.append(values[j] if times[j] <= g and g - times[j] <= LOOKBACK else NAN)
    return start, out


def first_firing(times, rss, limits, threshold=THRESHOLD, hold=HOLD, every=EVAL):
    """-> (first firing time or None, the check's value at each evaluation
    as [(t, value)])."""
    if len(times) < 2:
        return None, []
    g0, grid = scrape(times, rss)
    _, lim_grid = scrape(times, limits)
    n = RANGE // STEP + 1  # both ends included
    pending = None
    values = []
    t = int(math.ceil(times[0] / every) * every)
    while t <= times[-1]:
        frm = t - RANGE
        pts_t = [frm + i * STEP for i in range(n)]
        idx = [(p - g0) // STEP for p in pts_t]
        pts = [grid[i] if 0 <= i < len(grid) else NAN for i in idx]
        lims = [lim_grid[i] for i in idx if 0 <= i < len(lim_grid) and not math.isnan(lim_grid[i])]
        limit = max(lims) if lims else NAN
        v = memory_growth_pct(pts_t, pts, limit, t)
        values.append((t, v))
        if v > threshold:
            if pending is None:
                pending = t
            elif t - pending >= hold:
                return t, values
        else:
            pending = None
        t += every
    return None, values


def evaluate(paths):
    """-> {path: {"first": t or None, "input": which columns}}."""
    out = {}
    for p in paths:
        times, rss, limits, which = load(p)
        first, _ = first_firing(times, rss, limits)
        out[p] = {"first": first, "input": which}
    return out


def main():
    for p, r in evaluate(sys.argv[1:]).items():
        print("%s first=%s input=%s" % (p, r["first"], r["input"]))


if __name__ == "__main__":
    main()
