#!/usr/bin/env python3
"""Helpers for page_browser.sh and api.sh. Standard library only.

    page_tools.py prepare ROOT LEAK_ID CACHE_ID [BLIND_ID]
        rewrites two (or three) containers' memory files in a copied v2
        fixture tree in a fixed-width form, so that `grow` can overwrite
        them in place
    page_tools.py grow ROOT LEAK_ID CACHE_ID [BLIND_ID]
        until killed, every 50 ms: LEAK_ID's anonymous memory rises 4 MiB/s
        under a garbage collector's sawtooth; CACHE_ID's page cache rises
        3 MiB/s over flat anonymous memory (growth that is not a leak);
        BLIND_ID's flat memory is collected every 8 s, too seldom for a
        20 s window to see a trough in each quarter
    page_tools.py wait-verdict BASE_URL ID WINDOW VERDICT SECONDS
        polls /api/v1/containers/ID until WINDOW's verdict is VERDICT
    page_tools.py check-dom DOM_FILE METRICS_FILE LEAK_ID CACHE_ID WINDOW [BLIND_ID]
        asserts what the page shows after its scripts ran (see check_dom)
    page_tools.py check-judging DOM_FILE WINDOW
        asserts that every container reads "judging" in a window too long
        for the history so far
    page_tools.py check-netlog NETLOG_FILE ORIGIN
        asserts that the browser requested nothing but ORIGIN's URLs
    page_tools.py check-api BASE_URL METRICS_FILE
        asserts that the API agrees with /metrics (see check_api)
    page_tools.py normalize
        reads /api/v1/containers JSON on stdin and writes it with the
        volatile fields (times, whether sampling is current) replaced and
        indented, for the golden file

The daemon keeps its cgroup files open and re-reads them with pread, so a
file must be overwritten in place (a rename would leave the daemon reading
the old inode) and never be seen empty (a truncating write could be): every
value is zero-padded to one width, and each file is written once with
os.pwrite at offset 0.
"""
import html.parser
import json
import math
import os
import re
import sys
import time
import urllib.error
import urllib.request

MIB = 1024 * 1024
WIDTH = 12  # digits: up to ~931 GiB


def page_round(v):
    return int(v) // 4096 * 4096


def container_dir(root, cid):
    return os.path.join(root, "system.slice", "docker-%s.scope" % cid)


def memory_files(anon, file_, inactive_file):
    current = anon + file_ + 2 * MIB  # plus some kernel memory
    num = lambda v: "%0*d" % (WIDTH, page_round(v))
    return {
        "memory.current": num(current) + "\n",
        "memory.stat": "anon %s\nfile %s\ninactive_file %s\nactive_file %s\n" % (
            num(anon), num(file_), num(inactive_file), num(file_ - inactive_file)),
    }


def write_in_place(path, text, truncate=False):
    fd = os.open(path, os.O_WRONLY | (os.O_TRUNC if truncate else 0))
    try:
        os.pwrite(fd, text.encode(), 0)
    finally:
        os.close(fd)


def leak_values(t):
    # A 4 MiB/s leak under a collector that frees 24 MiB every 0.8 s.
    sawtooth = 24 * MIB * ((t / 0.8) % 1.0)
    return memory_files(300 * MIB + 4 * MIB * t + sawtooth, 150 * MIB, 100 * MIB)


def cache_values(t):
    # Page cache filling at 3 MiB/s (a log writer), anonymous memory flat.
    file_ = 40 * MIB + 3 * MIB * t
    return memory_files(120 * MIB + 2 * MIB * math.sin(t), file_, file_ * 0.6)


def blind_values(t):
    # Flat memory, 30 MiB allocated and freed every 8 s: a 20 s window's
    # quarters are 5 s, so some quarter holds no collection. The first
    # collection comes within a second: before it, the allocation ramp is
    # all the window has seen, and a ramp with no collection yet is growth.
    # It stays well under the fixture's 256 MiB limit: there, a fall of a
    # tenth of the limit from 85 % of it reads as an out-of-memory kill.
    return memory_files(100 * MIB + 30 * MIB * ((t / 8.0 + 0.9) % 1.0), 20 * MIB, 10 * MIB)


def writers(leak_id, cache_id, blind_id=None):
    out = [(leak_id, leak_values), (cache_id, cache_values)]
    if blind_id:
        out.append((blind_id, blind_values))
    return out


def prepare(root, leak_id, cache_id, blind_id=None):
    for cid, values in writers(leak_id, cache_id, blind_id):
        for name, text in values(0).items():
            write_in_place(os.path.join(container_dir(root, cid), name), text, truncate=True)


def grow(root, leak_id, cache_id, blind_id=None):
    start = time.monotonic()
    while True:
        t = time.monotonic() - start
        for cid, values in writers(leak_id, cache_id, blind_id):
            for name, text in values(t).items():
                write_in_place(os.path.join(container_dir(root, cid), name), text)
        time.sleep(0.05)


class Dom(html.parser.HTMLParser):
    """The elements of a dumped DOM: tag, attributes, and their text."""

    def __init__(self):
        super().__init__()
        self.elements = []
        self.stack = []

    def handle_starttag(self, tag, attrs):
        e = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(e)
        if tag not in ("meta", "link", "br", "img", "input", "line", "path", "polygon"):
            self.stack.append(e)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        for e in self.stack:
            e["text"] += data


def classes(e):
    return e["attrs"].get("class", "").split()


def metric_ids(metrics_text):
    return set(re.findall(
        r'^leakwatch_container_memory_working_set_bytes\{[^}]*id="([0-9a-f]{64})"',
        metrics_text, re.M))


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def path_points(d):
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]([-0-9.]+),([-0-9.]+)", d)]


def wait_verdict(base, cid, window, want, seconds):
    deadline = time.monotonic() + float(seconds)
    got = None
    while time.monotonic() < deadline:
        status, _, body = get("%s/api/v1/containers/%s" % (base, cid))
        if status == 200:
            got = json.loads(body)["leak"][window]["verdict"]
            if got == want:
                print("ok: the API's %s verdict for %s is %s" % (window, cid[:12], want))
                return
        time.sleep(0.1)
    fail("the API's %s verdict for %s is %r after %s s, want %r" % (window, cid[:12], got, seconds, want))


def badge_text(row_element_index, els):
    """The text of the badge in the row at els[row_element_index]."""
    for e in els[row_element_index + 1:]:
        if e["tag"] == "tr":
            break
        if e["tag"] == "span" and "badge" in classes(e):
            return e["text"]
    return None


def check_judging(dom_file, window):
    with open(dom_file) as f:
        dom = Dom()
        dom.feed(f.read())
    els = dom.elements
    rows = [i for i, e in enumerate(els) if e["tag"] == "tr" and "container" in classes(e)]
    if not rows:
        fail("no container rows in the %s window" % window)
    for i in rows:
        verdict, text = els[i]["attrs"].get("data-verdict"), badge_text(i, els)
        if verdict != "collecting" or text != "judging":
            fail("in the %s window %s reads %r (%r), want judging" % (
                window, els[i]["attrs"].get("data-id", "?")[:12], text, verdict))
    summary = [e for e in els if e["attrs"].get("id") == "summary"][0]["text"]
    if "%d still judging" % len(rows) not in summary:
        fail("summary in the %s window: %r" % (window, summary))
    print("ok: in the %s window all %d containers read judging; summary %r" % (window, len(rows), summary))


def check_dom(dom_file, metrics_file, leak_id, cache_id, window, blind_id=None):
    with open(dom_file) as f:
        dom = Dom()
        dom.feed(f.read())
    with open(metrics_file) as f:
        want = metric_ids(f.read())
    if len(want) < 2:
        fail("expected several containers on /metrics, got %d" % len(want))
    els = dom.elements
    rows = [e for e in els if e["tag"] == "tr" and "container" in classes(e)]
    got = [e["attrs"].get("data-id") for e in rows]
    if sorted(got) != sorted(want):
        fail("the table lists %s, /metrics has %s" % (sorted(got), sorted(want)))
    print("ok: the table lists every container on /metrics (%d)" % len(got))

    by_id = {e["attrs"]["data-id"]: e for e in rows}
    leak = by_id[leak_id]
    if leak["attrs"].get("data-verdict") != "leaking":
        fail("the leaking container's verdict is %r" % leak["attrs"].get("data-verdict"))
    for text in ("lw-rec-web", "debian:bookworm", "web", "MiB/h", "leaking"):
        if text not in leak["text"]:
            fail("the leaking container's row lacks %r: %r" % (text, leak["text"]))
    if got[0] != leak_id:
        fail("the leaking container is not first (sorted by score): %s" % got)
    print("ok: the leak is first, badged leaking, with Docker's name, image and service")
    if by_id[cache_id]["attrs"].get("data-verdict") != "ok":
        fail("growing page cache is judged %r, not ok" % by_id[cache_id]["attrs"].get("data-verdict"))
    print("ok: growing page cache is not a leak")
    if blind_id:
        i = els.index(by_id[blind_id])
        verdict, text = by_id[blind_id]["attrs"].get("data-verdict"), badge_text(i, els)
        if verdict != "no_troughs" or text != "can't see GC troughs":
            fail("a window without a trough in each quarter reads %r (%r), not \"can't see GC troughs\""
                 % (text, verdict))
        print("ok: a window that cannot see its troughs says so, not ok")

    charts = [e for e in els if e["tag"] == "svg" and "chart" in classes(e)]
    chart_ids = [c["attrs"].get("data-id") for c in charts]
    if chart_ids != [leak_id]:
        fail("expected one chart, for the leak (opened by default), got %s" % chart_ids)
    # Elements after the chart's svg and before the next table row are its
    # own: the parser flattens the tree.
    start = els.index(charts[0])
    own = []
    for e in els[start + 1:]:
        if e["tag"] in ("tr", "svg"):
            break
        own.append(e)
    lines = {}
    for e in own:
        if e["tag"] == "path" and "line" in classes(e):
            lines[[c for c in classes(e) if c != "line"][0]] = e
    for name in ("working_set_bytes", "unreclaimable_bytes", "rss_bytes", "cache_bytes"):
        if name not in lines:
            fail("the chart has no %s line" % name)
        n = int(lines[name]["attrs"].get("data-points", "0"))
        if n < 50 or len(path_points(lines[name]["attrs"]["d"])) != n:
            fail("the %s line has %d points" % (name, n))
    trend = [e for e in own if e["tag"] == "path" and "trend" in classes(e)]
    if len(trend) != 1:
        fail("the chart has %d trend lines, want 1" % len(trend))
    (x0, y0), (x1, y1) = path_points(trend[0]["attrs"]["d"])
    # SVG's y grows downwards: a rising line ends higher up.
    if not (x1 > x0 and y1 < y0 - 5):
        fail("the trend line does not rise: %s" % trend[0]["attrs"]["d"])
    print("ok: the chart draws working set, rss and cache (%s points) and a rising trend line"
          % lines["working_set_bytes"]["attrs"]["data-points"])

    summary = [e for e in els if e["attrs"].get("id") == "summary"][0]["text"]
    if not summary.startswith("1 of %d containers leaking in the %s window" % (len(want), window)):
        fail("summary: %r" % summary)
    if blind_id and "1 can't see GC troughs" not in summary:
        fail("summary does not count the blind window: %r" % summary)
    error = [e for e in els if e["attrs"].get("id") == "error"][0]
    if "hidden" not in error["attrs"]:
        fail("the page shows an error: %r" % error["text"])
    updated = [e for e in els if e["attrs"].get("id") == "updated"][0]["text"]
    if "every 50 ms" not in updated or "not current" in updated:
        fail("status line: %r" % updated)
    print("ok: summary %r, status %r, no error shown" % (summary, updated))


def check_netlog(netlog_file, origin):
    """Every request the page made went to the daemon.

    Chromium's NetLog records each request's URL (URL_REQUEST_START_JOB)
    with its network isolation key: the page's own requests carry the
    page's site; the browser's background requests (component updates,
    time queries; they fail, every other host being unresolvable) carry
    none. A page that fetched from a CDN would show that URL under the
    page's key."""
    with open(netlog_file) as f:
        text = f.read()
    try:
        log = json.loads(text)
    except ValueError:
        # A browser stopped mid-write leaves the brackets open.
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    site = re.match(r"https?://[^:/]+", origin).group(0)
    page, background = [], []
    for event in log["events"]:
        params = event.get("params", {})
        if event["type"] != start_job or "url" not in params:
            continue
        key = params.get("network_isolation_key", "")
        (page if key.startswith(site + " ") else background).append(params["url"])
    foreign = sorted(set(u for u in page if not u.startswith(origin + "/")))
    if foreign:
        fail("the page requested URLs outside %s: %s" % (origin, foreign))
    paths = sorted(set(u[len(origin):] for u in page))
    # The filter must have found the page's own requests, or it proves
    # nothing.
    if "/api/v1/containers" not in paths or not any(p.endswith("/series?window=20s") for p in paths):
        fail("the NetLog lacks the page's own requests: %s" % paths)
    print("ok: the page requested only the daemon's URLs: %s (the browser's own "
          "background requests, all unresolvable: %d)" % (", ".join(paths), len(background)))


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def check_api(base, metrics_file):
    with open(metrics_file) as f:
        metrics = f.read()

    def metric(name, cid):
        m = re.search(r'^%s\{[^}]*id="%s"[^}]*\} (\S+)$' % (name, cid), metrics, re.M)
        return None if m is None else float(m.group(1))

    status, headers, body = get(base + "/api/v1/containers")
    if status != 200 or not headers.get("Content-Type", "").startswith("application/json"):
        fail("/api/v1/containers: %d %s" % (status, headers.get("Content-Type")))
    data = json.loads(body)
    ids = [c["id"] for c in data["containers"]]
    if sorted(ids) != sorted(metric_ids(metrics)) or not ids:
        fail("the API lists %s, /metrics has %s" % (ids, sorted(metric_ids(metrics))))
    for c in data["containers"]:
        cid = c["id"]
        for field, name in (("usage_bytes", "usage"), ("working_set_bytes", "working_set"),
                            ("rss_bytes", "rss"), ("cache_bytes", "cache"),
                            ("swap_bytes", "swap"), ("limit_bytes", "limit"),
                            ("shmem_bytes", "shmem"), ("kernel_bytes", "kernel"),
                            ("mapped_file_bytes", "mapped_file"),
                            ("oom_events", "oom_events_total")):
            want = metric("leakwatch_container_memory_" + (name if name.endswith("total") else name + "_bytes"), cid)
            got = c["memory"][field]
            if (want is None) != (got is None) or (got is not None and float(got) != want):
                fail("%s %s: API %r, /metrics %r" % (cid[:12], field, got, want))
        if sorted(c["leak"]) != sorted(data["windows"]):
            fail("%s: verdicts for %s, windows %s" % (cid[:12], sorted(c["leak"]), data["windows"]))
        for w in data["windows"]:
            status, _, body = get("%s/api/v1/containers/%s/series?window=%s" % (base, cid, w))
            if status != 200:
                fail("series %s %s: %d %s" % (cid[:12], w, status, body))
            s = json.loads(body)
            n = len(s["samples"]["t"])
            if n < 2 or any(len(s["samples"][k]) != n for k in ("working_set_bytes", "rss_bytes", "cache_bytes",
                                                               "unreclaimable_bytes")):
                fail("series %s %s: %d samples, ragged arrays" % (cid[:12], w, n))
            if s["samples"]["t"] != sorted(s["samples"]["t"]) or s["samples"]["t"][-1] != s["end"]:
                fail("series %s %s: times out of order or not ending at end" % (cid[:12], w))
            # The fixture does not change: every sample is the current value.
            for k in ("working_set_bytes", "rss_bytes", "cache_bytes"):
                if set(s["samples"][k]) != {c["memory"][k]}:
                    fail("series %s %s %s: %s, current %s" % (cid[:12], w, k, set(s["samples"][k]), c["memory"][k]))
            if s["trend"] is not None or s["leak"]["ready"]:
                fail("series %s %s: a trend before the window is ready" % (cid[:12], w))
    print("ok: %d containers agree with /metrics; every window's series holds their samples" % len(ids))


def normalize():
    data = json.load(sys.stdin)
    data["time"] = 0
    # Whether a pass finished within two intervals depends on the machine's
    # load; its type does not.
    data["sampling_current"] = type(data["sampling_current"]).__name__
    for c in data["containers"]:
        c["started_at"] = 0
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "prepare":
        prepare(*args)
    elif cmd == "grow":
        grow(*args)
    elif cmd == "wait-verdict":
        wait_verdict(*args)
    elif cmd == "check-dom":
        check_dom(*args)
    elif cmd == "check-judging":
        check_judging(*args)
    elif cmd == "check-netlog":
        check_netlog(*args)
    elif cmd == "check-api":
        check_api(*args)
    elif cmd == "normalize":
        normalize()
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
