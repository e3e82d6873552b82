// Ring-buffer cost: the time to append one sample, and the memory one
// container's history holds, for the multi-resolution layout against a
// flat full-rate ring of the same span.
//
//   build/bench/bench_store --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <chrono>
#include <memory>
#include <vector>

#include "store/store.h"

namespace {

using leakwatch::store::Geometry;
using leakwatch::store::History;
using leakwatch::store::Point;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

Geometry For(int interval_s) {
  std::vector<milliseconds> windows = {minutes(15), hours(1), hours(6)};
  return Geometry::For(seconds(interval_s), windows);
}

// A flat ring of full-rate samples over the longest window, as a naive
// design would keep: timestamp + four 64-bit values per sample.
std::size_t FlatBytes(const Geometry& g) {
  const std::size_t samples =
      static_cast<std::size_t>(g.history_ms / g.interval_ms) + 1;
  return samples * (sizeof(std::int64_t) + 4 * sizeof(std::uint64_t));
}

void BM_Push(benchmark::State& state) {
  History h(For(static_cast<int>(state.range(0))));
  Point p;
  p.t_ms = 1'800'000'000'000;
  std::uint64_t v = 100 << 20;
  for (auto _ : state) {
    p.t_ms += state.range(0) * 1000;
    v += 4096;
    p.bytes = {v, v / 2, v / 4, v + 8192};
    benchmark::DoNotOptimize(h.Push(p));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Push)->Arg(1)->Arg(5);

// Memory for 1000 containers, by the layout's own accounting and by the
// allocator's (mallinfo2 in-use bytes), against the flat layout.
void BM_Memory1000Containers(benchmark::State& state) {
  const Geometry g = For(static_cast<int>(state.range(0)));
  std::size_t in_use = 0;
  for (auto _ : state) {
    const std::size_t before = mallinfo2().uordblks;
    std::vector<std::unique_ptr<History>> all;
    all.reserve(1000);
    for (int i = 0; i < 1000; ++i) all.push_back(std::make_unique<History>(g));
    in_use = mallinfo2().uordblks - before;
    benchmark::DoNotOptimize(all.data());
  }
  state.counters["interval_s"] = static_cast<double>(state.range(0));
  state.counters["KiB_per_container"] =
      static_cast<double>(g.BytesPerContainer()) / 1024;
  state.counters["MiB_1000_malloc"] =
      static_cast<double>(in_use) / (1024 * 1024);
  state.counters["MiB_1000_flat"] =
      static_cast<double>(FlatBytes(g)) * 1000 / (1024 * 1024);
}
BENCHMARK(BM_Memory1000Containers)->Arg(1)->Arg(5)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
