// What the Docker client costs: decoding recorded replies (pure CPU), and a
// full list + inspect of every running container against a real daemon
// (LEAKWATCH_BENCH_DOCKER_HOST, e.g. unix:///run/docker.sock; skipped when
// unset). See docs/performance.md, "Docker client".
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "docker-api/detail/decode.h"
#include "docker-api/docker.h"

namespace leakwatch::docker {
namespace {

std::string Fixture(const char* name) {
  std::ifstream in(std::string(LEAKWATCH_FIXTURES_DIR) + "/docker/" + name);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void BM_DecodeInspect(benchmark::State& state) {
  const std::string body = Fixture("inspect_web.json");
  const detail::DaemonInfo info;
  for (auto _ : state) {
    auto c = detail::DecodeInspect(body, info);
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_DecodeInspect);

void BM_DecodeEvent(benchmark::State& state) {
  const std::string line =
      R"({"status":"start","id":"fcb229da4c7cbfdd832940e91cf598b7d04d9f91db1aa95cd1e1bcfed3dea973","from":"debian:bookworm","Type":"container","Action":"start","Actor":{"ID":"fcb229da4c7cbfdd832940e91cf598b7d04d9f91db1aa95cd1e1bcfed3dea973","Attributes":{"image":"debian:bookworm","name":"lw-rec-web"}},"scope":"local","time":1795566085,"timeNano":1795566085468674042})";
  for (auto _ : state) {
    auto e = detail::DecodeEvent(line);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_DecodeEvent);

void BM_DecodeStats(benchmark::State& state) {
  const std::string body = Fixture("stats_v1.json");
  for (auto _ : state) {
    auto s = detail::DecodeStats(body);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_DecodeStats);

// Ping, /info, /containers/json and one inspect per container, each on its
// own connection, as the watcher's resync does.
void BM_ListAndInspect(benchmark::State& state) {
  const char* host = std::getenv("LEAKWATCH_BENCH_DOCKER_HOST");
  if (host == nullptr) {
    state.SkipWithError("set LEAKWATCH_BENCH_DOCKER_HOST to a daemon");
    return;
  }
  Options options;
  options.endpoint = *ParseHost(host);
  std::size_t containers = 0;
  for (auto _ : state) {
    auto all = ListRunning(options);
    if (!all) {
      state.SkipWithError(all.error().message.c_str());
      return;
    }
    containers = all->size();
  }
  state.counters["containers"] = static_cast<double>(containers);
  state.counters["per_container"] =
      benchmark::Counter(static_cast<double>(containers),
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}
BENCHMARK(BM_ListAndInspect)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace leakwatch::docker

BENCHMARK_MAIN();
