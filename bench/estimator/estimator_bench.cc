// The leak estimator's cost per sample, as the daemon pays it: one
// Estimator per container over the default windows (15m, 1h, 6h), fed one
// Observation per sample. Each window evaluates (Theil–Sen over its 32
// bucket minima) when one of its buckets closes, so every benchmark runs
// past the longest window first and then times a whole simulated day: the
// amortised cost includes the evaluations in their real proportion.
//
//   build-rel/bench/bench_estimator --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "estimator/estimator.h"

namespace {

using leakwatch::estimator::Estimator;
using leakwatch::estimator::Observation;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kLimit = 2048 * kMiB;
constexpr std::int64_t kT0 = 1'800'000'000'000;  // Unix ms
constexpr std::int64_t kWarmUpMs = (6 * 3600 + 900) * 1000LL;
constexpr std::int64_t kDayMs = 24 * 3600 * 1000LL;

const std::vector<milliseconds> kWindows = {minutes(15), hours(1), hours(6)};

enum Shape { kFlat = 0, kSawtooth = 1, kLeak = 2 };
const char* const kShapeNames[] = {"flat", "gc_sawtooth", "leak"};

// A cheap deterministic noise source (xorshift64), so generating a sample
// costs a few nanoseconds next to the Update it feeds.
struct Noise {
  std::uint64_t s;
  double Next() {  // uniform in [-1, 1)
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<double>(s >> 11) / static_cast<double>(1ULL << 52) - 1;
  }
};

// One container's memory: flat (512 MiB ± 2 MiB), a GC sawtooth (400 MiB
// floor, +200 MiB per 60 s cycle, then collected), or that sawtooth on a
// leak of 2 % of the 2 GiB limit per hour. rss carries the signal, as for
// a real container (page cache does not count).
struct Source {
  Shape shape;
  Noise noise;
  std::int64_t phase_ms;  // where in its GC cycle the container starts

  Observation At(std::int64_t t_ms) {
    const double hours_in = static_cast<double>(t_ms - kT0) / 3.6e6;
    double rss = 0;
    switch (shape) {
      case kFlat:
        rss = 512 * kMiB + 2 * kMiB * noise.Next();
        break;
      case kSawtooth:
      case kLeak: {
        const std::int64_t cycle = (t_ms + phase_ms) % 60'000;
        rss = 400 * kMiB + 200 * kMiB * static_cast<double>(cycle) / 60'000 +
              kMiB * noise.Next();
        if (shape == kLeak) rss += 0.02 * kLimit * hours_in;
        break;
      }
    }
    Observation o;
    o.t_ms = t_ms;
    o.rss = rss;
    o.cache = 64 * kMiB;
    o.usage = rss + o.cache;
    o.working_set = o.usage;
    o.limit = kLimit;
    return o;
  }
};

void WarmUp(Estimator& e, Source& src, std::int64_t interval_ms) {
  for (std::int64_t t = kT0; t < kT0 + kWarmUpMs; t += interval_ms) {
    e.Update(src.At(t));
  }
}

// This thread's CPU time: unlike a wall clock, it does not count the time
// another process had the core (the development VM is shared).
double ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

std::uint64_t Evaluations(const Estimator& e) {
  std::uint64_t n = 0;
  for (const auto& v : e.verdicts()) n += v.evaluations;
  return n;
}

// Amortised Update cost over a simulated day after a 6 h 15 min warm-up.
// Args: interval in seconds, shape.
void BM_Update(benchmark::State& state) {
  const std::int64_t interval_ms = state.range(0) * 1000;
  const auto shape = static_cast<Shape>(state.range(1));
  Source src{shape, {0x9e3779b97f4a7c15ULL}, 0};
  Estimator e(kWindows);
  WarmUp(e, src, interval_ms);
  // Precomputed, so only Update is timed.
  std::vector<Observation> day;
  for (std::int64_t t = kT0 + kWarmUpMs; t < kT0 + kWarmUpMs + kDayMs;
       t += interval_ms) {
    day.push_back(src.At(t));
  }
  const std::uint64_t evals_before = Evaluations(e);
  std::size_t i = 0;
  for (auto _ : state) {
    // Registered with exactly one day's iterations.
    e.Update(day[i++ % day.size()]);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(kShapeNames[shape]);
  state.counters["interval_s"] = static_cast<double>(state.range(0));
  state.counters["evals_per_1k_samples"] =
      1000.0 * static_cast<double>(Evaluations(e) - evals_before) /
      static_cast<double>(state.iterations());
  state.counters["suspected_6h"] = e.verdicts()[2].suspected ? 1 : 0;
}
// One simulated day per run: 17 280 samples at 5 s, 86 400 at 1 s.
BENCHMARK(BM_Update)
    ->ArgsProduct({{5}, {kFlat, kSawtooth, kLeak}})
    ->Iterations(17'280)
    ->Unit(benchmark::kNanosecond);
BENCHMARK(BM_Update)
    ->ArgsProduct({{1}, {kFlat, kSawtooth, kLeak}})
    ->Iterations(86'400)
    ->Unit(benchmark::kNanosecond);

// The cost of single Updates: the median of those that only add to a
// bucket (steady_clock; about 20 ns of it is the clock), and the median,
// 99th percentile and worst of those that evaluate because a bucket closed
// (this thread's CPU time, so preemption does not count). The windows'
// buckets (28.125 s, 112.5 s, 675 s) nest, so the worst Updates evaluate
// all three windows. Args: interval, shape.
void BM_UpdateLatency(benchmark::State& state) {
  const std::int64_t interval_ms = state.range(0) * 1000;
  const auto shape = static_cast<Shape>(state.range(1));
  Source src{shape, {0x2545f4914f6cdd1dULL}, 0};
  Estimator e(kWindows);
  WarmUp(e, src, interval_ms);
  std::vector<double> plain_ns, eval_ns;
  std::int64_t t = kT0 + kWarmUpMs;
  for (auto _ : state) {
    const Observation o = src.At(t);
    t += interval_ms;
    const std::uint64_t before = Evaluations(e);
    const double cpu_start = ThreadCpuNs();
    const auto start = std::chrono::steady_clock::now();
    e.Update(o);
    const auto end = std::chrono::steady_clock::now();
    const double cpu_ns = ThreadCpuNs() - cpu_start;
    if (Evaluations(e) != before) {
      eval_ns.push_back(cpu_ns);
    } else {
      plain_ns.push_back(
          std::chrono::duration<double, std::nano>(end - start).count());
    }
  }
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
  };
  auto percentile = [](std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
  };
  state.SetLabel(kShapeNames[shape]);
  state.counters["interval_s"] = static_cast<double>(state.range(0));
  state.counters["plain_median_ns"] = median(plain_ns);
  state.counters["eval_median_us"] = median(eval_ns) / 1000;
  state.counters["eval_p99_us"] = percentile(eval_ns, 0.99) / 1000;
  state.counters["eval_max_us"] = percentile(eval_ns, 1.0) / 1000;
  state.counters["evaluating_updates"] = static_cast<double>(eval_ns.size());
}
BENCHMARK(BM_UpdateLatency)
    ->ArgsProduct({{5}, {kFlat, kSawtooth, kLeak}})
    ->Iterations(17'280)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_UpdateLatency)
    ->ArgsProduct({{1}, {kFlat, kSawtooth, kLeak}})
    ->Iterations(86'400)
    ->Unit(benchmark::kMillisecond);

// 1000 containers × 3 windows at 1 s, as the sampling thread runs them:
// every container is updated at the same timestamp, so a window's bucket
// closes in every container in the same pass. One iteration is one pass
// (1000 Updates); an hour of passes is timed after the warm-up.
// Passes are timed in this thread's CPU time; core_percent is the mean
// pass over the interval. Memory is the allocator's
// in-use bytes (mallinfo2) for the 1000 estimators after the warm-up
// (their evaluation scratch included), per container.
void BM_Pass1000Containers(benchmark::State& state) {
  constexpr int kContainers = 1000;
  constexpr std::int64_t kIntervalMs = 1000;
  const std::size_t heap_before = mallinfo2().uordblks;
  std::vector<Estimator> estimators;
  std::vector<Source> sources;
  estimators.reserve(kContainers);
  sources.reserve(kContainers);
  for (int c = 0; c < kContainers; ++c) {
    estimators.emplace_back(kWindows);
    sources.push_back(Source{static_cast<Shape>(c % 3),
                             {0x9e3779b97f4a7c15ULL * (c + 1)},
                             (c * 7919) % 60'000});
  }
  for (std::int64_t t = kT0; t < kT0 + kWarmUpMs; t += kIntervalMs) {
    for (int c = 0; c < kContainers; ++c) {
      estimators[static_cast<std::size_t>(c)].Update(
          sources[static_cast<std::size_t>(c)].At(t));
    }
  }
  const std::size_t heap_after = mallinfo2().uordblks;
  std::int64_t t = kT0 + kWarmUpMs;
  std::vector<double> pass_ms;
  for (auto _ : state) {
    const double start = ThreadCpuNs();
    for (int c = 0; c < kContainers; ++c) {
      estimators[static_cast<std::size_t>(c)].Update(
          sources[static_cast<std::size_t>(c)].At(t));
    }
    pass_ms.push_back((ThreadCpuNs() - start) / 1e6);
    t += kIntervalMs;
  }
  std::sort(pass_ms.begin(), pass_ms.end());
  double total_ms = 0;
  for (double ms : pass_ms) total_ms += ms;
  state.SetItemsProcessed(state.iterations() * kContainers);
  // CPU per pass over the interval: the share of one core.
  state.counters["core_percent"] = 100 * total_ms /
                                   static_cast<double>(pass_ms.size()) /
                                   static_cast<double>(kIntervalMs);
  state.counters["median_pass_ms"] = pass_ms[pass_ms.size() / 2];
  state.counters["worst_pass_ms"] = pass_ms.back();
  state.counters["KiB_per_container"] =
      static_cast<double>(heap_after - heap_before) / kContainers / 1024;
}
BENCHMARK(BM_Pass1000Containers)
    ->Iterations(3600)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
