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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count-per-pattern", type=int, default=8)
    ap.add_argument("--kinds", action="store_true",
                    help="write the memory kinds and add the patterns only they show")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
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
