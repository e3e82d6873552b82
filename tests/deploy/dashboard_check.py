"""Runs every query of a Grafana dashboard against a real Prometheus.

    dashboard_check.py DASHBOARD.json PROM_URL LEAKY_NAME FLAT_NAME NAMELESS_ID LIMIT_BYTES \
        LEAKY_PID INTERFACE.md

Does what Grafana would: resolves the template variables with their own
queries (label_values, query_result), interpolates them, and runs each
panel target as Grafana runs it (instant for tables and stats, a range
query otherwise). Fails on:
- the dashboard's shape: `__inputs`, a panel or target not on the
  DS_PROMETHEUS datasource variable, missing variables;
- any query Prometheus rejects, or a variable left uninterpolated;
- a legend naming a label the results do not carry;
- a core panel without data, for a named container and for one known by
  its id only; and wrong figures in the suspected-leakers table and, for
  the leaking container (memhog's heap, host PID LEAKY_PID), in the
  what-leaks table and the memory by kind.
A target whose query reads a metric that docs/interface.md (INTERFACE.md)
still lists under "Not yet implemented" may be empty: the dashboard can be
ready for a series before the daemon exports it. Once the name leaves that
list (the docs_interface test moves it when the binary has it), the target
is held to the same checks as every other.
Standard library only. Exits 1 listing every failure.
"""
import json
import re
import sys
import time
import urllib.parse
import urllib.request

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def api(prom, path, **params):
    url = prom + path + "?" + urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    return body


def regex_escape(v):
    # Grafana escapes regex metacharacters with a doubled backslash inside
    # the PromQL string.
    return re.sub(r'([\\^$.|?*+()\[\]{}])', r'\\\\\1', v)


def format_multi(values):
    if len(values) == 1:
        return regex_escape(values[0])
    return "(" + "|".join(regex_escape(v) for v in values) + ")"


def interpolate(expr, variables):
    def sub(m):
        name = m.group(1) or m.group(2)
        if name not in variables:
            return m.group(0)
        return variables[name]
    out = re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, expr)
    # $1.. are label_replace's; anything else with a $ is a variable
    # Grafana would have filled.
    left = [v for v in re.findall(r"\$\{?(\w+)", out) if not v.isdigit()]
    return out, left


def resolve_variable(prom, var, variables):
    """The variable's options, as Grafana would list them."""
    q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
    q, left = interpolate(q, variables)
    if left:
        fail("variable %s: query leaves %s uninterpolated: %s" % (var["name"], left, q))
        return []
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q.strip(), re.S)
    if m:
        body = api(prom, "/api/v1/label/%s/values" % m.group(2), **{"match[]": m.group(1)})
        if body.get("status") != "success":
            fail("variable %s: %s: %s" % (var["name"], q, body.get("error")))
            return []
        values = body["data"]
    else:
        m = re.fullmatch(r"query_result\((.*)\)", q.strip(), re.S)
        if not m:
            fail("variable %s: unsupported query %s" % (var["name"], q))
            return []
        body = api(prom, "/api/v1/query", query=m.group(1))
        if body.get("status") != "success":
            fail("variable %s: %s: %s" % (var["name"], q, body.get("error")))
            return []
        # Grafana's text for each series: name{k="v", ...} value timestamp
        values = []
        for s in body["data"]["result"]:
            labels = dict(s["metric"])
            name = labels.pop("__name__", "")
            values.append("%s{%s} %s %s" % (name, ", ".join('%s="%s"' % kv for kv in labels.items()),
                                            s["value"][1], int(float(s["value"][0]) * 1000)))
    regex = var.get("regex") or ""
    if regex:
        pattern = re.compile(regex.strip("/"))
        picked = []
        for v in values:
            hit = pattern.search(v)
            if hit:
                picked.append(hit.group(1) if hit.groups() else hit.group(0))
        values = picked
    return sorted(set(values))


def check_shape(d):
    if "__inputs" in d:
        fail("dashboard has __inputs: provisioning cannot fill them; use the DS_PROMETHEUS variable")
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables.get("DS_PROMETHEUS")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        fail("no DS_PROMETHEUS variable of type datasource for prometheus")
    for name in ("instance", "container"):
        if name not in variables:
            fail("no %s variable" % name)
    want = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    for v in d["templating"]["list"]:
        if v["type"] == "query" and v.get("datasource") != want:
            fail("variable %s is not on ${DS_PROMETHEUS}" % v["name"])
    ids = set()
    for p in d["panels"]:
        if p["id"] in ids:
            fail("panel id %s twice" % p["id"])
        ids.add(p["id"])
        g = p["gridPos"]
        if g["x"] + g["w"] > 24:
            fail("panel %r is wider than the grid" % p["title"])
        if p["type"] == "row":
            continue
        if p.get("datasource") != want:
            fail("panel %r is not on ${DS_PROMETHEUS}" % p["title"])
        for t in p.get("targets", []):
            if t.get("datasource") != want:
                fail("panel %r target %s is not on ${DS_PROMETHEUS}" % (p["title"], t["refId"]))
    return variables


def run_targets(d, prom, variables, start, end):
    """{(panel title, refId): result list} for every target."""
    results = {}
    for p in d["panels"]:
        if p["type"] == "row":
            continue
        for t in p["targets"]:
            key = (p["title"], t["refId"])
            expr, left = interpolate(t["expr"], variables)
            if left:
                fail("%s/%s: %s uninterpolated in %s" % (key + (left, expr)))
                continue
            if t.get("instant"):
                body = api(prom, "/api/v1/query", query=expr, time=end)
            else:
                body = api(prom, "/api/v1/query_range", query=expr, start=start, end=end, step=1)
            if body.get("status") != "success":
                fail("%s/%s: %s: %s" % (key + (body.get("error"), expr)))
                continue
            if body.get("warnings"):
                fail("%s/%s: warnings %s" % (key + (body["warnings"],)))
            res = body["data"]["result"]
            for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat", "")):
                for s in res:
                    if label not in s["metric"]:
                        fail("%s/%s: legend names %s, series %s lacks it" % (key + (label, s["metric"])))
                        break
            results[key] = res
    return results


# Targets that may be empty on this host and in this run: no OOM kill has
# happened, cgroup v1 has no PSI, swap is not accounted, nothing is
# throttled without a CPU quota (leakwatch exports the counter anyway where
# the kernel has it).
MAY_BE_EMPTY = {("OOM kills", "A"), ("Memory pressure (PSI)", "A"), ("Memory pressure (PSI)", "B"),
                ("RSS and page cache", "C"), ("CPU", "B")}
# Targets with data only for the windows in which the container is
# suspected (leak_kind_slope is exported for those alone); the leaky
# selection's window may not be one.
WHILE_SUSPECTED = {("Leak slope by kind", "A")}
KINDS = {"anon", "shmem", "kernel", "slab", "sock", "kernel_stack", "pagetables"}


def reserved_metrics(interface_md):
    """The metric names docs/interface.md lists as not yet implemented (and
    nowhere else: that section also names existing series in passing)."""
    with open(interface_md) as f:
        text = f.read()
    m = re.search(r"^## Not yet implemented\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not m:
        return set()
    names = lambda t: set(re.findall(r"\bleakwatch_[a-z0-9_]+", t))
    return names(m.group(1)) - names(text[:m.start()] + text[m.end():])


def exprs_by_target(d):
    return {(p["title"], t["refId"]): t["expr"] for p in d["panels"] if p["type"] != "row"
            for t in p["targets"]}


def suspected_in(prom, leaky, window, at):
    q = 'leakwatch_container_memory_leak_suspected{name="%s", window="%s"} == 1' % (leaky, window)
    body = api(prom, "/api/v1/query", query=q, time=at)
    return body.get("status") == "success" and bool(body["data"]["result"])


def last(series):
    return float(series["value"][1] if "value" in series else series["values"][-1][1])


def main(path, prom, leaky, flat, nameless, limit, leaky_pid, interface_md):
    limit = float(limit)
    with open(path) as f:
        d = json.load(f)
    tvars = check_shape(d)
    reserved = reserved_metrics(interface_md)
    exprs = exprs_by_target(d)
    pending = {k for k, e in exprs.items()
               if set(re.findall(r"\bleakwatch_[a-z0-9_]+", e)) & reserved}
    if pending:
        print("not yet exported (docs/interface.md), may be empty: %s" % sorted(pending))
    end = time.time()
    start = end - 120
    base = {"__rate_interval": "5s", "__interval": "1s", "__range": "120s"}

    # Variables in order, each query seeing the ones before (Grafana's
    # chained variables).
    instances = resolve_variable(prom, tvars["instance"], dict(base, instance=".*"))
    if not instances:
        fail("the instance variable lists nothing")
        return
    containers = resolve_variable(prom, tvars["container"], dict(base, instance=".*"))
    for want in (leaky, flat, nameless):
        if want not in containers:
            fail("the container variable does not list %s (it lists %s)" % (want, containers))
    windows = resolve_variable(prom, tvars["window"], dict(base, instance=".*"))
    if not windows:
        fail("the window variable lists nothing")
        return
    print("variables: instance %s; container %s; window %s" % (instances, containers, windows))

    selections = [
        ("all", dict(base, instance=".*", container=".*", window=windows[-1])),
        ("leaky", dict(base, instance=format_multi(instances), container=format_multi([leaky]),
                       window=windows[0])),
        ("nameless", dict(base, instance=".*", container=format_multi([nameless]), window=windows[-1])),
        ("flat", dict(base, instance=".*", container=format_multi([flat]), window=windows[0])),
    ]
    runs = {}
    for name, variables in selections:
        runs[name] = run_targets(d, prom, variables, start, end)
        empty = sorted(k for k, v in runs[name].items() if not v)
        print("selection %-8s: %d queries, %d empty: %s" % (name, len(runs[name]), len(empty), empty))

    # Core panels return data for a leaking container known by name.
    leaky_window = dict(selections)["leaky"]["window"]
    for key, res in runs["leaky"].items():
        if res or key in MAY_BE_EMPTY or key in pending:
            continue
        if key in WHILE_SUSPECTED and not suspected_in(prom, leaky, leaky_window, end):
            continue
        fail("panel %r target %s returns no data for container %s" % (key + (leaky,)))
    for key, res in runs["leaky"].items():
        for s in res:
            c = s["metric"].get("container")
            if c is not None and c != leaky:
                fail("panel %r target %s shows container %s when %s is selected" % (key + (c, leaky)))
    # ... and for one known by its id only.
    ws = runs["nameless"].get(("Working set, limit and leak trend", "A"), [])
    if [s["metric"].get("container") for s in ws] != [nameless]:
        fail("working set for the nameless container: want container=%s, got %s"
             % (nameless, [s["metric"] for s in ws]))

    # The suspected-leakers table: the right figures in the right rows.
    table = runs["all"]
    def row(ref, who):
        for s in table.get(("Suspected leakers", ref), []):
            if s["metric"].get("container") == who:
                return last(s)
        return None
    score, suspected = row("score", leaky), row("suspected", leaky)
    slope, ttl = row("slope", leaky), row("ttl", leaky)
    print("table, %s: score %s, suspected %s, slope %s MiB/h, time to limit %s s, working set %s, limit %s"
          % (leaky, score, suspected, slope, ttl, row("working_set", leaky), row("limit", leaky)))
    if score is None or score < 0.5:
        fail("leaky container's score %s, want >= 0.5" % score)
    if suspected != 1:
        fail("leaky container's verdict %s, want 1" % suspected)
    # memhog leaks 2 MiB/s: 7200 MiB/h.
    if slope is None or not 0.7 * 7200 < slope < 1.3 * 7200:
        fail("leaky container's slope %s MiB/h, want about 7200" % slope)
    if ttl is None or not 0 < ttl < limit / (2 * 1048576):
        fail("leaky container's time to limit %s s, want under %d s" % (ttl, limit / (2 * 1048576)))
    if row("limit", leaky) != limit:
        fail("leaky container's limit %s, want %s" % (row("limit", leaky), limit))
    if row("suspected", flat) != 0:
        fail("flat container's verdict %s, want 0" % row("suspected", flat))
    if row("score", nameless) is None:
        fail("the nameless container has no row in the table")
    soonest = runs["all"].get(("Soonest limit", "A"), [])
    if not soonest:
        fail("no soonest time to limit although %s leaks" % leaky)
    leaks = runs["all"].get(("Suspected leaks", "A"), [])
    if not leaks or last(leaks[0]) < 1:
        fail("suspected leaks stat %s, want >= 1" % leaks)
    # The flat container has no trend toward its limit.
    if runs["flat"].get(("Time to limit", "A")):
        fail("time to limit for the flat container: %s" % runs["flat"][("Time to limit", "A")])

    check_what_leaks(runs, prom, leaky, flat, leaky_pid, pending, end)


def check_what_leaks(runs, prom, leaky, flat, leaky_pid, pending, end):
    """memhog's leak is heap: anonymous memory of its one process."""
    # Memory by kind: no layer below 0 (the page cache less shmem is floored).
    for sel_name in ("all", "leaky"):
        for ref in "ABCD":
            for s in runs[sel_name].get(("Memory by kind", ref), []):
                low = min(float(v) for _, v in s["values"])
                if low < 0:
                    fail("memory by kind, %s/%s: %s goes down to %s" % (sel_name, ref, s["metric"], low))
    if ("What leaks", "what") in pending:
        return
    what = runs["all"].get(("What leaks", "what"), [])
    rows = [s for s in what if s["metric"].get("container") == leaky]
    print("what leaks: %s" % [(s["metric"], last(s)) for s in what])
    if len(rows) != 1:
        fail("what leaks: want one row for %s, got %s" % (leaky, [s["metric"] for s in what]))
    for s in rows:
        m = s["metric"]
        if m.get("kind") != "anon":
            fail("what leaks: %s leaks kind %r, want anon (memhog's heap)" % (leaky, m.get("kind")))
        if m.get("process") != "memhog" or m.get("pid") != leaky_pid:
            fail("what leaks: %s's process %r pid %r, want memhog pid %s (leakwatch runs in the "
                 "host's PID namespace here)" % (leaky, m.get("process"), m.get("pid"), leaky_pid))
        # memhog leaks 2 MiB/s: 7200 MiB/h, all of it anonymous.
        if not 0.7 * 7200 < last(s) < 1.3 * 7200:
            fail("what leaks: %s's anonymous memory grows %s MiB/h, want about 7200" % (leaky, last(s)))
    if any(s["metric"].get("container") == flat for s in what):
        fail("what leaks: the flat container %s has a row" % flat)
    # No suspected window says otherwise. A longer one may not name the
    # process yet: it does once it has followed it for half its length.
    body = api(prom, "/api/v1/query", time=end,
               query='leakwatch_container_memory_leak_info{name="%s"}' % leaky)
    infos = body.get("data", {}).get("result", [])
    if not infos:
        fail("no leak_info for %s although it is suspected" % leaky)
    for s in infos:
        if s["metric"].get("kind") != "anon" or s["metric"].get("process", "memhog") != "memhog":
            fail("leak_info for %s: %s, want kind anon, process memhog or none yet" % (leaky, s["metric"]))
    for s in runs["all"].get(("Leak slope by kind", "A"), []):
        if s["metric"].get("kind") not in KINDS:
            fail("leak slope by kind: unknown kind in %s" % s["metric"])


if __name__ == "__main__":
    main(*sys.argv[1:])
    if failures:
        print("%d failure(s)" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("dashboard: every query ran, core panels have data")
