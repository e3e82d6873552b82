#!/usr/bin/env python3
"""Labelled synthetic memory traces for the leak estimator's benchmark.

Writes one CSV per trace (time,working_set,rss,cache,usage,limit, and
with --kinds also shmem,kernel,active_file,inactive_file,mapped_file) and
labels.json: for each file, whether it leaks, the leak's onset (Unix
seconds) and the pattern. Every pattern docs/leak-detection.md describes
(the leaks and the look-alikes that are not) is covered, each with
randomised interval (1-15 s), duration (1-8 h), limit, noise and GC
amplitude. A trace "leaks" exactly when the memory that survives GC (page
cache excluded) rises at >= 2 % of the limit per hour from the onset to the
end (or until the OOM kill), steadily or in steps never given back.

    gen_traces.py OUT_DIR [--seed N] [--count-per-pattern K] [--kinds]
                  [--suite default|broad]

--suite broad draws every parameter from wide continuous ranges (see the
section "the broad suite" below and docs/leak-detection.md, "How the
benchmark is kept honest"): growth log-uniform over 1-150 %/h labelled by
its rate, the gray band (1.5-2 %/h) labelled "gray": true, warm-ups of
every shape, heap steps that stop and that keep coming, late onsets, and
labels with container_start and time_to_limit_s. Without it the traces
are byte for byte those of earlier versions.

--kinds splits the memory into the kinds the daemon reads (anonymous,
shmem, kernel, page cache) and adds the patterns only they show: leaks of
shmem (files in a tmpfs) and of kernel memory, and a tmpfs cache that
rotates. Without it the traces are exactly those of earlier versions.

Different seeds give different traces from the same families; tune on one
seed and report on another.
"""
import argparse
import json
import math
import os
import random

MiB = 1024 * 1024
T0 = 1_700_000_000  # Unix seconds of every trace's first sample


class Trace:
    """Builds a trace sample by sample from a baseline function plus GC."""

    def __init__(self, rng, duration_s=None, interval_s=None, limit=None):
        self.rng = rng
        self.interval = interval_s or rng.choice([1, 2, 5, 5, 10, 15])
        self.duration = duration_s or rng.uniform(1, 8) * 3600
        self.limit = limit or rng.choice([256, 512, 1024, 2048, 4096, 8192]) * MiB
        self.n = int(self.duration / self.interval)
        # Runtime shape: GC sawtooth period and amplitude, noise.
        self.gc_period = rng.choice([0, 5, 15, 30, 60, 120, 300])  # 0: no GC
        self.gc_amp = rng.uniform(0.01, 0.15) * self.limit if self.gc_period else 0
        self.noise = rng.uniform(0.0005, 0.005) * self.limit
        self.base = rng.uniform(0.1, 0.4) * self.limit
        self.cache0 = rng.uniform(0.01, 0.1) * self.limit
        self.gc_phase = rng.uniform(0, 1)

    def times(self):
        for i in range(self.n):
            yield i * self.interval

    def gc(self, t):
        if not self.gc_period:
            return 0.0
        # Allocation ramps up between collections, a collection drops it
        # back. The period wanders by +-20 % with load; the phase is
        # integrated so every tooth lasts about one period.
        jitter = 1 + 0.2 * math.sin(t / (self.gc_period * 7.3))
        self.gc_phase += self.interval / (self.gc_period * jitter)
        return self.gc_amp * (self.gc_phase % 1.0)

    def write(self, path, baseline, cache=None, restart_at=(), kinds=False, kind="anon"):
        """baseline(t) -> bytes that survive GC; cache(t) -> page cache.

        With kinds, what the baseline gains over self.base goes to `kind`
        (anon, shmem or kernel) and the other kinds stay at small levels
        with their own noise; shmem is counted in the cache, as the kernel
        counts it."""
        rng = self.rng
        shmem0, kernel0 = 0.01 * self.limit, 0.02 * self.limit
        with open(path, "w") as f:
            f.write("time,working_set,rss,cache,usage,limit")
            f.write(",shmem,kernel,active_file,inactive_file,mapped_file\n" if kinds else "\n")
            for t in self.times():
                surviving = baseline(t)
                grown = surviving - self.base if kinds and kind != "anon" else 0.0
                rss = surviving - grown + self.gc(t) + rng.gauss(0, self.noise)
                rss = max(rss, 4 * MiB)
                c = cache(t) if cache else self.cache0
                c = max(0.0, c + rng.gauss(0, self.noise / 4))
                shmem = kernel = 0.0
                if kinds:
                    shmem = shmem0 + (grown if kind == "shmem" else 0.0) + abs(rng.gauss(0, self.noise / 8))
                    kernel = kernel0 + (grown if kind == "kernel" else 0.0) + abs(rng.gauss(0, self.noise / 8))
                # Page cache fills what the rest leaves, up to the limit,
                # as the kernel's reclaim would allow.
                c = min(c, max(0.0, self.limit - rss - shmem - kernel))
                inactive = 0.6 * c
                usage = rss + c + shmem + kernel
                ws = max(0.0, usage - inactive)
                f.write("%d,%d,%d,%d,%d,%d" % (T0 + t, ws, rss, c + shmem, usage, self.limit))
                if kinds:
                    f.write(",%d,%d,%d,%d,%d\n" % (shmem, kernel, c - inactive, inactive, 0.3 * c))
                else:
                    f.write("\n")


def per_hour(limit, pct):
    return limit * pct / 100.0 / 3600.0


# ---- healthy patterns --------------------------------------------------


def healthy_sawtooth(rng, tr):
    tr.gc_period = rng.choice([5, 15, 30, 60, 120, 300, 600])
    tr.gc_amp = rng.uniform(0.02, 0.25) * tr.limit
    return (lambda t: tr.base), None, None


def healthy_page_cache(rng, tr):
    rate = per_hour(tr.limit, rng.uniform(5, 60))
    return (lambda t: tr.base), (lambda t: tr.cache0 + rate * t), None


def healthy_warmup(rng, tr):
    rise = rng.uniform(0.05, 0.35) * tr.limit
    if rng.random() < 0.5:
        tau = rng.uniform(60, 900)  # JIT, caches: fast then levelling off
        return (lambda t: tr.base + rise * (1 - math.exp(-t / tau))), None, None
    ramp = rng.uniform(120, 600)  # a cache filling to its bound
    return (lambda t: tr.base + rise * min(1.0, t / ramp)), None, None


def healthy_bursts(rng, tr):
    period = rng.uniform(600, 3600)
    length = rng.uniform(0.1, 0.5) * period
    height = rng.uniform(0.05, 0.3) * tr.limit
    ramp = rng.uniform(10, 120)
    offset = rng.uniform(0, period)

    def base(t):
        x = (t + offset) % period
        if x < length:
            return tr.base + height * min(1.0, x / ramp)
        # Back to the baseline within a few minutes after the burst.
        return tr.base + height * max(0.0, 1 - (x - length) / ramp)

    return base, None, None


def healthy_batch(rng, tr):
    period = rng.uniform(900, 3600)
    length = rng.uniform(30, 300)
    height = rng.uniform(0.1, 0.5) * tr.limit
    offset = rng.uniform(0, period)
    return (lambda t: tr.base + (height if (t + offset) % period < length else 0)), None, None


def healthy_step(rng, tr):
    at = rng.uniform(0.1, 0.9) * tr.duration
    height = rng.uniform(0.05, 0.35) * tr.limit
    ramp = rng.choice([0, 30, 120, 300])
    return (lambda t: tr.base + height * min(1.0, max(0.0, (t - at) / ramp) if ramp else (1.0 if t >= at else 0.0))), None, None


def healthy_drift(rng, tr):
    # Like the Node.js SSR server measured under bursty load: growth below
    # 1.5 % of the limit per hour, sometimes given back at the end.
    rate = per_hour(tr.limit, rng.uniform(0.3, 1.4))
    back = rng.random() < 0.5
    giveback = rng.uniform(0.6, 0.9) * tr.duration

    def base(t):
        if back and t > giveback:
            return tr.base + rate * giveback * 0.3
        return tr.base + rate * t

    return base, None, None


def healthy_restart(rng, tr):
    at = rng.uniform(0.3, 0.8) * tr.duration
    warm = rng.uniform(0.05, 0.2) * tr.limit
    return (lambda t: tr.base + (warm if t < at else warm * min(1, (t - at) / 300))), None, None


# ---- leaking patterns --------------------------------------------------


def leak_rate(rng, tr):
    # Mostly clear leaks, some near the 2 %/h line.
    pct = rng.choice([rng.uniform(2.2, 5), rng.uniform(5, 20), rng.uniform(20, 120)])
    return pct


def capped(tr, f):
    """The leak runs into the limit: the process is OOM-killed and starts
    over (memory falls back), then leaks again."""
    room = tr.limit * 0.95

    def g(t):
        return f(t)

    return g, room


def leak_linear(rng, tr):
    pct = leak_rate(rng, tr)
    rate = per_hour(tr.limit, pct)
    return (lambda t: tr.base + rate * t), 0.0, pct


def leak_midlife(rng, tr):
    pct = leak_rate(rng, tr)
    rate = per_hour(tr.limit, pct)
    onset = rng.uniform(0.2, 0.6) * tr.duration
    return (lambda t: tr.base + rate * max(0.0, t - onset)), onset, pct


def leak_slow(rng, tr):
    tr.duration = rng.uniform(4, 8) * 3600
    tr.n = int(tr.duration / tr.interval)
    pct = rng.uniform(2.2, 4.0)
    rate = per_hour(tr.limit, pct)
    return (lambda t: tr.base + rate * t), 0.0, pct


def leak_staircase(rng, tr):
    # Grows only during load bursts and never gives it back.
    period = rng.uniform(300, 1800)
    length = rng.uniform(0.2, 0.5) * period
    pct = leak_rate(rng, tr)
    tr.step_period = period  # for the label: a window must see two steps
    step = per_hour(tr.limit, pct) * period  # per burst, so the mean rate is pct
    transient = rng.uniform(0, 0.1) * tr.limit  # burst memory that does come back
    offset = rng.uniform(0, period)

    def base(t):
        k, x = divmod(t + offset, period)
        retained = step * k + (step * min(1.0, x / length) if x < length else step)
        burst = transient if x < length else 0
        return tr.base + retained - step * (offset // period) + burst

    return base, 0.0, pct


def leak_after_warmup(rng, tr):
    pct = leak_rate(rng, tr)
    rate = per_hour(tr.limit, pct)
    rise = rng.uniform(0.05, 0.2) * tr.limit
    tau = rng.uniform(60, 600)
    onset = rng.uniform(0.15, 0.4) * tr.duration
    return (lambda t: tr.base + rise * (1 - math.exp(-t / tau)) + rate * max(0.0, t - onset)), onset, pct


def leak_with_cache(rng, tr):
    pct = leak_rate(rng, tr)
    rate = per_hour(tr.limit, pct)
    crate = per_hour(tr.limit, rng.uniform(5, 40))
    return (lambda t: tr.base + rate * t), 0.0, pct, (lambda t: tr.cache0 + crate * t)


# ---- what only the kinds show (--kinds) -------------------------------


def healthy_tmpfs_rotate(rng, tr):
    # A cache of files in a tmpfs: fills to its bound within minutes, then
    # deletes its oldest file for each new one (shmem goes up and down by
    # a file's size around the bound). The fill is shorter than the
    # shortest window: a fill as long as a window is, to that window, a
    # leak (as a heap's warm-up is), and is counted with the warm-ups.
    bound = rng.uniform(0.05, 0.2) * tr.limit
    fill = rng.uniform(60, 300)
    file = bound / rng.choice([10, 20, 50])
    return (lambda t: tr.base + min(1.0, t / fill) * bound - file * ((t / 30.0) % 1.0)), None, None


def leak_shmem(rng, tr):
    return leak_linear(rng, tr)


def leak_kernel(rng, tr):
    return leak_linear(rng, tr)


# Where each pattern's growth goes with --kinds (anon when not named).
KIND_OF = {"tmpfs_rotate": "shmem", "shmem": "shmem", "kernel": "kernel"}
HEALTHY_KINDS = {"tmpfs_rotate": healthy_tmpfs_rotate}
LEAKING_KINDS = {"shmem": leak_shmem, "kernel": leak_kernel}

HEALTHY = {
    "sawtooth": healthy_sawtooth,
    "page_cache": healthy_page_cache,
    "warmup": healthy_warmup,
    "bursts": healthy_bursts,
    "batch": healthy_batch,
    "step": healthy_step,
    "drift": healthy_drift,
    "restart": healthy_restart,
}
LEAKING = {
    "linear": leak_linear,
    "midlife": leak_midlife,
    "slow": leak_slow,
    "staircase": leak_staircase,
    "after_warmup": leak_after_warmup,
    "with_cache": leak_with_cache,
}


# ---- the broad suite (--suite broad) ------------------------------------
#
# Every parameter from a wide, continuous range, so that no threshold sits
# in a gap of the generator: a leaking pattern's growth is log-uniform over
# 1-150 % of the limit per hour and the trace is labelled by it (>= 2 %/h a
# leak, 1.5-2 %/h the gray band, below 1.5 %/h healthy); sampling is any
# whole second from 1 to 15; every trace has a GC sawtooth of its own
# period (3 s-10 min) and amplitude (1-20 % of the limit); warm-ups come in
# every shape, JVM-like heap steps that stop are healthy and steps that
# keep coming are a leak. The default suite above is untouched, so that
# old tables can be reproduced byte for byte.

HEALTHY_BELOW = 1.5  # %/h: slower growth is never a leak
LEAK_FROM = 2.0  # %/h: faster growth that keeps going is a leak


def log_uniform(rng, lo, hi):
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


class BroadTrace(Trace):
    def __init__(self, rng):
        self.rng = rng
        self.interval = rng.randint(1, 15)
        self.duration = rng.uniform(1, 8) * 3600
        self.limit = int(log_uniform(rng, 256, 8192)) * MiB
        self.n = int(self.duration / self.interval)
        self.gc_period = log_uniform(rng, 3, 600)
        self.gc_amp = rng.uniform(0.01, 0.2) * self.limit
        self.noise = log_uniform(rng, 0.0003, 0.006) * self.limit
        self.base = rng.uniform(0.08, 0.35) * self.limit
        self.cache0 = rng.uniform(0.01, 0.1) * self.limit
        self.gc_phase = rng.uniform(0, 1)

    def set_duration(self, seconds):
        self.duration = seconds
        self.n = int(seconds / self.interval)

    def set_limit(self, limit):
        """A pattern's own limit: what was drawn as a share of the limit
        keeps its share."""
        k = limit / self.limit
        self.limit = limit
        self.gc_amp *= k
        self.noise *= k
        self.base *= k
        self.cache0 *= k

    def fit_base(self, headroom):
        """Keeps base + GC + headroom below 85 % of the limit."""
        self.base = max(0.03 * self.limit, min(self.base, 0.85 * self.limit - self.gc_amp - headroom))


def warmup_shape(rng, tr):
    """A warm-up from the container's start that levels off at 5-30 % of the
    limit: -> (f(t) the memory it adds, the time it ends, its shape)."""
    rise = rng.uniform(0.05, 0.30) * tr.limit
    tr.fit_base(rise)
    shape = rng.choice(["linear", "exp", "steps", "combo"])
    if shape == "linear":  # a cache filling to its bound
        ramp = rng.uniform(10, 30) * 60 if rng.random() < 0.7 else rng.uniform(3, 45) * 60
        return (lambda t: rise * min(1.0, t / ramp)), ramp, shape
    if shape == "exp":  # JIT, caches: fast, then levelling off
        tau = rng.uniform(5, 15) * 60 if rng.random() < 0.7 else log_uniform(rng, 1, 25) * 60
        return (lambda t: rise * (1 - math.exp(-t / tau))), 4 * tau, shape
    if shape == "steps":  # pools, arenas, heap regions committed at once
        k = rng.randint(1, 4)
        at = sorted(rng.uniform(0, 30 * 60) for _ in range(k))
        size = [rng.uniform(0.5, 1.5) for _ in range(k)]
        size = [rise * x / sum(size) for x in size]
        ramp = rng.uniform(0, 60)
        return (lambda t: sum(s * min(1.0, max(0.0, (t - a) / ramp) if ramp else float(t >= a))
                              for a, s in zip(at, size))), at[-1] + ramp, shape
    # combo: an exponential approach, a linear fill and a step
    w = [rng.uniform(0.2, 1) for _ in range(3)]
    w = [x / sum(w) for x in w]
    tau = rng.uniform(3, 15) * 60
    ramp = rng.uniform(5, 30) * 60
    at = rng.uniform(1, 25) * 60
    return (lambda t: rise * (w[0] * (1 - math.exp(-t / tau)) + w[1] * min(1.0, t / ramp)
                              + w[2] * float(t >= at))), max(4 * tau, ramp, at), shape


def heap_steps(rng, count, lo_gap, hi_gap, first):
    """Step times and sizes of a JVM's committed heap: 10-80 MiB each."""
    at, size, t = [], [], first
    for _ in range(count):
        at.append(t)
        size.append(rng.uniform(10, 80) * MiB)
        t += rng.uniform(lo_gap, hi_gap)
    return at, size


def stepped(at, size, ramp):
    def f(t):
        total = 0.0
        for a, s in zip(at, size):
            if t < a:
                break
            total += s * (min(1.0, (t - a) / ramp) if ramp else 1.0)
        return total
    return f


# Healthy: -> (baseline, cache or None, extra label fields).

def b_healthy_sawtooth(rng, tr):
    tr.gc_period = log_uniform(rng, 3, 900)
    tr.gc_amp = rng.uniform(0.02, 0.25) * tr.limit
    tr.fit_base(0)
    return (lambda t: tr.base), None, {}


def b_healthy_page_cache(rng, tr):
    rate = per_hour(tr.limit, log_uniform(rng, 3, 80))
    return (lambda t: tr.base), (lambda t: tr.cache0 + rate * t), {}


def b_healthy_page_cache_small(rng, tr):
    # A small limit filled by page cache within the trace: the reclaimable
    # part must never count.
    tr.set_limit(256 * MiB)
    tr.interval = 15
    tr.gc_amp = rng.uniform(0.01, 0.1) * tr.limit
    tr.noise = log_uniform(rng, 0.0003, 0.004) * tr.limit
    tr.base = rng.uniform(0.1, 0.3) * tr.limit
    tr.cache0 = rng.uniform(0.01, 0.05) * tr.limit
    tr.set_duration(rng.uniform(3, 6) * 3600)
    rate = per_hour(tr.limit, log_uniform(rng, 5, 60))
    return (lambda t: tr.base), (lambda t: tr.cache0 + rate * t), {}


def b_healthy_warmup(rng, tr):
    f, end, shape = warmup_shape(rng, tr)
    tr.set_duration(max(tr.duration, end + rng.uniform(45, 120) * 60))
    return (lambda t: tr.base + f(t)), None, {"warmup_shape": shape, "warmup_end_s": round(end)}


def b_healthy_jvm_steps(rng, tr):
    # G1 sizing the heap under -Xmx: a few steps of 10-80 MiB, 5-40 minutes
    # apart, that stop.
    tr.set_limit(rng.choice([256, 384, 512, 768, 1024]) * MiB)
    at, size = heap_steps(rng, rng.randint(2, 6), 5 * 60, 40 * 60, rng.uniform(1, 10) * 60)
    bound = 0.55 * tr.limit  # the committed heap stays under -Xmx
    scale = min(1.0, bound / sum(size))
    size = [s * scale for s in size]
    tr.gc_amp = rng.uniform(0.01, 0.1) * tr.limit
    tr.fit_base(sum(size))
    tr.set_duration(max(tr.duration, at[-1] + rng.uniform(60, 150) * 60))
    f = stepped(at, size, rng.uniform(0, 30))
    return (lambda t: tr.base + f(t)), None, {"heap_steps": len(at), "last_step_s": round(at[-1])}


def b_healthy_step(rng, tr):
    at = rng.uniform(0.1, 0.9) * tr.duration
    height = rng.uniform(0.05, 0.35) * tr.limit
    tr.fit_base(height)
    ramp = rng.uniform(0, 300)
    return (lambda t: tr.base + height * min(1.0, max(0.0, (t - at) / ramp) if ramp else float(t >= at))), None, {}


def b_healthy_drift(rng, tr):
    rate = per_hour(tr.limit, rng.uniform(0.2, HEALTHY_BELOW))
    back = rng.random() < 0.5
    giveback = rng.uniform(0.6, 0.9) * tr.duration

    def base(t):
        if back and t > giveback:
            return tr.base + rate * giveback * 0.3
        return tr.base + rate * t

    return base, None, {}


def b_wrap(make):
    def f(rng, tr):
        base, cache, _ = make(rng, tr)
        return base, cache, {}
    return f


B_HEALTHY = {
    "sawtooth": b_healthy_sawtooth,
    "page_cache": b_healthy_page_cache,
    "page_cache_small": b_healthy_page_cache_small,
    "warmup": b_healthy_warmup,
    "jvm_steps": b_healthy_jvm_steps,
    "bursts": b_wrap(healthy_bursts),
    "batch": b_wrap(healthy_batch),
    "step": b_healthy_step,
    "drift": b_healthy_drift,
    "restart": b_wrap(healthy_restart),
}
B_HEALTHY_KINDS = {"tmpfs_rotate": b_wrap(healthy_tmpfs_rotate)}


# Growing: -> (baseline, onset s, %/h, cache or None, extra label fields).
# The rate is drawn by b_rate; the label follows from it.

def b_rate(rng):
    return log_uniform(rng, 1, 150)


def b_leak_linear(rng, tr):
    pct = b_rate(rng)
    rate = per_hour(tr.limit, pct)
    return (lambda t: tr.base + rate * t), 0.0, pct, None, {}


def b_leak_late_onset(rng, tr):
    onset = rng.uniform(50, 170) * 60
    tr.set_duration(rng.uniform(max(2.0, onset / 3600 + 0.75), 8) * 3600)
    pct = b_rate(rng)
    rate = per_hour(tr.limit, pct)
    return (lambda t: tr.base + rate * max(0.0, t - onset)), onset, pct, None, {}


def b_leak_midlife(rng, tr):
    onset = rng.uniform(0.2, 0.6) * tr.duration
    pct = b_rate(rng)
    rate = per_hour(tr.limit, pct)
    return (lambda t: tr.base + rate * max(0.0, t - onset)), onset, pct, None, {}


def b_leak_slow(rng, tr):
    tr.set_duration(rng.uniform(3, 8) * 3600)
    pct = rng.uniform(1.0, 4.0)
    rate = per_hour(tr.limit, pct)
    return (lambda t: tr.base + rate * t), 0.0, pct, None, {}


def b_leak_slow_2h(rng, tr):
    # The miss: 2 %/h sampled every 15 s for 2 hours.
    tr.interval = 15
    tr.set_duration(2 * 3600)
    pct = rng.uniform(2.0, 2.6)
    rate = per_hour(tr.limit, pct)
    return (lambda t: tr.base + rate * t), 0.0, pct, None, {}


def b_leak_staircase(rng, tr):
    # Grows only during load bursts, steps every 5-40 minutes, never given
    # back; half of them the shape (2-3 h at 5-15 s samples).
    if rng.random() < 0.5:
        tr.interval = rng.randint(5, 15)
        tr.set_duration(rng.uniform(2, 3) * 3600)
    period = rng.uniform(5, 40) * 60
    length = rng.uniform(0.2, 0.5) * period
    pct = b_rate(rng)
    tr.step_period = period
    step = per_hour(tr.limit, pct) * period
    transient = rng.uniform(0, 0.1) * tr.limit
    tr.fit_base(transient)
    tr.transient = transient  # the OOM kill comes before the burst passes the limit
    offset = rng.uniform(0, period)

    def base(t):
        k, x = divmod(t + offset, period)
        retained = step * k + (step * min(1.0, x / length) if x < length else step)
        burst = transient if x < length else 0
        return tr.base + retained - step * (offset // period) + burst

    return base, 0.0, pct, None, {}


def b_leak_after_warmup(rng, tr):
    f, end, shape = warmup_shape(rng, tr)
    onset = end + rng.uniform(0, 60) * 60
    tr.set_duration(max(tr.duration, onset + rng.uniform(60, 180) * 60))
    pct = b_rate(rng)
    rate = per_hour(tr.limit, pct)
    return (lambda t: tr.base + f(t) + rate * max(0.0, t - onset)), onset, pct, None, \
        {"warmup_shape": shape, "warmup_end_s": round(end)}


def b_leak_with_cache(rng, tr):
    pct = b_rate(rng)
    rate = per_hour(tr.limit, pct)
    crate = per_hour(tr.limit, log_uniform(rng, 3, 60))
    return (lambda t: tr.base + rate * t), 0.0, pct, (lambda t: tr.cache0 + crate * t), {}


def b_leak_jvm(rng, tr):
    # Heap steps of 10-80 MiB every 5-40 minutes that keep coming (a leak
    # under -Xmx: the heap grows until it is full).
    tr.set_limit(rng.choice([256, 384, 512, 768, 1024, 2048]) * MiB)
    tr.gc_amp = rng.uniform(0.01, 0.1) * tr.limit
    tr.fit_base(0.1 * tr.limit)
    lo, hi = 5 * 60, rng.uniform(6, 40) * 60
    at, size = heap_steps(rng, int(tr.duration / lo) + 2, lo, hi, rng.uniform(1, 10) * 60)
    pct = (sum(size) / len(size)) / ((lo + hi) / 2) * 3600 / tr.limit * 100
    tr.step_period = (lo + hi) / 2
    f = stepped(at, size, rng.uniform(0, 30))
    return (lambda t: tr.base + f(t)), 0.0, pct, None, {"heap_steps_until_end": True}


B_LEAKING = {
    "linear": b_leak_linear,
    "late_onset": b_leak_late_onset,
    "midlife": b_leak_midlife,
    "slow": b_leak_slow,
    "slow_2h": b_leak_slow_2h,
    "staircase": b_leak_staircase,
    "after_warmup": b_leak_after_warmup,
    "with_cache": b_leak_with_cache,
    "jvm_heap": b_leak_jvm,
}
def b_leak_near_line(rng, tr):
    # Growth on both sides of the gray band, from the start or from a
    # later onset: where the estimator's thresholds sit.
    pct = rng.uniform(1.2, 2.6)
    rate = per_hour(tr.limit, pct)
    tr.set_duration(max(tr.duration, 2.5 * 3600))
    onset = 0.0 if rng.random() < 0.5 else rng.uniform(0.1, 0.4) * tr.duration
    return (lambda t: tr.base + rate * max(0.0, t - onset)), onset, pct, None, {}


B_LEAKING["near_line"] = b_leak_near_line
B_LEAKING_KINDS = {"shmem": b_leak_linear, "kernel": b_leak_linear}


def judge(pct):
    """A growth rate's label: "leak", "gray" or "healthy"."""
    if pct >= LEAK_FROM:
        return "leak"
    return "gray" if pct >= HEALTHY_BELOW else "healthy"


def broad_suite(args):
    labels = {}
    healthy, growing = dict(B_HEALTHY), dict(B_LEAKING)
    if args.kinds:
        healthy.update(B_HEALTHY_KINDS)
        growing.update(B_LEAKING_KINDS)
    for group, patterns in (("healthy", healthy), ("leak", growing)):
        for name, make in patterns.items():
            for k in range(args.count_per_pattern):
                rng = random.Random("broad-%d-%s-%s-%d" % (args.seed, group, name, k))
                tr = BroadTrace(rng)
                onset = pct = ttl = None
                if group == "healthy":
                    base, cache, extra = make(rng, tr)
                    verdict = "healthy"
                else:
                    base, onset, pct, cache, extra = make(rng, tr)
                    verdict = judge(pct)
                    rate = per_hour(tr.limit, pct)
                    at_onset = base(onset)
                    # Time to the limit: from the onset, at the leak's rate,
                    # from the baseline at the onset (what survives GC) to
                    # the limit.
                    ttl = (tr.limit - at_onset) / rate
                    room = 0.92 * tr.limit - at_onset - tr.gc_amp - getattr(tr, "transient", 0.0)
                    leak_base = base
                    if room > 0:
                        cycle = room / rate
                        tr.oom_after = cycle

                        def base(t, leak_base=leak_base, onset=onset, cycle=cycle):
                            if t <= onset + cycle:
                                return leak_base(t)
                            return leak_base(onset + (t - onset) % cycle)

                file = "%s-%s-%02d.csv" % (verdict, name, k)
                kind = KIND_OF.get(name, "anon")
                tr.write(os.path.join(args.out, file), base, cache, kinds=args.kinds, kind=kind)
                label = {
                    "suite": "broad",
                    "leaking": verdict == "leak",
                    "gray": verdict == "gray",
                    "onset": T0 + onset if onset is not None and verdict != "healthy" else None,
                    "container_start": T0,
                    "pattern": name,
                    "growth_pct_per_hour": round(pct, 3) if pct is not None else None,
                    "time_to_limit_s": round(ttl) if ttl is not None and verdict != "healthy" else None,
                    "interval_s": tr.interval,
                    "duration_h": round(tr.duration / 3600, 2),
                    "limit_mib": tr.limit // MiB,
                    "gc_period_s": round(tr.gc_period, 1),
                    "gc_amp_frac": round(tr.gc_amp / tr.limit, 4),
                    "noise_frac": round(tr.noise / tr.limit, 5),
                    "step_period_s": round(getattr(tr, "step_period", 0)),
                    "oom_after_s": round(getattr(tr, "oom_after", 0)) or None,
                }
                label.update(extra)
                if args.kinds:
                    label["kind"] = kind
                labels[file] = label
    return labels


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count-per-pattern", type=int, default=8)
    ap.add_argument("--kinds", action="store_true",
                    help="write the memory kinds and add the patterns only they show")
    ap.add_argument("--suite", choices=["default", "broad"], default="default",
                    help="broad: every parameter from wide continuous ranges, the gray band "
                         "labelled (default: the traces of earlier versions, byte for byte)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.suite == "broad":
        labels = broad_suite(args)
        with open(os.path.join(args.out, "labels.json"), "w") as f:
            json.dump(labels, f, indent=1, sort_keys=True)
        print("%d traces in %s (%d leaking, %d gray)" % (
            len(labels), args.out, sum(l["leaking"] for l in labels.values()),
            sum(l["gray"] for l in labels.values())))
        return
    labels = {}
    healthy, leaking = dict(HEALTHY), dict(LEAKING)
    if args.kinds:
        healthy.update(HEALTHY_KINDS)
        leaking.update(LEAKING_KINDS)
    for family, patterns in (("healthy", healthy), ("leak", leaking)):
        for name, make in patterns.items():
            for k in range(args.count_per_pattern):
                rng = random.Random("%d-%s-%s-%d" % (args.seed, family, name, k))
                tr = Trace(rng)
                made = make(rng, tr)
                cache = None
                onset = None
                pct = None
                if family == "healthy":
                    base, cache, _ = made
                else:
                    if len(made) == 4:
                        base, onset, pct, cache = made
                    else:
                        base, onset, pct = made
                    # The OOM killer ends a leak at the limit; the process
                    # restarts and leaks again.
                    rate = per_hour(tr.limit, pct)
                    room = 0.92 * tr.limit - tr.base - tr.gc_amp
                    leak_base = base
                    if rate > 0 and room > 0:
                        cycle = room / rate
                        tr.oom_after = cycle

                        def base(t, leak_base=leak_base, onset=onset, cycle=cycle):
                            if t <= onset + cycle:
                                return leak_base(t)
                            since = (t - onset) % cycle
                            return leak_base(onset + since) if since > 0 else leak_base(onset)

                file = "%s-%s-%02d.csv" % (family, name, k)
                kind = KIND_OF.get(name, "anon")
                tr.write(os.path.join(args.out, file), base, cache, kinds=args.kinds, kind=kind)
                labels[file] = {
                    "leaking": family == "leak",
                    "onset": T0 + onset if onset is not None else None,
                    "pattern": name,
                    "growth_pct_per_hour": pct,
                    "interval_s": tr.interval,
                    "duration_h": round(tr.duration / 3600, 2),
                    "limit_mib": tr.limit // MiB,
                    # What a detector has to see through, for the "shortest
                    # window that can see the leak" (score.py).
                    "gc_period_s": tr.gc_period,
                    "gc_amp_frac": round(tr.gc_amp / tr.limit, 4),
                    "noise_frac": round(tr.noise / tr.limit, 5),
                    "step_period_s": round(getattr(tr, "step_period", 0)),
                    "oom_after_s": round(getattr(tr, "oom_after", 0)) or None,
                }
                if args.kinds:
                    labels[file]["kind"] = kind
    with open(os.path.join(args.out, "labels.json"), "w") as f:
        json.dump(labels, f, indent=1, sort_keys=True)
    print("%d traces in %s" % (len(labels), args.out))


if __name__ == "__main__":
    main()
