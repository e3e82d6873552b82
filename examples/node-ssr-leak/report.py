#!/usr/bin/python3
"""The node-ssr-leak run's report, read back from Prometheus.

Called by examples/node-ssr-leak/run at the end of the load, while
Prometheus still runs. Everything comes from Prometheus's HTTP API
(query_range over the run, and instant queries at its end):

  OUT/summary.json      the figures per variant (the test asserts on them)
  OUT/prom-alerts.json, OUT/prom-suspected.json
                        the query_range replies for ALERTS and
                        leak_suspected over the run, as Prometheus sent them
  OUT/<container>.csv   each container's samples as Prometheus has them, in
                        the CSV `leakwatch analyze` reads
  CHART                 both working sets and the leak score over time (PNG)
  DOCS                  the figures as Markdown, beside the chart (optional)

and prints which alerts fired, each variant's slope and time to limit.
Run with Debian's /usr/bin/python3 (python3-matplotlib).
"""
import argparse
import csv
import datetime
import json
import os
import platform
import sys
import urllib.parse
import urllib.request

PREFIX = "node-ssr-"
VARIANTS = ("leaky", "fixed")
MIB = 1048576.0


def seconds(d):
    for unit, f in (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)):
        if d.endswith(unit) and d[: -len(unit)].replace(".", "", 1).isdigit():
            return float(d[: -len(unit)]) * f
    return float(d)


class Prom:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def _get(self, path, **params):
        q = urllib.parse.urlencode(params)
        with urllib.request.urlopen("%s%s?%s" % (self.url, path, q), timeout=60) as r:
            reply = json.load(r)
        if reply.get("status") != "success":
            raise RuntimeError("%s %s: %s" % (path, params, reply))
        return reply["data"]

    def range(self, query, start, end, step, save=None):
        """The query_range reply's result; with save, the whole reply is
        also written to that file, as Prometheus sent it."""
        data = self._get("/api/v1/query_range", query=query, start=start, end=end, step=step)
        if save:
            with open(save, "w") as f:
                json.dump({"status": "success", "query": query, "data": data}, f)
        return data["result"]

    def instant(self, query, at):
        return self._get("/api/v1/query", query=query, time=at)["result"]

    def rules(self):
        return self._get("/api/v1/rules")["groups"]


def variant_of(metric):
    name = metric.get("name", "")
    return name[len(PREFIX):] if name.startswith(PREFIX) else None


def by_variant(results):
    out = {}
    for r in results:
        v = variant_of(r["metric"])
        if v:
            out[v] = [(float(t), float(x)) for t, x in r["values"]]
    return out


def fmt_duration(s):
    if s is None:
        return "–"
    s = float(s)
    if s >= 86400:
        return "%.1f d" % (s / 86400)
    if s >= 3600:
        return "%.1f h" % (s / 3600)
    if s >= 60:
        return "%.0f min" % (s / 60)
    return "%.0f s" % s


def locust_bursts(path, base):
    """(burst start, burst end) in Unix seconds as Locust ran them: the
    seconds its stats history has more than `base` users. The shape's
    clock starts when Locust does, a second or two after the run's start,
    and its users take a second to spawn, so the nominal clock would
    misplace every burst."""
    with open(path, newline="") as f:
        rows = [(float(r["Timestamp"]), int(float(r["User Count"])))
                for r in csv.DictReader(f) if r.get("Name") == "Aggregated"]
    spans, since = [], None
    for t, users in rows:
        if users > base and since is None:
            since = t
        elif users <= base and since is not None:
            spans.append((since, t))
            since = None
    if since is not None:
        spans.append((since, rows[-1][0]))
    if not spans:
        raise RuntimeError("%s: no second with more than %d users" % (path, base))
    return spans


def burst_moves(series, spans, off):
    """Per burst: how far the working set rose during it above its level
    just before, how far it fell from that peak before the next burst (V8
    gives memory back in the quiet stretch, or as the next burst starts,
    and skips some), and its whole range over the cycle. Bursts without
    samples on both sides are left out; the last has no fall."""
    moves = []
    for i, (b0, b1) in enumerate(spans):
        nxt = spans[i + 1][0] if i + 1 < len(spans) else None
        before = [v for t, v in series if b0 - min(off, 30) <= t <= b0]
        during = [v for t, v in series if b0 <= t <= b1 + 2]
        after = [v for t, v in series if b1 < t <= nxt + 2] if nxt else []
        if not before or not during:
            continue
        peak = max(during)
        cycle = before[-1:] + during + after
        moves.append({
            "start_s": round(b0 - spans[0][0], 1),
            "before_mib": round(min(before) / MIB, 2),
            "peak_mib": round(peak / MIB, 2),
            "rise_mib": round((peak - min(before)) / MIB, 2),
            "fall_mib": round((peak - min(after)) / MIB, 2) if after else None,
            "range_mib": round((max(cycle) - min(cycle)) / MIB, 2) if after else None,
        })
    return moves


def alert_times(results, start):
    """{variant: {alertname: {first_pending_s, first_firing_s, firing_at_end}}}"""
    out = {}
    for r in results:
        m = r["metric"]
        v = variant_of(m)
        if not v:
            continue
        a = out.setdefault(v, {}).setdefault(m["alertname"], {
            "first_pending_s": None, "first_firing_s": None, "firing_at_end": False})
        key = "first_firing_s" if m.get("alertstate") == "firing" else "first_pending_s"
        first = min(float(t) for t, _ in r["values"]) - start
        if a[key] is None or first < a[key]:
            a[key] = round(first, 1)
    return out


def held_for(series, threshold, hold):
    """The first time a series has been above threshold for `hold` seconds
    (a rule's `for:`), or None."""
    since = None
    for t, v in series:
        if v > threshold:
            since = t if since is None else since
            if t - since >= hold:
                return t
        else:
            since = None
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--start", type=float, required=True)
    ap.add_argument("--end", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chart", required=True)
    ap.add_argument("--docs")
    ap.add_argument("--windows", required=True)
    ap.add_argument("--interval", required=True)
    ap.add_argument("--scrape", required=True)
    ap.add_argument("--burst-on", type=float, required=True)
    ap.add_argument("--burst-off", type=float, required=True)
    ap.add_argument("--peak-users", type=int, required=True)
    ap.add_argument("--base-users", type=int, required=True)
    ap.add_argument("--think", required=True)
    ap.add_argument("--limit", required=True)
    ap.add_argument("--items", type=int, required=True)
    ap.add_argument("--lru", type=int, required=True)
    ap.add_argument("--node-version", required=True)
    ap.add_argument("--alert-for", required=True)
    a = ap.parse_args()

    prom = Prom(a.prometheus)
    step = max(seconds(a.scrape), 1.0)
    windows = a.windows.split(",")
    sel = '{name=~"%s.*"}' % PREFIX
    os.makedirs(a.out, exist_ok=True)
    rng = lambda q, save=None: prom.range(q, a.start, a.end, step,
                                          save and os.path.join(a.out, save))

    ws = by_variant(rng("leakwatch_container_memory_working_set_bytes" + sel))
    raw = {k: by_variant(rng("leakwatch_container_memory_%s_bytes%s" % (k, sel)))
           for k in ("usage", "rss", "cache", "limit")}
    score = by_variant(rng("max without (window) (leakwatch_container_memory_leak_score%s)" % sel))
    suspected = {}
    for r in rng("leakwatch_container_memory_leak_suspected" + sel, "prom-suspected.json"):
        v = variant_of(r["metric"])
        if v:
            suspected.setdefault(v, {})[r["metric"]["window"]] = [(float(t), float(x)) for t, x in r["values"]]
    alerts = alert_times(rng('ALERTS{name=~"%s.*"}' % PREFIX, "prom-alerts.json"), a.start)
    firing_now = {(variant_of(r["metric"]), r["metric"]["alertname"])
                  for r in prom.instant('ALERTS{alertstate="firing",name=~"%s.*"}' % PREFIX, a.end)}
    for v, names in alerts.items():
        for n, info in names.items():
            info["firing_at_end"] = (v, n) in firing_now

    def at_end(metric):
        out = {}
        for r in prom.instant(metric + sel, a.end):
            v = variant_of(r["metric"])
            if v:
                out.setdefault(v, {})[r["metric"]["window"]] = float(r["value"][1])
        return out
    slope = at_end("leakwatch_container_memory_leak_slope_bytes_per_second")
    r2 = at_end("leakwatch_container_memory_leak_r_squared")
    ttl = at_end("leakwatch_container_memory_time_to_limit_seconds")
    score_end = at_end("leakwatch_container_memory_leak_score")
    susp_end = at_end("leakwatch_container_memory_leak_suspected")

    # The hand-written rule leakwatch is compared with in
    # docs/leak-detection.md: deriv() of the working set over 1h above 2 %
    # of the limit per hour, for 15m. A compressed run scales it down: the
    # longest window if shorter, and the rewritten `for:`.
    rule_range = min(max(windows, key=seconds), "1h", key=seconds)
    hold = seconds(a.alert_for) if a.alert_for != "as shipped" else 900.0
    deriv = by_variant(rng("deriv(leakwatch_container_memory_working_set_bytes%s[%s]) * 3600"
                           " / leakwatch_container_memory_limit_bytes" % (sel, rule_range)))

    spans = locust_bursts(os.path.join(a.out, "locust-leaky_stats_history.csv"), a.base_users)
    summary = {
        "start": a.start, "end": a.end, "duration_s": round(a.end - a.start),
        "rules": [{"group": g["name"], "name": r["name"], "health": r.get("health"),
                   "error": r.get("lastError", "")} for g in prom.rules() for r in g["rules"]],
        "settings": {
            "windows": windows, "sample_interval": a.interval, "scrape_interval": a.scrape,
            "burst_on_s": a.burst_on, "burst_off_s": a.burst_off, "peak_users": a.peak_users,
            "base_users": a.base_users, "think_s": a.think, "limit": a.limit, "items": a.items,
            "lru_max": a.lru, "alert_for": a.alert_for, "node": a.node_version,
        },
        "variants": {},
    }
    for v in VARIANTS:
        series = ws.get(v, [])
        vals = [x for _, x in series]
        lim = raw["limit"].get(v, [(0, 0)])[-1][1]
        first = {}
        for w, s in suspected.get(v, {}).items():
            on = [t for t, x in s if x >= 1]
            first[w] = round(on[0] - a.start, 1) if on else None
        d = deriv.get(v, [])
        deriv_at = held_for(d, 0.02, hold)
        summary["variants"][v] = {
            "name": PREFIX + v,
            "samples": len(series),
            "limit_bytes": lim,
            "working_set_mib": {
                "first": round(vals[0] / MIB, 1) if vals else None,
                "last": round(vals[-1] / MIB, 1) if vals else None,
                "min": round(min(vals) / MIB, 1) if vals else None,
                "max": round(max(vals) / MIB, 1) if vals else None,
            },
            "score_max": round(max((x for _, x in score.get(v, [])), default=0), 3),
            "first_suspected_s": first,
            "ever_suspected": any(t is not None for t in first.values()),
            "at_end": {
                w: {
                    "suspected": susp_end.get(v, {}).get(w),
                    "score": score_end.get(v, {}).get(w),
                    "slope_mib_per_h": (round(slope[v][w] * 3600 / MIB, 1)
                                        if w in slope.get(v, {}) else None),
                    "r_squared": r2.get(v, {}).get(w),
                    "time_to_limit_s": ttl.get(v, {}).get(w),
                } for w in windows
            },
            "alerts": alerts.get(v, {}),
            "bursts": burst_moves(series, spans, a.burst_off),
            "deriv_rule": {
                "expr": "deriv(working_set[%s]) > 2 %%/h of the limit, for %s" % (rule_range, fmt_duration(hold)),
                "max_pct_per_h": round(max((x for _, x in d), default=0) * 100, 1),
                "would_fire_at_s": round(deriv_at - a.start, 1) if deriv_at else None,
            },
        }
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)

    # The traces, for `leakwatch analyze --windows ... OUT/node-ssr-fixed.csv`.
    for v in VARIANTS:
        cols = {"working_set": dict(ws.get(v, []))}
        cols.update({k: dict(raw[k].get(v, [])) for k in raw})
        with open(os.path.join(a.out, PREFIX + v + ".csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["time", "working_set", "rss", "cache", "usage", "limit"])
            for t in sorted(cols["working_set"]):
                w.writerow(["%.3f" % t] + ["%d" % cols[k][t] if t in cols[k] else ""
                                           for k in ("working_set", "rss", "cache", "usage", "limit")])

    lines = figures(summary)
    print("\n".join(lines))
    # The verdict, any window: it holds while a window cannot judge (its
    # score reads 0 then), so the chart draws both.
    verdict = {}
    for v, per_window in suspected.items():
        at = {}
        for series in per_window.values():
            for t, x in series:
                at[t] = max(at.get(t, 0.0), x)
        verdict[v] = sorted(at.items())
    chart(a, summary, ws, score, verdict, spans)
    print("chart: %s" % a.chart)
    if a.docs:
        write_docs(a, summary, lines)
        print("figures: %s" % a.docs)
    print("summary: %s" % os.path.join(a.out, "summary.json"))


def figures(summary):
    st = summary["settings"]
    lines = [
        "node-ssr-leak: %d s of bursts (%g s of %d shoppers, %g s of %d), leakwatch windows %s, "
        "sample every %s, limit %s" % (summary["duration_s"], st["burst_on_s"], st["peak_users"],
                                       st["burst_off_s"], st["base_users"], ",".join(st["windows"]),
                                       st["sample_interval"], st["limit"]),
        "",
        "| container | working set (first → last, max) | leak suspected | slope | time to limit | alerts fired |",
        "|---|---|---|---|---|---|",
    ]
    for v in VARIANTS:
        d = summary["variants"][v]
        m = d["working_set_mib"]
        first = [(s, w) for w, s in d["first_suspected_s"].items() if s is not None]
        if first:
            s, w = min(first)
            susp = "yes, after %s (window %s)" % (fmt_duration(s), w)
        else:
            susp = "never"
        ends = d["at_end"]
        sl = ", ".join("%s %s MiB/h" % (w, "–" if e["slope_mib_per_h"] is None else "%.1f" % e["slope_mib_per_h"])
                       for w, e in ends.items())
        tl = ", ".join("%s %s" % (w, fmt_duration(e["time_to_limit_s"])) for w, e in ends.items())
        fired = ["%s after %s" % (n, fmt_duration(x["first_firing_s"]))
                 for n, x in sorted(d["alerts"].items()) if x["first_firing_s"] is not None]
        pending = ["%s (pending only)" % n for n, x in sorted(d["alerts"].items())
                   if x["first_firing_s"] is None and x["first_pending_s"] is not None]
        lines.append("| %s | %s → %s MiB, max %s MiB | %s | %s | %s | %s |" % (
            d["name"], m["first"], m["last"], m["max"], susp, sl, tl,
            "; ".join(fired + pending) or "none"))
    lines.append("")
    for v in VARIANTS:
        d = summary["variants"][v]
        rises = [b["rise_mib"] for b in d["bursts"]]
        falls = [b["fall_mib"] for b in d["bursts"] if b["fall_mib"] is not None]
        dr = d["deriv_rule"]
        lines.append("%s: per burst the working set rose %s MiB and fell back %s MiB; %s peaked at "
                     "%.1f %%/h%s." % (
                         d["name"], "/".join("%.0f" % x for x in rises) or "–",
                         "/".join("%.0f" % x for x in falls) or "–", dr["expr"], dr["max_pct_per_h"],
                         ", would have fired after %s" % fmt_duration(dr["would_fire_at_s"])
                         if dr["would_fire_at_s"] is not None else ", would not have fired"))
    return lines


def chart(a, summary, ws, score, verdict, spans):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"leaky": "#c0392b", "fixed": "#2471a3"}
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.6]})
    mins = lambda t: (t - a.start) / 60.0
    for ax in (top, bottom):
        for i, (b0, b1) in enumerate(spans):
            ax.axvspan(mins(b0), mins(b1), color="#eeeeee", zorder=0,
                       label="Locust burst (%d shoppers)" % a.peak_users if i == 0 and ax is top else None)
    for v in VARIANTS:
        s = ws.get(v, [])
        top.plot([mins(t) for t, _ in s], [x / MIB for _, x in s], color=colours[v], lw=1.3,
                 label="%s%s working set" % (PREFIX, v))
        sc = score.get(v, [])
        bottom.plot([mins(t) for t, _ in sc], [x for _, x in sc], color=colours[v], lw=1.3,
                    label="%s%s score" % (PREFIX, v))
        vd = verdict.get(v, [])
        # Drawn just above 1 and below 0, so it does not hide the score.
        bottom.step([mins(t) for t, _ in vd], [1.04 if x >= 1 else -0.04 for _, x in vd],
                    where="post", color=colours[v], lw=2.2, ls=(0, (1, 1)), alpha=0.8,
                    label="%s%s leak_suspected" % (PREFIX, v))
    lim = summary["variants"]["leaky"]["limit_bytes"]
    if lim:
        top.axhline(lim / MIB, color="#555555", ls="--", lw=1, label="memory limit (%s)" % a.limit)
    leaky = summary["variants"]["leaky"]
    marks = []
    first = [s for s in leaky["first_suspected_s"].values() if s is not None]
    if first:
        marks.append((min(first), "leak_suspected 1", "#7d3c98"))
    alert = leaky["alerts"].get("ContainerMemoryLeakSuspected", {}).get("first_firing_s")
    if alert is not None:
        marks.append((alert, "ContainerMemoryLeakSuspected firing", "#d35400"))
    for s, label, c in marks:
        for ax in (top, bottom):
            ax.axvline(s / 60.0, color=c, ls=":", lw=1.5, label=label if ax is top else None)
    bottom.axhline(0.5, color="#555555", ls="--", lw=0.8)
    bottom.text(0.2, 0.52, "verdict threshold", fontsize=8, color="#555555")
    top.set_ylabel("working set (MiB)")
    top.set_ylim(0, max(lim / MIB * 1.05 if lim else 0,
                        max((x / MIB for s in ws.values() for _, x in s), default=1) * 1.1))
    bottom.set_ylabel("leak score (highest\nwindow); dotted:\nsuspected (any)")
    bottom.set_ylim(-0.08, 1.08)
    bottom.set_xlabel("minutes since the load started")
    top.legend(loc="upper left", fontsize=8, framealpha=0.9)
    bottom.legend(loc="upper left", fontsize=8, framealpha=0.9)
    sl = max((e["slope_mib_per_h"] or 0 for e in leaky["at_end"].values()), default=0)
    ttls = [e["time_to_limit_s"] for e in leaky["at_end"].values() if e["time_to_limit_s"]]
    fixed_fired = [n for n, x in summary["variants"]["fixed"]["alerts"].items() if x["first_firing_s"] is not None]
    top.set_title("leakwatch on a leaking and a fixed Node.js SSR app under Locust bursts\n"
                  "leaky: %.0f MiB/h, limit in %s; fixed: %s (windows %s, sample %s)" % (
                      sl, fmt_duration(min(ttls)) if ttls else "–",
                      "alerts " + ", ".join(fixed_fired) if fixed_fired else "no alert",
                      ",".join(summary["settings"]["windows"]), summary["settings"]["sample_interval"]),
                  fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(a.chart)), exist_ok=True)
    fig.savefig(a.chart, dpi=110)


def write_docs(a, summary, lines):
    st = summary["settings"]
    rel = os.path.relpath(os.path.abspath(a.chart), os.path.dirname(os.path.abspath(a.docs)))
    when = datetime.datetime.fromtimestamp(summary["start"], datetime.timezone.utc)
    text = [
        "# node-ssr-leak: the figures from the last full run",
        "",
        "Written by `examples/node-ssr-leak/run` (see `examples/node-ssr-leak/README.md`);",
        "rerun it to refresh this file and the chart.",
        "",
        "Run %s UTC on %s with %d CPUs, Node.js %s; the alert rules' `for:` %s." % (
            when.strftime("%Y-%m-%d %H:%M"), platform.platform(), os.cpu_count() or 0,
            st["node"], st["alert_for"]),
        "",
    ] + lines + [
        "",
        "![working set and leak score of both containers](%s)" % rel,
        "",
        "Settings: Locust %d shoppers per variant during %g s bursts, %d for the %g s between, "
        "thinking %s s between pages; the app with ITEMS=%d, LRU_MAX=%d; leakwatch sampling every "
        "%s with windows %s; Prometheus scraping and evaluating every %s." % (
            st["peak_users"], st["burst_on_s"], st["base_users"], st["burst_off_s"], st["think_s"],
            st["items"], st["lru_max"], st["sample_interval"], ",".join(st["windows"]),
            st["scrape_interval"]),
        "",
    ]
    with open(a.docs, "w") as f:
        f.write("\n".join(text))


if __name__ == "__main__":
    sys.exit(main())
