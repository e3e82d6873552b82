#!/usr/bin/env python3
"""Writes leakwatch.json, the bundled Grafana dashboard.

    grafana-dashboards/generate.py          # rewrite leakwatch.json
    grafana-dashboards/generate.py --check  # exit 1 if it is out of date

The dashboard is code, as the Prometheus mixins keep theirs: every
per-container query needs the same container filter and label, and writing
those out by hand in twenty places is how one of them ends up wrong. Edit
this file, run it, commit both. (Editing in Grafana and exporting works
too, if this script is then brought in line.) Standard library only.

Conventions the queries follow:
- The datasource is the `DS_PROMETHEUS` variable (type datasource), not
  `__inputs`: provisioning cannot fill `__inputs`, a variable works for
  both import and provisioning.
- `container` is Docker's name, or the 64-hex id where no name is known
  (no Docker, other runtimes). Queries add it as a label with
  label_replace, and select on name, or on id for series without one.
- Leak series carry a `window` label; the overview takes the window that
  scores highest, so it works whatever --leak.windows is.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "leakwatch.json")
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
MIB_PER_HOUR = "* 3600 / 1048576"


def sel(metric, extra="", over=None):
    """METRIC's series for the selected instances and containers; with
    over=("rate", "$__rate_interval"), that function of them instead (a
    range applies to a selector, not to the `or` of two)."""
    extra = ", " + extra if extra else ""
    by_name = '{m}{{instance=~"$instance", name=~"$container"{e}}}'.format(m=metric, e=extra)
    by_id = '{m}{{instance=~"$instance", id=~"$container", name=""{e}}}'.format(m=metric, e=extra)
    if over:
        fn, rng = over
        by_name = "%s(%s[%s])" % (fn, by_name, rng)
        by_id = "%s(%s[%s])" % (fn, by_id, rng)
    return "(%s or %s)" % (by_name, by_id)


def named(expr):
    """EXPR with a `container` label: the name, else the id."""
    return ('label_replace(label_replace({e}, "container", "$1", "id", "(.+)"), '
            '"container", "$1", "name", "(.+)")').format(e=expr)


def best_window(metric):
    """METRIC in the window whose leak score is the container's highest."""
    score = 'leakwatch_container_memory_leak_score{instance=~"$instance"}'
    return ('{m} and on (instance, job, id, window) '
            '({s} == on (instance, job, id) group_left max without (window) ({s}))'
            ).format(m=sel(metric), s=score)


class Ids:
    def __init__(self):
        self.n = 0

    def __call__(self):
        self.n += 1
        return self.n


next_id = Ids()


def target(expr, legend="", ref="A", instant=False, fmt=None):
    t = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend}
    if instant:
        t["instant"] = True
        t["range"] = False
    if fmt:
        t["format"] = fmt
    return t


def timeseries(title, targets, x, y, w=12, h=8, unit="short", desc="", overrides=None,
               stack=False, bars=False, minimum=None):
    custom = {"lineWidth": 1, "fillOpacity": 10 if not bars else 80, "showPoints": "never",
              "spanNulls": False}
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    if bars:
        custom["drawStyle"] = "bars"
    defaults = {"unit": unit, "custom": custom}
    if minimum is not None:
        defaults["min"] = minimum
    return {
        "id": next_id(), "type": "timeseries", "title": title, "description": desc,
        "datasource": DS, "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom",
                               "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": targets,
    }


def stat(title, expr, x, y, w=6, h=4, unit="short", desc="", thresholds=None, mappings=None):
    return {
        "id": next_id(), "type": "stat", "title": title, "description": desc,
        "datasource": DS, "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {
            "unit": unit, "mappings": mappings or [],
            "thresholds": thresholds or {"mode": "absolute", "steps": [{"color": "green", "value": None}]},
        }, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "values": False},
                    "colorMode": "background", "graphMode": "none", "textMode": "auto"},
        "targets": [target(expr, instant=True)],
    }


def row(title, y, collapsed=False):
    return {"id": next_id(), "type": "row", "title": title, "collapsed": collapsed,
            "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []}


def override(name, props):
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": k, "value": v} for k, v in props.items()]}


RED_AT = lambda v: {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                   {"color": "red", "value": v}]}


def leakers_table(y):
    """The overview: every container, the likeliest leakers first."""
    # One row per container: every query keeps the labels the merge joins
    # on (instance, job, id, name, container and the other Docker labels).
    def agg(op, expr):
        return named("{op} without (window) ({e})".format(op=op, e=expr))

    targets = [
        target(agg("max", sel("leakwatch_container_memory_leak_score")),
               ref="score", instant=True, fmt="table"),
        target(agg("max", sel("leakwatch_container_memory_leak_suspected")),
               ref="suspected", instant=True, fmt="table"),
        target(agg("max", best_window("leakwatch_container_memory_leak_slope_bytes_per_second")) + " " + MIB_PER_HOUR,
               ref="slope", instant=True, fmt="table"),
        target(agg("min", best_window("leakwatch_container_memory_time_to_limit_seconds")),
               ref="ttl", instant=True, fmt="table"),
        target(named(sel("leakwatch_container_memory_working_set_bytes")), ref="working_set", instant=True, fmt="table"),
        target(named(sel("leakwatch_container_memory_limit_bytes")), ref="limit", instant=True, fmt="table"),
    ]
    rename = {"Value #score": "Leak score", "Value #suspected": "Verdict",
              "Value #slope": "Slope (MiB/h)", "Value #ttl": "Time to limit",
              "Value #working_set": "Working set", "Value #limit": "Limit",
              "container": "Container", "image": "Image", "compose_service": "Service",
              "instance": "Instance"}
    keep = ["container", "image", "compose_service", "instance", "Value #score", "Value #suspected",
            "Value #slope", "Value #ttl", "Value #working_set", "Value #limit"]
    return {
        "id": next_id(), "type": "table", "title": "Suspected leakers",
        "description": "Every watched container, highest leak score first. Score, slope and "
                       "time to limit come from the window that scores highest. Verdict is "
                       "leakwatch's: LEAK once a window has judged the baseline growing for "
                       "several evaluations in a row.",
        "datasource": DS, "gridPos": {"x": 0, "y": y, "w": 24, "h": 9},
        "targets": targets,
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": {},
                "indexByName": {k: i for i, k in enumerate(keep)},
                "renameByName": rename}},
            {"id": "filterFieldsByName", "options": {"include": {"names": [rename[k] for k in keep]}}},
            {"id": "sortBy", "options": {"sort": [{"field": "Leak score", "desc": True}]}},
        ],
        "fieldConfig": {"defaults": {"custom": {"align": "auto"}}, "overrides": [
            override("Leak score", {"unit": "percentunit", "decimals": 0,
                                    "custom.cellOptions": {"type": "gauge", "mode": "basic"},
                                    "min": 0, "max": 1,
                                    "thresholds": {"mode": "absolute", "steps": [
                                        {"color": "green", "value": None},
                                        {"color": "orange", "value": 0.25},
                                        {"color": "red", "value": 0.5}]}}),
            override("Verdict", {"mappings": [{"type": "value", "options": {
                "0": {"text": "ok", "color": "green", "index": 0},
                "1": {"text": "LEAK", "color": "red", "index": 1}}}],
                "custom.cellOptions": {"type": "color-background"}}),
            override("Slope (MiB/h)", {"unit": "none", "decimals": 1}),
            override("Time to limit", {"unit": "s", "decimals": 1,
                                       "thresholds": {"mode": "absolute", "steps": [
                                           {"color": "red", "value": None},
                                           {"color": "orange", "value": 4 * 3600},
                                           {"color": "text", "value": 24 * 3600}]},
                                       "custom.cellOptions": {"type": "color-text"}}),
            override("Working set", {"unit": "bytes"}),
            override("Limit", {"unit": "bytes"}),
        ]},
        "options": {"showHeader": True, "cellHeight": "sm",
                    "sortBy": [{"displayName": "Leak score", "desc": True}]},
    }


def what_leaks_table(y):
    """The suspected containers: which kind of memory grows, and in which process."""
    # As in the alert rules: of the suspected windows, one that names a
    # process (a long window names it only after following it for half its
    # length), else any; of those, the one whose kind grows fastest, by the
    # kind's own leak_kind_slope series.
    kind_slope = sel("leakwatch_container_memory_leak_kind_slope_bytes_per_second")

    def fastest(info):
        # group_left keeps leak_info's labels (process, pid); its empty
        # label list tells the parser that the parenthesis after it is the
        # operand.
        return ("topk by (instance, job, id) (1, {i} * on (instance, job, id, window, kind) group_left () {k})"
                .format(i=info, k=kind_slope))
    expr = named("({n} or on (instance, job, id) {a})".format(
        n=fastest(sel("leakwatch_container_memory_leak_info", 'process!=""')),
        a=fastest(sel("leakwatch_container_memory_leak_info")))) + " " + MIB_PER_HOUR
    rename = {"container": "Container", "image": "Image", "compose_service": "Service",
              "instance": "Instance", "window": "Window", "kind": "Kind", "process": "Process",
              "pid": "PID", "Value": "Growth (MiB/h)"}
    keep = ["container", "image", "compose_service", "instance", "window", "kind", "process", "pid",
            "Value"]
    return {
        "id": next_id(), "type": "table", "title": "What leaks",
        "description": "For each suspected container, the kind of memory whose baseline grows the "
                       "most, how fast, and the process that accounts for the growth (empty when "
                       "no single one does; naming one needs leakwatch in the host's PID "
                       "namespace). anon: the heap, compare heap snapshots of that process. "
                       "shmem: files in a tmpfs (/dev/shm, an emptyDir in memory, /tmp on tmpfs) "
                       "that are never deleted. kernel: sockets, inodes or dentries piling up. "
                       "Of several suspected windows, one that names a process, the one whose "
                       "kind grows fastest. Empty "
                       "when nothing leaks, and with a leakwatch that does not tell kinds.",
        "datasource": DS, "gridPos": {"x": 0, "y": y, "w": 24, "h": 6},
        "targets": [target(expr, ref="what", instant=True, fmt="table")],
        "transformations": [
            {"id": "organize", "options": {
                "excludeByName": {},
                "indexByName": {k: i for i, k in enumerate(keep)},
                "renameByName": rename}},
            {"id": "filterFieldsByName", "options": {"include": {"names": [rename[k] for k in keep]}}},
            {"id": "sortBy", "options": {"sort": [{"field": "Growth (MiB/h)", "desc": True}]}},
        ],
        "fieldConfig": {"defaults": {"custom": {"align": "auto"}}, "overrides": [
            override("Kind", {"mappings": [{"type": "value", "options": {
                "anon": {"text": "anonymous", "index": 0},
                "shmem": {"text": "shmem (tmpfs)", "index": 1},
                "kernel": {"text": "kernel", "index": 2}}}]}),
            override("Growth (MiB/h)", {"unit": "none", "decimals": 1}),
        ]},
        "options": {"showHeader": True, "cellHeight": "sm",
                    "sortBy": [{"displayName": "Growth (MiB/h)", "desc": True}]},
    }


def dashboard():
    p = []
    y = 0
    p.append(row("Overview", y)); y += 1
    p.append(stat("Containers watched", 'sum(leakwatch_containers{instance=~"$instance"})', 0, y,
                  desc="Containers leakwatch samples, after its include/exclude filters."))
    p.append(stat("Suspected leaks",
                  'count(max without (window) (leakwatch_container_memory_leak_suspected{instance=~"$instance"}) == 1) or vector(0)',
                  6, y, thresholds=RED_AT(1),
                  desc="Containers whose memory baseline leakwatch judges to be leaking, in any window."))
    p.append(stat("Soonest limit",
                  'min(leakwatch_container_memory_time_to_limit_seconds{instance=~"$instance"} and '
                  'leakwatch_container_memory_leak_suspected{instance=~"$instance"} == 1)',
                  12, y, unit="s",
                  thresholds={"mode": "absolute", "steps": [{"color": "red", "value": None},
                                                            {"color": "orange", "value": 4 * 3600},
                                                            {"color": "green", "value": 24 * 3600}]},
                  desc="Of the leaking containers, the shortest time until one reaches its memory "
                       "limit at its current slope. Empty when nothing leaks."))
    p.append(stat("OOM kills (24h)",
                  'sum(increase(leakwatch_container_memory_oom_events_total{instance=~"$instance"}[24h])) or vector(0)',
                  18, y, thresholds=RED_AT(1), desc="OOM kills in the watched containers over the last day."))
    y += 4
    p.append(leakers_table(y)); y += 9
    p.append(what_leaks_table(y)); y += 6

    p.append(row("Per container: $container", y)); y += 1
    ws = named(sel("leakwatch_container_memory_working_set_bytes"))
    p.append(timeseries(
        "Working set, limit and leak trend", [
            target(ws, "{{container}} working set", "A"),
            target(named(sel("leakwatch_container_memory_limit_bytes")), "{{container}} limit", "B"),
            target(named(sel("leakwatch_container_memory_leak_baseline_bytes", 'window="$window"')),
                   "{{container}} trend ($window)", "C"),
        ], 0, y, w=24, h=9, unit="bytes", minimum=0,
        desc="Working set (usage minus inactive page cache, what the kubelet and docker stats "
             "show), the cgroup limit, and the leak trend: the line leakwatch fits through the "
             "post-GC minima in the selected window, where it stood at each evaluation. A leak "
             "shows as a trend that keeps rising under the sawtooth.",
        overrides=[{"matcher": {"id": "byRegexp", "options": ".* limit"},
                    "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                                   {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}}]},
                   {"matcher": {"id": "byRegexp", "options": ".* trend .*"},
                    "properties": [{"id": "custom.lineWidth", "value": 3},
                                   {"id": "custom.fillOpacity", "value": 0}]}]))
    y += 9
    cache, shmem = sel("leakwatch_container_memory_cache_bytes"), sel("leakwatch_container_memory_shmem_bytes")
    p.append(timeseries("Memory by kind", [
        target(named(sel("leakwatch_container_memory_rss_bytes")), "{{container}} anonymous", "A"),
        target(named(shmem), "{{container}} shmem", "B"),
        target(named(sel("leakwatch_container_memory_kernel_bytes")), "{{container}} kernel", "C"),
        # The page cache includes shmem; without it, what the kernel can
        # reclaim. The two are read apart, hence the floor; where shmem is
        # not known, the whole cache.
        target(named("clamp_min({c} - {s}, 0) or {c}".format(c=cache, s=shmem)),
               "{{container}} page cache", "D"),
    ], 0, y, unit="bytes", stack=True, minimum=0,
        desc="What the container's memory is made of, stacked: anonymous memory (heaps, "
             "stacks), shmem (tmpfs files, /dev/shm, shared memory), kernel memory charged to "
             "it (slab, sockets, kernel stacks, page tables) and the page cache without shmem. "
             "leakwatch's leak signal is the first three, which the kernel cannot reclaim; the "
             "page cache it can. Pick one container to read its own stack; shmem and kernel "
             "are absent where the kernel does not report them.",
        overrides=[{"matcher": {"id": "byRegexp", "options": ".* page cache"},
                    "properties": [{"id": "custom.fillOpacity", "value": 0},
                                   {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]}]))
    p.append(timeseries("Leak slope by kind", [
        target(named(sel("leakwatch_container_memory_leak_kind_slope_bytes_per_second", 'window="$window"'))
               + " " + MIB_PER_HOUR, "{{container}} {{kind}}", "A"),
    ], 12, y, unit="none",
        desc="For a suspected container, how fast the baseline of each kind of memory grows "
             "in the selected window, MiB per hour: anon, shmem and kernel, and where the "
             "kernel splits it (cgroup v2) slab, sock, kernel_stack and pagetables. Empty for "
             "containers not suspected."))
    y += 8
    p.append(timeseries("RSS and page cache", [
        target(named(sel("leakwatch_container_memory_rss_bytes")), "{{container}} rss", "A"),
        target(named(sel("leakwatch_container_memory_cache_bytes")), "{{container}} cache", "B"),
        target(named(sel("leakwatch_container_memory_swap_bytes")), "{{container}} swap", "C"),
        target(named(sel("leakwatch_container_memory_mapped_file_bytes")), "{{container}} mapped file", "D"),
    ], 0, y, unit="bytes", minimum=0,
        desc="Anonymous memory (heap: where leaks live) and file-backed page cache (reclaimable; "
             "growing cache is not a leak), swap where the kernel accounts it, and the part of "
             "the cache mapped into processes (binaries, libraries, mmap'ed files), which the "
             "kernel reclaims last."))
    p.append(timeseries("Leak slope per window", [
        target(named(sel("leakwatch_container_memory_leak_slope_bytes_per_second")) + " " + MIB_PER_HOUR,
               "{{container}} {{window}}", "A"),
    ], 12, y, unit="none",
        desc="Growth of the memory baseline (post-GC minima), MiB per hour, in each window; "
             "Theil-Sen, robust to GC spikes. Absent until a window holds enough history."))
    y += 8
    p.append(timeseries("Leak score per window", [
        target(named(sel("leakwatch_container_memory_leak_score")), "{{container}} score {{window}}", "A"),
        target(named(sel("leakwatch_container_memory_leak_suspected")), "{{container}} suspected {{window}}", "B"),
    ], 0, y, unit="percentunit", minimum=0,
        desc="0..1 leak suspicion per window, and the verdict (1 = leaking)."))
    p.append(timeseries("Time to limit", [
        target(named(sel("leakwatch_container_memory_time_to_limit_seconds")), "{{container}} {{window}}", "A"),
    ], 12, y, unit="s", minimum=0,
        desc="At each window's slope, time until the baseline reaches the limit (the cgroup's, "
             "else the host's memory). Absent when not growing."))
    y += 8
    p.append(timeseries("OOM kills", [
        target("sum by (instance, container) (" + named(
            sel("leakwatch_container_memory_oom_events_total", over=("increase", "$__rate_interval"))) + ")",
            "{{container}}", "A"),
    ], 0, y, unit="short", bars=True, minimum=0,
        desc="Processes the kernel's OOM killer stopped in the container."))
    p.append(timeseries("CPU", [
        target(named(sel("leakwatch_container_cpu_usage_seconds_total", over=("rate", "$__rate_interval"))),
               "{{container}} used", "A"),
        target(named(sel("leakwatch_container_cpu_throttled_seconds_total", over=("rate", "$__rate_interval"))),
               "{{container}} throttled", "B"),
    ], 12, y, unit="short", minimum=0,
        desc="CPU cores in use, and time throttled by the CPU quota. A leaking runtime often "
             "spends more and more on garbage collection."))
    y += 8
    p.append(timeseries("Memory pressure (PSI)", [
        target(named(sel("leakwatch_container_memory_pressure_some_seconds_total", over=("rate", "$__rate_interval"))),
               "{{container}} some", "A"),
        target(named(sel("leakwatch_container_memory_pressure_full_seconds_total", over=("rate", "$__rate_interval"))),
               "{{container}} full", "B"),
    ], 0, y, w=24, h=6, unit="percentunit", minimum=0,
        desc="Share of time tasks stalled waiting for memory (cgroup v2 with PSI only)."))
    y += 6

    p.append(row("leakwatch", y)); y += 1
    p.append(stat("Sampling", 'min(leakwatch_up{instance=~"$instance"})', 0, y, w=4,
                  thresholds={"mode": "absolute", "steps": [{"color": "red", "value": None},
                                                            {"color": "green", "value": 1}]},
                  mappings=[{"type": "value", "options": {"0": {"text": "stalled"}, "1": {"text": "up"}}}],
                  desc="1 while every leakwatch's last sampling pass finished within two intervals."))
    p.append(stat("Docker", 'min(leakwatch_docker_up{instance=~"$instance"})', 4, y, w=4,
                  thresholds={"mode": "absolute", "steps": [{"color": "red", "value": None},
                                                            {"color": "green", "value": 1}]},
                  mappings=[{"type": "value", "options": {"0": {"text": "down"}, "1": {"text": "up"}}}],
                  desc="1 while leakwatch is in step with the Docker Engine API; empty with "
                       "--docker.host none."))
    p.append(stat("Config reload", 'min(leakwatch_config_last_reload_successful{instance=~"$instance"})', 8, y, w=4,
                  thresholds={"mode": "absolute", "steps": [{"color": "red", "value": None},
                                                            {"color": "green", "value": 1}]},
                  mappings=[{"type": "value", "options": {"0": {"text": "failed"}, "1": {"text": "ok"}}}],
                  desc="Whether the last configuration reload (SIGHUP) succeeded."))
    p.append({
        "id": next_id(), "type": "table", "title": "Versions", "datasource": DS,
        "gridPos": {"x": 12, "y": y, "w": 12, "h": 4},
        "targets": [target('leakwatch_build_info{instance=~"$instance"}', ref="A", instant=True, fmt="table")],
        "transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "Value": True, "__name__": True, "job": True}}}],
        "fieldConfig": {"defaults": {}, "overrides": []}, "options": {"showHeader": True},
    })
    y += 4
    p.append(timeseries("Sampling pass duration", [
        target('leakwatch_sample_duration_seconds{instance=~"$instance"}', "{{instance}}", "A"),
    ], 0, y, w=8, unit="s", minimum=0,
        desc="Wall time of each sampling pass over every container; it must stay well under "
             "the sample interval."))
    p.append(timeseries("leakwatch memory", [
        target('process_resident_memory_bytes{job=~".*leakwatch.*", instance=~"$instance"}', "{{instance}} resident", "A"),
    ], 8, y, w=8, unit="bytes", minimum=0, desc="leakwatch's own resident memory."))
    p.append(timeseries("leakwatch CPU", [
        target('rate(process_cpu_seconds_total{job=~".*leakwatch.*", instance=~"$instance"}[$__rate_interval])',
               "{{instance}}", "A"),
    ], 16, y, w=8, unit="short", minimum=0, desc="CPU cores leakwatch itself uses."))
    y += 8

    container_query = ('query_result(' + named(
        'max by (instance, id, name) (leakwatch_container_memory_usage_bytes{instance=~"$instance"})') + ')')
    templating = [
        {"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []},
        {"name": "instance", "label": "Instance", "type": "query", "datasource": DS,
         "query": {"query": "label_values(leakwatch_build_info, instance)", "refId": "instance"},
         "definition": "label_values(leakwatch_build_info, instance)",
         "refresh": 2, "multi": True, "includeAll": True, "allValue": ".*",
         "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
         "sort": 1, "hide": 0, "regex": "", "options": []},
        {"name": "container", "label": "Container", "type": "query", "datasource": DS,
         "query": {"query": container_query, "refId": "container"},
         "definition": container_query,
         "regex": '/container="([^"]+)"/',
         "refresh": 2, "multi": True, "includeAll": True, "allValue": ".*",
         "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
         "sort": 1, "hide": 0, "options": []},
        {"name": "window", "label": "Trend window", "type": "query", "datasource": DS,
         "query": {"query": 'label_values(leakwatch_container_memory_leak_score{instance=~"$instance"}, window)',
                   "refId": "window"},
         "definition": 'label_values(leakwatch_container_memory_leak_score{instance=~"$instance"}, window)',
         "refresh": 2, "multi": False, "includeAll": False, "sort": 0, "hide": 0, "regex": "",
         "current": {}, "options": []},
    ]
    return {
        "title": "leakwatch: container memory leaks",
        "uid": "leakwatch",
        "description": "Which containers leak memory, how fast, and when they hit their limit "
                       "(https://github.com/leakwatch/leakwatch).",
        "tags": ["leakwatch", "containers", "memory"],
        "editable": True, "graphTooltip": 1, "refresh": "30s", "schemaVersion": 38,
        "time": {"from": "now-6h", "to": "now"}, "timezone": "",
        "timepicker": {}, "version": 1, "links": [], "annotations": {"list": []},
        "templating": {"list": templating},
        "panels": p,
    }


def render():
    return json.dumps(dashboard(), indent=2, sort_keys=False) + "\n"


def main(argv):
    text = render()
    if argv[1:] == ["--check"]:
        with open(OUT) as f:
            if f.read() != text:
                print("%s is out of date: run %s" % (OUT, argv[0]), file=sys.stderr)
                return 1
        return 0
    with open(OUT, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
