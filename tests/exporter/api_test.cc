// The JSON API (exporter/detail/api.h) on hand-made snapshots and
// histories, without sockets.

#include "exporter/detail/api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

namespace leakwatch::exporter::detail {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr store::Millis kEndMs = 1'800'000'000'000;
constexpr std::int64_t kIntervalMs = 5000;
// Half a second after the snapshot's pass ended.
constexpr double kNowSeconds = 1'800'000'000.75;

std::string Id(char fill) { return std::string(64, fill); }

// The rings of a container sampled every 5 s for the last 70 minutes, its
// working set at 100 MiB + 4 KiB per sample, rss 60 MiB + 4 KiB per
// sample, cache a flat 8 MiB, the unreclaimable memory 64 MiB + 4 KiB per
// sample (multiples of 4 KiB, which the store keeps exactly).
std::shared_ptr<SharedHistory> Sampled(const store::Geometry& geometry) {
  auto history = std::make_shared<SharedHistory>(geometry);
  const std::int64_t n = 70 * 60 * 1000 / kIntervalMs;
  for (std::int64_t k = 0; k <= n; ++k) {
    store::Point p;
    p.t_ms = kEndMs - (n - k) * kIntervalMs;
    p.bytes = {100 * kMiB + static_cast<std::uint64_t>(k) * 4096,
               60 * kMiB + static_cast<std::uint64_t>(k) * 4096, 8 * kMiB,
               64 * kMiB + static_cast<std::uint64_t>(k) * 4096};
    history->Push(p);
  }
  return history;
}

// Two windows, 15m judged (leaking) and 1h not yet; one container Docker
// knows, with a limit, and one it does not, without.
std::shared_ptr<Snapshot> TwoContainers() {
  auto snap = std::make_shared<Snapshot>();
  snap->window_labels = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"15m", "1h"});
  const std::vector<std::chrono::milliseconds> durations = {
      std::chrono::minutes(15), std::chrono::hours(1)};
  snap->window_durations =
      std::make_shared<const std::vector<std::chrono::milliseconds>>(durations);
  snap->sample_interval = std::chrono::milliseconds(kIntervalMs);
  snap->label_keys = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"com.example.team", "com.example.absent"});
  snap->pass_end_seconds = 1'800'000'000.25;
  snap->passes = 3;
  const store::Geometry geometry =
      store::Geometry::For(std::chrono::milliseconds(kIntervalMs), durations);

  ContainerSnapshot known;
  known.id = Id('a');
  known.cgroup_path = "/system.slice/docker-" + known.id + ".scope";
  known.sample.usage_bytes = 110 * kMiB;
  known.sample.working_set_bytes = 100 * kMiB;
  known.sample.rss_bytes = 60 * kMiB;
  known.sample.cache_bytes = 8 * kMiB;
  known.sample.swap_bytes = 0;
  known.sample.limit_bytes = 512 * kMiB;
  known.sample.oom_kills = 2;
  known.first_seen_seconds = 1'799'990'000;
  auto meta = std::make_shared<ContainerMetadata>();
  meta->name = "shop-web-1";
  meta->image = "nginx:1.25";
  meta->compose_project = "shop";
  meta->compose_service = "web";
  meta->labels = {{"com.example.team", "payments"},
                  {"com.example.secret", "hunter2"}};
  meta->started_at_seconds = 1'799'000'000;
  known.metadata = meta;
  LeakVerdict leaking;
  leaking.ready = true;
  leaking.troughs_seen = true;
  leaking.suspected = true;
  leaking.score = 0.875;
  leaking.slope_bytes_per_second = 2048;
  leaking.r_squared = 0.96875;
  leaking.time_to_limit_seconds = 153600;
  leaking.baseline_bytes = 64 * kMiB;
  leaking.baseline_at_ms = kEndMs - 10'000;
  leaking.kind = estimator::Kind::kShmem;
  leaking.kind_slopes[1] = 1500;  // shmem
  leaking.kind_slopes[0] = 10;    // anon
  LeakVerdict young;              // not ready: the fit's numbers are not shown
  young.score = 0.75;
  young.slope_bytes_per_second = 99999;
  young.baseline_bytes = 99999;
  known.leak = {leaking, young};
  known.history = Sampled(geometry);

  ContainerSnapshot bare;
  bare.id = Id('b');
  bare.cgroup_path = "/docker/" + bare.id;
  bare.sample.usage_bytes = 10 * kMiB;
  bare.sample.working_set_bytes = 8 * kMiB;
  bare.sample.rss_bytes = 7 * kMiB;
  bare.sample.cache_bytes = 3 * kMiB;
  bare.first_seen_seconds = 1'799'999'000;
  LeakVerdict flat;
  flat.ready = true;
  flat.troughs_seen = true;
  flat.score = 0.125;
  flat.slope_bytes_per_second = -12.5;
  // Covered, but a quarter of the window holds no collection: it cannot
  // judge, and must not read as "ok".
  LeakVerdict blind;
  blind.ready = true;
  blind.slope_bytes_per_second = 512;
  bare.leak = {flat, blind};
  snap->containers = {known, bare};
  return snap;
}

web::Response Get(const Snapshot& snap, std::string target,
                  std::string method = "GET") {
  return ServeApi(web::Request{std::move(method), std::move(target), ""}, snap,
                  kNowSeconds);
}

// The body as JSON, after checking that it is JSON.
Json Body(const web::Response& response) {
  EXPECT_EQ(response.content_type, "application/json");
  return Json::parse(response.body);
}

std::string Series(char fill, const std::string& query = "") {
  return "/api/v1/containers/" + Id(fill) + "/series" + query;
}

TEST(ServeApi, ListsEveryContainerWithItsLabelsAndMemory) {
  auto snap = TwoContainers();
  web::Response response = Get(*snap, "/api/v1/containers");
  ASSERT_EQ(response.status, 200u) << response.body;
  Json body = Body(response);
  EXPECT_EQ(body["time"], 1'800'000'000.25);
  EXPECT_EQ(body["sampling_current"], true);
  EXPECT_EQ(body["sample_interval_seconds"], 5.0);
  EXPECT_EQ(body["windows"], Json({"15m", "1h"}));
  ASSERT_EQ(body["containers"].size(), 2u);
  const Json& a = body["containers"][0];
  EXPECT_EQ(a["id"], Id('a'));
  EXPECT_EQ(a["name"], "shop-web-1");
  EXPECT_EQ(a["image"], "nginx:1.25");
  EXPECT_EQ(a["compose_project"], "shop");
  EXPECT_EQ(a["compose_service"], "web");
  EXPECT_EQ(a["cgroup"], "/system.slice/docker-" + Id('a') + ".scope");
  EXPECT_EQ(a["started_at"], 1'799'000'000.0);  // Docker's, when known
  EXPECT_EQ(a["memory"]["usage_bytes"], 110 * kMiB);
  EXPECT_EQ(a["memory"]["working_set_bytes"], 100 * kMiB);
  EXPECT_EQ(a["memory"]["rss_bytes"], 60 * kMiB);
  EXPECT_EQ(a["memory"]["cache_bytes"], 8 * kMiB);
  EXPECT_EQ(a["memory"]["swap_bytes"], 0);
  EXPECT_EQ(a["memory"]["limit_bytes"], 512 * kMiB);
  EXPECT_EQ(a["memory"]["oom_events"], 2);
}

TEST(ServeApi, SaysWhenSamplingIsNotCurrentByTheDaemonsClock) {
  auto snap = TwoContainers();
  auto list = [&snap](double now) {
    return Body(ServeApi(web::Request{"GET", "/api/v1/containers", ""}, *snap,
                         now))["sampling_current"];
  };
  // As /healthz: a pass within two intervals (10 s).
  EXPECT_EQ(list(1'800'000'010.25), true);
  EXPECT_EQ(list(1'800'000'010.5), false);
  snap->passes = 0;  // before the first pass
  EXPECT_EQ(list(kNowSeconds), false);
}

TEST(ServeApi, ShowsOnlyAllowListedLabels) {
  auto snap = TwoContainers();
  Json a = Body(Get(*snap, "/api/v1/containers"))["containers"][0];
  // containers.labels lists team (and a key the container lacks); the
  // secret is not listed, so it is not shown, as on /metrics.
  EXPECT_EQ(a["labels"], Json({{"com.example.team", "payments"}}));
}

TEST(ServeApi, UnknownValuesAreNullNotZero) {
  auto snap = TwoContainers();
  Json b = Body(Get(*snap, "/api/v1/containers"))["containers"][1];
  EXPECT_EQ(b["id"], Id('b'));
  for (const char* key :
       {"name", "image", "compose_project", "compose_service"}) {
    EXPECT_TRUE(b[key].is_null()) << key;
  }
  EXPECT_EQ(b["labels"], Json::object());
  EXPECT_EQ(b["started_at"], 1'799'999'000.0);  // first seen
  EXPECT_TRUE(b["memory"]["limit_bytes"].is_null());
  EXPECT_TRUE(b["memory"]["swap_bytes"].is_null());
  EXPECT_TRUE(b["memory"]["oom_events"].is_null());
}

TEST(ServeApi, GivesEachWindowsVerdictLikeTheMetrics) {
  auto snap = TwoContainers();
  Json body = Body(Get(*snap, "/api/v1/containers"));
  const Json& judged = body["containers"][0]["leak"]["15m"];
  EXPECT_EQ(judged["ready"], true);
  EXPECT_EQ(judged["judges"], true);
  EXPECT_EQ(judged["verdict"], "leaking");
  EXPECT_EQ(judged["suspected"], true);
  EXPECT_EQ(judged["score"], 0.875);
  EXPECT_EQ(judged["slope_bytes_per_second"], 2048.0);
  EXPECT_EQ(judged["r_squared"], 0.96875);
  EXPECT_EQ(judged["time_to_limit_seconds"], 153600.0);
  EXPECT_EQ(judged["baseline_bytes"], 64.0 * kMiB);
  EXPECT_EQ(judged["baseline_at"], (kEndMs - 10'000) / 1e3);
  // Not ready: score 0 and no fit, as leakwatch_container_memory_leak_*
  // are 0 or absent until the window holds enough history.
  const Json& young = body["containers"][0]["leak"]["1h"];
  EXPECT_EQ(young["ready"], false);
  EXPECT_EQ(young["judges"], false);
  EXPECT_EQ(young["verdict"], "collecting");
  EXPECT_EQ(young["score"], 0.0);
  for (const char* key :
       {"slope_bytes_per_second", "r_squared", "time_to_limit_seconds",
        "baseline_bytes", "baseline_at"}) {
    EXPECT_TRUE(young[key].is_null()) << key;
  }
  // What leaks: shmem, in no one process (tmpfs files are no process's).
  EXPECT_EQ(judged["kind"], "shmem");
  EXPECT_TRUE(judged["process"].is_null());
  EXPECT_EQ(judged["kind_slopes_bytes_per_second"],
            Json({{"anon", 10.0}, {"shmem", 1500.0}}));
  EXPECT_TRUE(young["kind"].is_null());
  EXPECT_TRUE(young["kind_slopes_bytes_per_second"].is_null());
  const Json& flat = body["containers"][1]["leak"]["15m"];
  EXPECT_EQ(flat["verdict"], "ok");
  EXPECT_TRUE(flat["kind"].is_null());
  EXPECT_EQ(flat["score"], 0.125);
  EXPECT_TRUE(flat["time_to_limit_seconds"].is_null());  // not growing
  EXPECT_EQ(flat["judges"], true);
  // A window that has its history but sees no troughs says so.
  const Json& blind = body["containers"][1]["leak"]["1h"];
  EXPECT_EQ(blind["ready"], true);
  EXPECT_EQ(blind["troughs_seen"], false);
  EXPECT_EQ(blind["judges"], false);
  EXPECT_EQ(blind["verdict"], "no_troughs");
  EXPECT_EQ(blind["score"], 0.0);
}

TEST(ServeApi, AnswersForOneContainer) {
  auto snap = TwoContainers();
  web::Response response = Get(*snap, "/api/v1/containers/" + Id('b'));
  ASSERT_EQ(response.status, 200u) << response.body;
  Json one = Body(response);
  EXPECT_EQ(one, Body(Get(*snap, "/api/v1/containers"))["containers"][1]);
}

TEST(ServeApi, SeriesHoldsTheRawSamplesOfAWindowTheRawTierCovers) {
  auto snap = TwoContainers();
  web::Response response = Get(*snap, Series('a', "?window=15m"));
  ASSERT_EQ(response.status, 200u) << response.body;
  Json s = Body(response);
  EXPECT_EQ(s["id"], Id('a'));
  EXPECT_EQ(s["window"], "15m");
  EXPECT_EQ(s["window_seconds"], 900.0);
  EXPECT_EQ(s["end"], kEndMs / 1e3);  // the newest sample
  EXPECT_EQ(s["start"], kEndMs / 1e3 - 900);
  EXPECT_EQ(s["sample_interval_seconds"], 5.0);
  EXPECT_EQ(s["limit_bytes"], 512 * kMiB);
  // Both ends of the window are in it: 15 min / 5 s + 1 samples.
  const Json& t = s["samples"]["t"];
  ASSERT_EQ(t.size(), 181u);
  EXPECT_EQ(t.front(), kEndMs / 1e3 - 900);
  EXPECT_EQ(t.back(), kEndMs / 1e3);
  // The values the store holds, sample by sample: the window's first is
  // the 661st of the 841 pushed.
  const std::uint64_t k0 = 660;
  EXPECT_EQ(s["samples"]["working_set_bytes"][0], 100 * kMiB + k0 * 4096);
  EXPECT_EQ(s["samples"]["rss_bytes"][180], 60 * kMiB + (k0 + 180) * 4096);
  EXPECT_EQ(s["samples"]["cache_bytes"][90], 8 * kMiB);
  // What the estimator judged, the series its trend line is drawn over.
  EXPECT_EQ(s["samples"]["unreclaimable_bytes"][180],
            64 * kMiB + (k0 + 180) * 4096);
  EXPECT_EQ(s["samples"]["working_set_bytes"].size(), 181u);
  EXPECT_EQ(s["samples"]["cache_bytes"].size(), 181u);
  EXPECT_EQ(s["buckets"]["t"].size(), 0u);  // the raw tier covers it all
}

TEST(ServeApi, SeriesFillsInWithBucketsWhereTheRawTierEnds) {
  auto snap = TwoContainers();
  Json s = Body(Get(*snap, Series('a', "?window=1h")));
  EXPECT_EQ(s["bucket_seconds"], 60.0);
  const Json& raw_t = s["samples"]["t"];
  const Json& bucket_t = s["buckets"]["t"];
  // The raw tier reaches back 15 minutes; one-minute buckets cover the 45
  // before, each starting inside the window and before the first raw
  // sample, oldest first.
  ASSERT_EQ(raw_t.size(), 181u);
  ASSERT_GE(bucket_t.size(), 44u);
  ASSERT_LE(bucket_t.size(), 46u);
  EXPECT_GE(bucket_t.front().get<double>(), s["start"].get<double>());
  EXPECT_LT(bucket_t.back().get<double>(), raw_t.front().get<double>());
  for (std::size_t i = 1; i < bucket_t.size(); ++i) {
    EXPECT_EQ(bucket_t[i].get<double>() - bucket_t[i - 1].get<double>(), 60);
  }
  // Each bucket: 12 samples of a line rising 4 KiB per sample, so min,
  // max and last are its first, last and last sample.
  const Json& ws = s["buckets"]["working_set_bytes"];
  const std::size_t mid = bucket_t.size() / 2;
  EXPECT_EQ(s["buckets"]["count"][mid], 12);
  EXPECT_EQ(
      ws["max"][mid].get<std::uint64_t>() - ws["min"][mid].get<std::uint64_t>(),
      11 * 4096u);
  EXPECT_EQ(ws["last"][mid], ws["max"][mid]);
  EXPECT_EQ(s["buckets"]["cache_bytes"]["min"][mid], 8 * kMiB);
  EXPECT_EQ(s["buckets"]["rss_bytes"]["last"].size(), bucket_t.size());
}

TEST(ServeApi, SeriesCarriesTheFittedTrendLineOnceTheWindowIsReady) {
  auto snap = TwoContainers();
  Json s = Body(Get(*snap, Series('a', "?window=15m")));
  const Json& trend = s["trend"];
  ASSERT_TRUE(trend.is_object()) << s.dump();
  EXPECT_EQ(trend["input"], "unreclaimable_bytes");
  EXPECT_EQ(trend["slope_bytes_per_second"], 2048.0);
  EXPECT_EQ(trend["baseline_bytes"], 64.0 * kMiB);
  // From the window's first sample to its last, on the line
  // baseline + slope * (t - baseline_at).
  const double t0 = kEndMs / 1e3 - 900, t1 = kEndMs / 1e3;
  EXPECT_THAT(trend["t"].get<std::vector<double>>(), ElementsAre(t0, t1));
  const double at = (kEndMs - 10'000) / 1e3;
  EXPECT_THAT(trend["bytes"].get<std::vector<double>>(),
              ElementsAre(64.0 * kMiB + 2048 * (t0 - at),
                          64.0 * kMiB + 2048 * (t1 - at)));
  EXPECT_EQ(s["leak"]["verdict"], "leaking");
  // The 1h window is not ready: no line.
  EXPECT_TRUE(Body(Get(*snap, Series('a', "?window=1h")))["trend"].is_null());
}

TEST(ServeApi, SeriesFindsAWindowByItsLengthAndDefaultsToTheFirst) {
  auto snap = TwoContainers();
  EXPECT_EQ(Body(Get(*snap, Series('a', "?window=60m")))["window"], "1h");
  EXPECT_EQ(Body(Get(*snap, Series('a', "?window=3600s")))["window"], "1h");
  EXPECT_EQ(Body(Get(*snap, Series('a')))["window"], "15m");
  EXPECT_EQ(Body(Get(*snap, Series('a', "?window=1%68")))["window"], "1h");
}

TEST(ServeApi, SeriesOfAContainerWithoutHistoryIsEmpty) {
  auto snap = TwoContainers();
  web::Response response = Get(*snap, Series('b', "?window=15m"));
  ASSERT_EQ(response.status, 200u);
  Json s = Body(response);
  EXPECT_EQ(s["samples"]["t"].size(), 0u);
  EXPECT_EQ(s["buckets"]["t"].size(), 0u);
  EXPECT_TRUE(s["trend"].is_null());  // ready, but nothing to draw it over
}

// The error and its status, checking it is the documented JSON shape.
std::pair<unsigned, std::string> Fails(const web::Response& response) {
  Json body = Body(response);
  EXPECT_TRUE(body.is_object() && body.size() == 1 && body["error"].is_string())
      << response.body;
  return {response.status, body.value("error", "")};
}

TEST(ServeApi, AnUnknownContainerIs404) {
  auto snap = TwoContainers();
  auto [status, error] = Fails(Get(*snap, Series('c', "?window=15m")));
  EXPECT_EQ(status, 404u);
  EXPECT_THAT(error, HasSubstr("no container with id \"" + Id('c') + "\""));
  EXPECT_EQ(Fails(Get(*snap, "/api/v1/containers/" + Id('c'))).first, 404u);
  // A short id is not an id.
  EXPECT_EQ(Fails(Get(*snap, "/api/v1/containers/aaaaaaaaaaaa/series")).first,
            404u);
}

TEST(ServeApi, AnUnknownOrUnconfiguredWindowIs400) {
  auto snap = TwoContainers();
  auto [status, error] = Fails(Get(*snap, Series('a', "?window=6h")));
  EXPECT_EQ(status, 400u);
  EXPECT_EQ(error,
            "window \"6h\" is not configured (configured windows: 15m, 1h)");
  std::tie(status, error) = Fails(Get(*snap, Series('a', "?window=soon")));
  EXPECT_EQ(status, 400u);
  EXPECT_EQ(error,
            "window \"soon\" is not a duration (configured windows: 15m, 1h)");
  EXPECT_EQ(Fails(Get(*snap, Series('a', "?window="))).first, 400u);
}

TEST(ServeApi, AQueryItCannotHonourIs400) {
  auto snap = TwoContainers();
  auto [status, error] = Fails(Get(*snap, Series('a', "?windw=1h")));
  EXPECT_EQ(status, 400u);
  EXPECT_EQ(error, "unknown query parameter \"windw\" (known: window)");
  std::tie(status, error) =
      Fails(Get(*snap, Series('a', "?window=1h&window=15m")));
  EXPECT_EQ(status, 400u);
  EXPECT_EQ(error, "query parameter \"window\" given twice");
  std::tie(status, error) = Fails(Get(*snap, Series('a', "?window=%zz")));
  EXPECT_EQ(status, 400u);
  EXPECT_THAT(error, HasSubstr("malformed percent-encoding"));
  EXPECT_EQ(Fails(Get(*snap, Series('a', "?window=1%6"))).first, 400u);
  std::tie(status, error) = Fails(Get(*snap, "/api/v1/containers?all=1"));
  EXPECT_EQ(status, 400u);
  EXPECT_EQ(error,
            "unknown query parameter \"all\" (this endpoint takes none)");
}

TEST(ServeApi, AnUnknownPathIs404AndOtherMethods405) {
  auto snap = TwoContainers();
  for (const char* path :
       {"/api/", "/api/v1", "/api/v1/", "/api/v2/containers",
        "/api/v1/containersx", "/api/v1/containers/", "/api/v1/series",
        "/api/v1/containers//series", "/api/v1/containers/x/series/x"}) {
    auto [status, error] = Fails(Get(*snap, path));
    EXPECT_EQ(status, 404u) << path;
    EXPECT_THAT(error, HasSubstr("unknown API path")) << path;
  }
  web::Response response = Get(*snap, "/api/v1/containers", "POST");
  EXPECT_EQ(Fails(response).first, 405u);
  ASSERT_FALSE(response.headers.empty());
  EXPECT_THAT(response.headers,
              ::testing::Contains(
                  std::pair<std::string, std::string>("Allow", "GET, HEAD")));
  EXPECT_EQ(Fails(Get(*snap, Series('a'), "DELETE")).first, 405u);
  // HEAD is served like GET (the router drops the body).
  EXPECT_EQ(Get(*snap, "/api/v1/containers", "HEAD").status, 200u);
}

TEST(ServeApi, InvalidUtf8FromARuntimeIsReplacedNotAnError) {
  auto snap = TwoContainers();
  auto meta =
      std::make_shared<ContainerMetadata>(*snap->containers[0].metadata);
  meta->name = "bad\xff\xfename";
  snap->containers[0].metadata = meta;
  web::Response response = Get(*snap, "/api/v1/containers");
  ASSERT_EQ(response.status, 200u);
  EXPECT_EQ(Body(response)["containers"][0]["name"],
            "bad\xEF\xBF\xBD\xEF\xBF\xBDname");
  // The echoed id too.
  EXPECT_EQ(Fails(Get(*snap, "/api/v1/containers/\xff/series")).first, 404u);
}

TEST(ServeApi, KeepsBrowsersFromCachingOrSniffing) {
  auto snap = TwoContainers();
  for (const std::string& target :
       {std::string("/api/v1/containers"), Series('a'), Series('c')}) {
    web::Response response = Get(*snap, target);
    EXPECT_THAT(response.headers,
                ::testing::Contains(std::pair<std::string, std::string>(
                    "Cache-Control", "no-store")));
    EXPECT_THAT(response.headers,
                ::testing::Contains(std::pair<std::string, std::string>(
                    "X-Content-Type-Options", "nosniff")));
  }
}

// The series endpoint copies a container's rings on the HTTP thread while
// the sampling thread pushes: every copy must be whole, samples in time
// order with the values that belong to their timestamps.
TEST(SharedHistory, CopiesAreConsistentWhileTheSamplerWrites) {
  const std::vector<std::chrono::milliseconds> windows = {
      std::chrono::minutes(15)};
  const store::Geometry geometry =
      store::Geometry::For(std::chrono::milliseconds(100), windows);
  SharedHistory shared(geometry);
  // The writer pushes until the reader has made its copies, so the two
  // overlap however the threads are scheduled.
  std::atomic<bool> reading_done = false;
  std::atomic<std::int64_t> pushed = 0;
  std::thread writer([&] {
    for (std::int64_t k = 1; !reading_done || k < 1000; ++k) {
      store::Point p;
      p.t_ms = k * 100;
      const std::uint64_t v = static_cast<std::uint64_t>(k) * 4096;
      p.bytes = {v, 2 * v, 3 * v, 4 * v};
      shared.Push(p);
      pushed = k;
    }
  });
  while (pushed < 1000) std::this_thread::yield();
  bool consistent = true;
  std::int64_t first_seen = -1, last_seen = -1;
  // At least 300 copies, and on until one has seen the writer move (a
  // loaded machine may not schedule it at once); a deadline bounds it.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int copies = 0;
       consistent && (copies < 300 || first_seen == last_seen) &&
       std::chrono::steady_clock::now() < deadline;
       ++copies) {
    const store::History copy = shared.Copy();
    for (std::size_t i = 0; i < copy.RawSize(); ++i) {
      const store::Point p = copy.Raw(i);
      const std::uint64_t v = static_cast<std::uint64_t>(p.t_ms / 100) * 4096;
      if (p.bytes[0] != v || p.bytes[3] != 4 * v ||
          (i > 0 && copy.Raw(i - 1).t_ms + 100 != p.t_ms)) {
        consistent = false;
        ADD_FAILURE() << "torn copy at sample " << i << " t=" << p.t_ms;
        break;
      }
    }
    last_seen = copy.Latest().t_ms;
    if (first_seen < 0) first_seen = last_seen;
  }
  reading_done = true;
  writer.join();
  EXPECT_TRUE(consistent);
  // The copies saw the writer at work, not only before or after it.
  EXPECT_LT(first_seen, last_seen);
  EXPECT_EQ(shared.Copy().Latest().t_ms, pushed.load() * 100);
}

}  // namespace
}  // namespace leakwatch::exporter::detail
