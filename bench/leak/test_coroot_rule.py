#!/usr/bin/env python3
"""Checks coroot_rule.py on hand-made series whose answer follows from
memory.go's steps by hand (the ctest bench_coroot_rule runs it).

    test_coroot_rule.py    exit 0 when every case holds
"""
import math
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coroot_rule as cr  # noqa: E402

MiB = 1024 * 1024
T0 = 1_700_000_040  # a multiple of 60 (and so of 15)
failures = []


def check(name, cond, detail=""):
    print("%s %s %s" % ("ok  " if cond else "FAIL", name, detail))
    if not cond:
        failures.append(name)


def series(f, hours, interval=5):
    times = [T0 + i * interval for i in range(int(hours * 3600 / interval) + 1)]
    return times, [f(t - T0) for t in times]


def grid(f, to, step=15):
    pts = [to - 3600 + i * step for i in range(241)]  # both ends, as Coroot's cache returns
    return pts, [f(p - T0) for p in pts]


# 1. A perfect line: the value is beta*1h over the fitted value an hour ago.
line = lambda t: 100 * MiB + 30 * MiB * t / 3600  # noqa: E731
to = T0 + 2 * 3600
pts, vals = grid(line, to)
v = cr.memory_growth_pct(pts, vals, 512 * MiB, to)
want = 30 / (100 + 30 * 1.0) * 100  # fitted value at to-1h is 130 MiB
check("line: value is growth over the value an hour ago", abs(v - want) < 1e-6, "%.4f vs %.4f" % (v, want))

# 2. The same growth under a limit 20x larger is under 5 % of the limit: 0.
v = cr.memory_growth_pct(pts, vals, 8192 * MiB, to)
check("line under 8 GiB: growth < 5 % of the limit gives 0", v == 0.0, "%.4f" % v)
# ... and with no limit the floor is 50 MiB: 30 MiB/h gives 0, 60 MiB/h does not.
v = cr.memory_growth_pct(pts, vals, math.nan, to)
check("line, no limit: 30 MiB < 50 MiB floor gives 0", v == 0.0)
pts2, vals2 = grid(lambda t: 100 * MiB + 60 * MiB * t / 3600, to)
v = cr.memory_growth_pct(pts2, vals2, math.nan, to)
check("line, no limit: 60 MiB/h passes the floor", abs(v - 60 / 160 * 100) < 1e-6, "%.4f" % v)

# 3. Under 80 % of the 241 points present (192.8): 0, so a container
#    younger than 48 min is not judged.
check("48 of 241 points missing is judged",
      cr.memory_growth_pct(pts, [math.nan] * 48 + vals[48:], 512 * MiB, to) > 0)
check("49 of 241 points missing gives 0",
      cr.memory_growth_pct(pts, [math.nan] * 49 + vals[49:], 512 * MiB, to) == 0.0)

# 4. A warm-up that has levelled off: the tail's slope is < 0.3 of the
#    whole fit's, so 0, though the whole hour grew by 25 % of the limit.
warm = lambda t: 100 * MiB + 128 * MiB * min(1.0, t / 1800)  # noqa: E731
pts, vals = grid(warm, T0 + 3600)
v = cr.memory_growth_pct(pts, vals, 512 * MiB, T0 + 3600)
check("warm-up that stopped: tail flat gives 0", v == 0.0, "%.4f" % v)

# 5. An OOM kill (a fall below half): only the longest segment is fitted.
#    A leak of 400 MiB per 48 min from 50 MiB, killed 12 min before `to`
#    and 60 min before it: the 48 min between are the segment (192 of the
#    241 points); its line is 50 MiB at to-1h and 50 + 400*60/48 = 550 MiB
#    at to, so the value is 500/50 = 1000 %.
saw = lambda t: 50 * MiB + 400 * MiB * ((t % 2880) / 2880)  # noqa: E731  a kill every 48 min
to = T0 + 2 * 2880 + 720
pts, vals = grid(saw, to)
v = cr.memory_growth_pct(pts, vals, 512 * MiB, to)
check("OOM-killed leak: the longest segment is fitted", abs(v - 1000) < 0.5, "%.2f vs 1000" % v)
# The kill 40 min before `to`: the later 40 min (160 points) are longest.
to = T0 + 2 * 2880 + 2400
pts, vals = grid(saw, to)
v = cr.memory_growth_pct(pts, vals, 512 * MiB, to)
# segment from T0+5760 at 50 MiB: line at to-1h = 50 - 400*20/48, at to = 50 + 400*40/48
s_, e_ = 50 - 400 * 20 / 48, 50 + 400 * 40 / 48
check("OOM-killed leak: the later, longer segment", abs(v - (e_ - s_) / s_ * 100) < 0.5 if s_ > 0
      else abs(v - (e_ - s_) / e_ * 100) < 0.5, "%.2f" % v)

# 6. Falling memory, or a flat line: 0.
pts, vals = grid(lambda t: 400 * MiB - 30 * MiB * t / 3600, T0 + 7200)
check("falling memory gives 0", cr.memory_growth_pct(pts, vals, 512 * MiB, T0 + 7200) == 0.0)
pts, vals = grid(lambda t: 200 * MiB, T0 + 7200)
check("flat memory gives 0", cr.memory_growth_pct(pts, vals, 512 * MiB, T0 + 7200) == 0.0)

# 7. The alert: a 30 MiB/h leak from 100 MiB under 512 MiB, sampled every
#    5 s from T0. The check is first judged at the evaluation where 193 of
#    the 241 points exist: points from to-1h to to at 15 s, present from
#    T0, so to - 3600 + 15*48 <= T0, to = T0 + 2880 (48 min); it fires, is
#    pending from then and the alert fires 15 min later: T0 + 3780.
times, rss = series(line, 3)
first, values = cr.first_firing(times, rss, [512.0 * MiB] * len(times))
judged = [t for t, x in values if x > 0]
check("alert: first judged at the 48th minute", judged and judged[0] == T0 + 2880,
      "first value at %s" % ((judged[0] - T0) / 60 if judged else None))
check("alert: fires 15 min after pending", first == T0 + 2880 + 900, "first=%s" % ((first - T0) / 60 if first else None))

# 8. The same leak under 8 GiB never fires; a healthy sawtooth never fires.
first, _ = cr.first_firing(times, rss, [8192.0 * MiB] * len(times))
check("alert: 30 MiB/h under 8 GiB never fires", first is None)
times, rss = series(lambda t: 200 * MiB + 60 * MiB * ((t % 300) / 300), 3)
first, _ = cr.first_firing(times, rss, [512.0 * MiB] * len(times))
check("alert: a GC sawtooth never fires", first is None)

# 9. for: 15m is reset by one evaluation that does not fire: a leak that
#    pauses for 2 min every 10 min ... here, a value just over the
#    threshold alternating with 0 never fires.
calls = {"n": 0}
orig = cr.memory_growth_pct


def flicker(*a):
    calls["n"] += 1
    return 11.0 if calls["n"] % 10 else 0.0


cr.memory_growth_pct = flicker
times, rss = series(line, 3)
first, _ = cr.first_firing(times, rss, [512.0 * MiB] * len(times))
cr.memory_growth_pct = orig
check("alert: a check that clears every 10th evaluation never fires", first is None)

# 10. Input columns: rss + mapped_file where the CSV has mapped_file.
import tempfile  # noqa: E402
with tempfile.TemporaryDirectory() as d:
    a = os.path.join(d, "a.csv")
    with open(a, "w") as f:
        f.write("time,working_set,rss,cache,usage,limit,shmem,kernel,active_file,inactive_file,mapped_file\n")
        f.write("%d,1,100,5,1,1000,0,0,0,0,7\n%d,1,110,5,1,1000,0,0,0,0,8\n" % (T0, T0 + 5))
    t, v, lim, which = cr.load(a)
    check("input: rss + mapped_file", v == [107.0, 118.0] and which == "rss + mapped_file", str((v, which)))
    b = os.path.join(d, "b.csv")
    with open(b, "w") as f:
        f.write("time,working_set,rss,cache,usage,limit\n%d,1,100,5,1,0\n" % T0)
    t, v, lim, which = cr.load(b)
    check("input: rss alone, limit 0 is none", v == [100.0] and which == "rss" and math.isnan(lim[0]))

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
