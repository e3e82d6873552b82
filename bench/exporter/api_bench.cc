// What the page at / costs the daemon: one /api/v1/containers reply and one
// series reply for 100 containers with full histories at the default
// geometry (5 s samples; 15m, 1h, 6h windows), with and without gzip; the
// time the series endpoint holds a container's lock (SharedHistory::Copy);
// and what that lock adds to each sample the sampling thread pushes.
//
//   build/bench/bench_api --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "exporter/detail/api.h"
#include "exporter/detail/routes.h"
#include "web/web.h"

namespace {

using leakwatch::web::Request;
using leakwatch::web::Response;
using namespace leakwatch::exporter::detail;
namespace store = leakwatch::store;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr store::Millis kEndMs = 1'800'000'000'000;
constexpr double kNow = 1'800'000'000.5;

const std::vector<std::chrono::milliseconds>& Windows() {
  static const std::vector<std::chrono::milliseconds> windows = {
      std::chrono::minutes(15), std::chrono::hours(1), std::chrono::hours(6)};
  return windows;
}

store::Geometry DefaultGeometry() {
  return store::Geometry::For(std::chrono::seconds(5), Windows());
}

// Six hours of 5 s samples: a sawtooth over a slow rise, every ring full.
std::shared_ptr<SharedHistory> FullHistory(int seed) {
  auto h = std::make_shared<SharedHistory>(DefaultGeometry());
  const std::int64_t n = 6 * 3600 / 5;
  for (std::int64_t k = 0; k <= n; ++k) {
    store::Point p;
    p.t_ms = kEndMs - (n - k) * 5000;
    const std::uint64_t rss = (200 + static_cast<std::uint64_t>(seed)) * kMiB +
                              static_cast<std::uint64_t>(k) * 4096 +
                              static_cast<std::uint64_t>(k % 12) * 2 * kMiB;
    p.bytes = {rss + 50 * kMiB, rss, 80 * kMiB, rss + 90 * kMiB};
    h->Push(p);
  }
  return h;
}

// 100 containers as Docker describes them, every window judged.
std::shared_ptr<const Snapshot> HundredContainers() {
  auto snap = std::make_shared<Snapshot>();
  snap->window_labels = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"15m", "1h", "6h"});
  snap->window_durations =
      std::make_shared<const std::vector<std::chrono::milliseconds>>(Windows());
  snap->sample_interval = std::chrono::seconds(5);
  snap->pass_end_seconds = kNow - 0.25;
  snap->passes = 4321;
  for (int i = 0; i < 100; ++i) {
    ContainerSnapshot c;
    char id[65];
    std::snprintf(id, sizeof id, "%064x", i + 1);
    c.id = id;
    c.cgroup_path = "/system.slice/docker-" + c.id + ".scope";
    c.sample.usage_bytes = 400 * kMiB;
    c.sample.working_set_bytes = 300 * kMiB;
    c.sample.rss_bytes = 250 * kMiB;
    c.sample.cache_bytes = 80 * kMiB;
    c.sample.swap_bytes = 0;
    c.sample.limit_bytes = 1024 * kMiB;
    c.sample.oom_kills = 0;
    auto meta = std::make_shared<ContainerMetadata>();
    meta->name = "shop-service-" + std::to_string(i);
    meta->image = "registry.example.com/shop/service:1.2." + std::to_string(i);
    meta->compose_project = "shop";
    meta->compose_service = "service-" + std::to_string(i);
    c.metadata = meta;
    LeakVerdict v;
    v.ready = true;
    v.suspected = i % 10 == 0;
    v.score = i % 10 == 0 ? 0.93 : 0.02;
    v.slope_bytes_per_second = 1234.5 + i;
    v.r_squared = 0.87;
    v.time_to_limit_seconds = 54321.0;
    v.baseline_bytes = 260.0 * kMiB;
    v.baseline_at_ms = kEndMs - 30'000;
    c.leak = {v, v, v};
    c.history = FullHistory(i);
    snap->containers.push_back(std::move(c));
  }
  return snap;
}

const Snapshot& Shared() {
  static const std::shared_ptr<const Snapshot> snap = HundredContainers();
  return *snap;
}

void BM_ContainerList(benchmark::State& state) {
  const Snapshot& snap = Shared();
  std::size_t bytes = 0;
  for (auto _ : state) {
    Response r = ServeApi({"GET", "/api/v1/containers", ""}, snap, kNow);
    bytes = r.body.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ContainerList)->Unit(benchmark::kMicrosecond);

const char* const kWindowLabels[] = {"15m", "1h", "6h"};

void BM_Series(benchmark::State& state) {
  const Snapshot& snap = Shared();
  const std::string target = "/api/v1/containers/" + snap.containers[7].id +
                             "/series?window=" + kWindowLabels[state.range(0)];
  std::size_t bytes = 0;
  for (auto _ : state) {
    Response r = ServeApi({"GET", target, ""}, snap, kNow);
    bytes = r.body.size();
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(kWindowLabels[state.range(0)]);
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Series)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

// Through the daemon's router, as a browser asks: gzip included.
void BM_Gzipped(benchmark::State& state) {
  const Snapshot& snap = Shared();
  Routes routes;
  routes.api = [&snap](const Request& request) {
    return ServeApi(request, snap, kNow);
  };
  const std::string target =
      state.range(0) == 0
          ? "/api/v1/containers"
          : "/api/v1/containers/" + snap.containers[7].id + "/series?window=6h";
  const leakwatch::web::Router router = MakeRouter(routes);
  std::size_t bytes = 0;
  for (auto _ : state) {
    Response r = router.Serve({"GET", target, "gzip"});
    bytes = r.body.size();
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(state.range(0) == 0 ? "list" : "series 6h");
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Gzipped)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// How long a series request holds the container's lock: one copy of its
// rings, all the sampling thread can ever wait for.
void BM_CopyUnderLock(benchmark::State& state) {
  const Snapshot& snap = Shared();
  for (auto _ : state) {
    store::History copy = snap.containers[7].history->Copy();
    benchmark::DoNotOptimize(copy);
  }
  state.counters["history_bytes"] =
      static_cast<double>(DefaultGeometry().BytesPerContainer());
}
BENCHMARK(BM_CopyUnderLock)->Unit(benchmark::kMicrosecond);

// What the lock adds to every sample: SharedHistory::Push against a bare
// History::Push (bench_store's BM_Push), uncontended as it nearly always is.
void BM_Push(benchmark::State& state) {
  const bool shared = state.range(0) == 1;
  store::History bare(DefaultGeometry());
  SharedHistory locked(DefaultGeometry());
  store::Point p;
  p.t_ms = kEndMs;
  std::uint64_t v = 100 * kMiB;
  for (auto _ : state) {
    p.t_ms += 5000;
    v += 4096;
    p.bytes = {v, v / 2, v / 4, v + 8192};
    benchmark::DoNotOptimize(shared ? locked.Push(p) : bare.Push(p));
  }
  state.SetLabel(shared ? "SharedHistory (mutex)" : "History");
}
BENCHMARK(BM_Push)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
