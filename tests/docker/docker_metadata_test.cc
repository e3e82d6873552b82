// The exporter's side of Docker: the inventory the watcher feeds, the
// labels it puts on series, leakwatch_docker_up, and the stats fallback in
// the sampler.
#include "exporter/detail/docker_metadata.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "exporter/detail/collector.h"
#include "exporter/detail/container_labels.h"
#include "exporter/detail/sampler.h"
#include "log/log.h"
#include "tests/golden.h"

namespace leakwatch::exporter::detail {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr double kNow = 1'800'000'000.0;

class Logged {
 protected:
  Logged()
      : logger_(log::Level::kDebug, log::Format::kLogfmt,
                std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)) {}
  std::string Log() const { return log_.str(); }
  int Count(const std::string& needle) const {
    const std::string text = log_.str();
    int n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }
  std::ostringstream log_;
  log::Logger logger_;
};

docker::Container Web(char fill = 'a') {
  docker::Container c;
  c.id = std::string(64, fill);
  c.name = "shop-web-1";
  c.image = "registry.example/shop/web:1.4";
  c.compose_project = "shop";
  c.compose_service = "web";
  c.labels = {{"com.docker.compose.project", "shop"},
              {"com.docker.compose.service", "web"},
              {"com.example.team", "payments"},
              {"com.example/team", "slash"},
              {"tier", "front"}};
  c.memory_limit_bytes = 512 * kMiB;
  c.started_at_seconds = kNow - 7200;
  c.state = "running";
  c.cgroup_path = "/docker/" + c.id;
  return c;
}

TEST(ContainerLabels, SanitizesEveryCharacterOutsideTheLabelAlphabet) {
  EXPECT_EQ(SanitizeLabelName("com.example/team-name"),
            "com_example_team_name");
  EXPECT_EQ(SanitizeLabelName("Tier_2"), "Tier_2");
  EXPECT_EQ(SanitizeLabelName("été"), "__t__");  // each UTF-8 byte
}

TEST(ContainerLabels, FirstKeyWinsACollisionAndRepetitionIsNone) {
  LabelAllowList allow(
      {"com.example.team", "tier", "com.example/team", "tier"});
  ASSERT_EQ(allow.collisions().size(), 1u);
  EXPECT_EQ(allow.collisions()[0].kept, "com.example.team");
  EXPECT_EQ(allow.collisions()[0].dropped, "com.example/team");
  EXPECT_EQ(allow.collisions()[0].name, "container_label_com_example_team");
  std::vector<prometheus::ClientMetric::Label> out;
  allow.Apply(Web().labels, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "container_label_com_example_team");
  EXPECT_EQ(out[0].value, "payments");  // not "slash"
  EXPECT_EQ(out[1].name, "container_label_tier");
}

TEST(ContainerLabels, CollisionsAreLoggedOncePerLoad) {
  struct L : Logged {
    using Logged::Count;
    using Logged::logger_;
  } l;
  LogLabelCollisions(LabelAllowList({"a.b", "a_b", "a-b"}), l.logger_);
  EXPECT_EQ(l.Count("level=warn"), 2);
  EXPECT_EQ(l.Count("dropped=a_b"), 1);
  EXPECT_EQ(l.Count("dropped=a-b"), 1);
}

// The collector golden with Docker's labels: one container Docker
// described (allow-listed labels included), one it never did (id only).
std::shared_ptr<Snapshot> DockerSnapshot() {
  auto snap = std::make_shared<Snapshot>();
  ContainerSnapshot named;
  named.id = std::string(64, 'a');
  named.cgroup_path = "/docker/" + named.id;
  named.sample.usage_bytes = 200 * kMiB;
  named.sample.working_set_bytes = 150 * kMiB;
  named.sample.rss_bytes = 140 * kMiB;
  named.sample.cache_bytes = 60 * kMiB;
  named.sample.limit_bytes = 512 * kMiB;
  named.sample.cpu_usage_ns = 2'500'000'000;
  named.first_seen_seconds = kNow - 60;
  auto meta = std::make_shared<ContainerMetadata>();
  const docker::Container web = Web();
  meta->name = web.name;
  meta->image = web.image;
  meta->compose_project = web.compose_project;
  meta->compose_service = web.compose_service;
  meta->labels = web.labels;
  meta->started_at_seconds = web.started_at_seconds;
  // No kernel OOM counter (an old v1 kernel): Docker's events count.
  meta->oom_events = 3;
  named.metadata = meta;
  ContainerSnapshot anonymous;
  anonymous.id = std::string(64, '0');
  anonymous.cgroup_path = "/docker/" + anonymous.id;
  anonymous.sample.usage_bytes = 10 * kMiB;
  anonymous.sample.working_set_bytes = 8 * kMiB;
  anonymous.sample.rss_bytes = 7 * kMiB;
  anonymous.sample.cache_bytes = 3 * kMiB;
  anonymous.sample.oom_kills = 1;
  anonymous.first_seen_seconds = kNow - 30;
  snap->containers = {anonymous, named};
  snap->passes = 3;
  snap->pass_end_seconds = kNow - 1;
  snap->pass_duration_seconds = 0.001;
  snap->label_keys = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"com.example.team", "com.example/team", "tier",
                               "not.on.this.container"});
  return snap;
}

std::string RenderWithDocker(std::shared_ptr<Snapshot> snap, bool up) {
  SnapshotBox box;
  box.Publish(std::move(snap));
  log::Logger quiet(log::Level::kError, log::Format::kLogfmt);
  DockerMetadata docker(15s, quiet);
  docker.OnUp(up);
  ExporterInfo info;
  info.version = "1.2.3";
  info.revision = "abcdef";
  std::vector<std::shared_ptr<prometheus::Collectable>> c = {
      std::make_shared<SnapshotCollector>(
          box, info,
          [] {
            return std::chrono::system_clock::time_point(
                std::chrono::seconds(1'800'000'000));
          }),
      std::make_shared<DockerCollector>(docker)};
  return Render(c);
}

TEST(DockerCollectorGolden, NamesImagesComposeAndAllowListedLabels) {
  leakwatch::testing::ExpectMatchesGolden(
      "collector_docker.prom", RenderWithDocker(DockerSnapshot(), true));
}

TEST(DockerCollectorGolden, EveryPerContainerSeriesCarriesTheLabels) {
  const std::string text = RenderWithDocker(DockerSnapshot(), true);
  const std::string named_id = "id=\"" + std::string(64, 'a') + "\"";
  std::istringstream lines(text);
  std::string line;
  int series = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("leakwatch_container_", 0) != 0) continue;
    if (line.find(named_id) == std::string::npos) {
      // Docker never described this one: id only.
      EXPECT_THAT(line, Not(HasSubstr("name="))) << line;
      continue;
    }
    ++series;
    for (const char* label :
         {"name=\"shop-web-1\"", "image=\"registry.example/shop/web:1.4\"",
          "compose_project=\"shop\"", "compose_service=\"web\"",
          "container_label_com_example_team=\"payments\"",
          "container_label_tier=\"front\""}) {
      EXPECT_THAT(line, HasSubstr(label)) << line;
    }
    EXPECT_THAT(line, Not(HasSubstr("not_on_this_container")));
  }
  EXPECT_GE(series, 8);
  // Docker's start time wins over first-seen; Docker's OOM count stands in
  // for a missing kernel counter, and never replaces a present one.
  EXPECT_THAT(text, HasSubstr("leakwatch_container_start_time_seconds{"
                              "compose_project=\"shop\""));
  EXPECT_THAT(text, HasSubstr("} 1799992800\n"));
  EXPECT_THAT(text,
              HasSubstr("leakwatch_container_memory_oom_events_total{id=\"" +
                        std::string(64, '0') + "\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("name=\"shop-web-1\"} 3\n"));
}

TEST(DockerCollectorGolden, DockerUpFollowsTheWatcher) {
  EXPECT_THAT(RenderWithDocker(DockerSnapshot(), true),
              HasSubstr("\nleakwatch_docker_up 1\n"));
  EXPECT_THAT(RenderWithDocker(DockerSnapshot(), false),
              HasSubstr("\nleakwatch_docker_up 0\n"));
}

class DockerMetadataTest : public ::testing::Test, protected Logged {
 protected:
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
  DockerMetadata docker_{10s, logger_, [this] { return now_; }};
};

TEST_F(DockerMetadataTest, KeepsNamesThroughAnOutageAndDropsThemOnResync) {
  docker_.OnSynced({Web('a'), Web('b')});
  docker_.OnUp(true);
  ASSERT_NE(docker_.Lookup(std::string(64, 'a')), nullptr);
  EXPECT_EQ(docker_.Lookup(std::string(64, 'a'))->name, "shop-web-1");
  EXPECT_EQ(docker_.Lookup(std::string(64, 'c')), nullptr);

  docker_.OnUp(false);  // Docker goes away: series keep their labels
  EXPECT_FALSE(docker_.up());
  EXPECT_NE(docker_.Lookup(std::string(64, 'a')), nullptr);
  EXPECT_NE(docker_.Lookup(std::string(64, 'b')), nullptr);

  docker_.OnSynced({Web('a')});  // back; b was removed meanwhile
  docker_.OnUp(true);
  EXPECT_NE(docker_.Lookup(std::string(64, 'a')), nullptr);
  EXPECT_EQ(docker_.Lookup(std::string(64, 'b')), nullptr);
}

TEST_F(DockerMetadataTest, EventsUpdateTheInventoryAtOnce) {
  docker_.OnSynced({Web('a')});
  docker::Container renamed = Web('a');
  renamed.name = "shop-web-renamed";
  docker_.OnChanged(renamed);
  EXPECT_EQ(docker_.Lookup(std::string(64, 'a'))->name, "shop-web-renamed");

  docker_.OnChanged(Web('c'));  // start
  EXPECT_NE(docker_.Lookup(std::string(64, 'c')), nullptr);
  EXPECT_EQ(docker_.Running().size(), 2u);

  docker_.OnDied(std::string(64, 'c'));  // kept for a restart, not running
  EXPECT_NE(docker_.Lookup(std::string(64, 'c')), nullptr);
  EXPECT_EQ(docker_.Running().size(), 1u);

  docker_.OnDestroyed(std::string(64, 'c'));
  EXPECT_EQ(docker_.Lookup(std::string(64, 'c')), nullptr);
}

TEST_F(DockerMetadataTest, OomEventsCountAndSurviveResyncsAndRenames) {
  docker_.OnSynced({Web('a')});
  const std::string id(64, 'a');
  auto before = docker_.Lookup(id);
  EXPECT_EQ(before->oom_events, 0u);
  docker_.OnOom(id);
  docker_.OnOom(id);
  EXPECT_EQ(docker_.Lookup(id)->oom_events, 2u);
  EXPECT_EQ(before->oom_events, 0u);  // what a scrape held is unchanged
  docker_.OnSynced({Web('a')});
  docker_.OnChanged(Web('a'));
  EXPECT_EQ(docker_.Lookup(id)->oom_events, 2u);
  docker_.OnOom(std::string(64, 'f'));  // unknown: ignored
  EXPECT_EQ(docker_.Lookup(std::string(64, 'f')), nullptr);
  EXPECT_EQ(Count("OOM kill"), 2);
}

TEST_F(DockerMetadataTest, FallbackAsksWithoutWaitingOneRequestAtATime) {
  docker_.OnSynced({Web('a')});
  const std::string id(64, 'a');
  std::vector<std::function<void(Result<docker::Stats>)>> pending;
  int asked = 0;
  docker_.SetStatsFetcher(
      [&](std::string got, std::function<void(Result<docker::Stats>)> done) {
        EXPECT_EQ(got, id);
        ++asked;
        pending.push_back(std::move(done));
      });
  EXPECT_FALSE(docker_.FallbackSample(id).has_value());  // nothing yet
  EXPECT_FALSE(docker_.FallbackSample(id).has_value());
  EXPECT_EQ(asked, 1);  // still in flight: not asked twice

  docker::Stats s;
  s.usage_bytes = 100 * kMiB;
  s.working_set_bytes = 90 * kMiB;
  s.rss_bytes = 80 * kMiB;
  s.cpu_usage_ns = 42;
  pending.back()(s);
  auto got = docker_.FallbackSample(id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->working_set_bytes, 90 * kMiB);
  EXPECT_EQ(got->limit_bytes, 512 * kMiB);  // inspect's, not the host's
  EXPECT_EQ(got->cpu_usage_ns, 42u);
  EXPECT_EQ(asked, 2);

  now_ += 11s;  // no fresh reading for longer than the max age
  EXPECT_FALSE(docker_.FallbackSample(id).has_value());
  // Logged once per container, not per pass.
  EXPECT_EQ(Count("sampling it through the Docker stats endpoint"), 1);
  // Unknown containers get nothing and cause no request.
  EXPECT_FALSE(docker_.FallbackSample(std::string(64, 'e')).has_value());
  EXPECT_EQ(asked, 2);
}

TEST_F(DockerMetadataTest, AStoppedContainersFallbackEndsAtOnce) {
  docker_.OnSynced({Web('a')});
  const std::string id(64, 'a');
  docker_.SetStatsFetcher(
      [&](std::string, std::function<void(Result<docker::Stats>)> done) {
        done(docker::Stats{});  // answers at once, on this thread
      });
  docker_.FallbackSample(id);
  ASSERT_TRUE(docker_.FallbackSample(id).has_value());
  docker_.SetStatsFetcher(
      [&](std::string, std::function<void(Result<docker::Stats>)> done) {
        done(MakeError(ErrorCode::kNotFound, "not running"));
      });
  docker_.FallbackSample(id);
  EXPECT_FALSE(docker_.FallbackSample(id).has_value());
}

TEST_F(DockerMetadataTest, WaitFirstContactReturnsOnEitherOutcome) {
  const auto start = std::chrono::steady_clock::now();
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    docker_.OnUp(false);
  });
  docker_.WaitFirstContact(5s);
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

// A runtime that lists containers and answers stats, for the sampler.
class FakeRuntime : public MetadataSource {
 public:
  std::shared_ptr<const ContainerMetadata> Lookup(
      std::string_view id) const override {
    auto it = known.find(std::string(id));
    return it == known.end() ? nullptr : it->second;
  }
  std::vector<std::pair<std::string, std::string>> Running() const override {
    return running;
  }
  std::optional<cgroup::Sample> FallbackSample(
      std::string_view id) const override {
    ++asked[std::string(id)];
    return stats;
  }
  std::map<std::string, std::shared_ptr<const ContainerMetadata>> known;
  std::vector<std::pair<std::string, std::string>> running;
  std::optional<cgroup::Sample> stats;
  mutable std::map<std::string, int> asked;
};

class SamplerFallbackTest : public ::testing::Test, protected Logged {
 protected:
  SamplerFallbackTest() {
    root_ = fs::temp_directory_path() /
            ("leakwatch-fallback-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "system.slice");
    std::ofstream(root_ / "cgroup.controllers") << "cpu memory\n";
  }
  ~SamplerFallbackTest() override { fs::remove_all(root_); }

  void AddCgroup(char fill) {
    fs::path dir =
        root_ / "system.slice" / ("docker-" + std::string(64, fill) + ".scope");
    fs::create_directories(dir);
    std::ofstream(dir / "memory.current") << "1048576\n";
    std::ofstream(dir / "memory.max") << "max\n";
    std::ofstream(dir / "memory.stat")
        << "anon 524288\nfile 524288\ninactive_file 0\n";
    std::ofstream(dir / "memory.events") << "oom_kill 0\n";
    std::ofstream(dir / "cpu.stat") << "usage_usec 1\n";
  }

  Sampler MakeSampler() {
    auto layout = cgroup::DetectLayout(root_);
    EXPECT_TRUE(layout.has_value());
    std::vector<std::chrono::milliseconds> windows = {15min};
    // A second per pass, so each pass appends to the histories.
    return Sampler(
        *layout, store::Geometry::For(1s, windows),
        [this] {
          return std::chrono::system_clock::time_point(
              std::chrono::seconds(1'800'000'000 + passes_++));
        },
        logger_, &runtime_);
  }

  static std::set<std::string> Ids(const Snapshot& s) {
    std::set<std::string> ids;
    for (const auto& c : s.containers) ids.insert(c.id);
    return ids;
  }

  fs::path root_;
  FakeRuntime runtime_;
  int passes_ = 0;
};

TEST_F(SamplerFallbackTest,
       ContainersMissingFromCgroupsAreSampledThroughDocker) {
  AddCgroup('a');  // in cgroups and in Docker: read from cgroups
  const std::string a(64, 'a'), d(64, 'd');
  runtime_.known[a] = std::make_shared<ContainerMetadata>();
  runtime_.known[d] = std::make_shared<ContainerMetadata>();
  runtime_.running = {{a, "/system.slice/docker-" + a + ".scope"},
                      {d, "/system.slice/docker-" + d + ".scope"}};
  cgroup::Sample s;
  s.working_set_bytes = 77 * kMiB;
  runtime_.stats = s;
  Sampler sampler = MakeSampler();

  // First pass: d may just be starting; discovery gets another pass.
  EXPECT_EQ(Ids(*sampler.RunPass()), std::set<std::string>{a});
  auto second = sampler.RunPass();
  EXPECT_EQ(Ids(*second), (std::set<std::string>{a, d}));
  for (const auto& c : second->containers) {
    EXPECT_EQ(c.sample.working_set_bytes, c.id == d ? 77 * kMiB : 1048576u);
  }
  EXPECT_EQ(runtime_.asked.count(a), 0u);  // cgroups first, always
  ASSERT_NE(sampler.HistoryOf(d), nullptr);
  sampler.RunPass();
  EXPECT_EQ(sampler.HistoryOf(d)->RawSize(), 2u);

  runtime_.stats.reset();  // no reading (Docker slow or gone)
  EXPECT_EQ(Ids(*sampler.RunPass()), std::set<std::string>{a});
  runtime_.stats = s;
  EXPECT_EQ(Ids(*sampler.RunPass()), (std::set<std::string>{a, d}));
  EXPECT_EQ(sampler.HistoryOf(d)->RawSize(), 3u);  // same history

  runtime_.running.pop_back();  // d stopped
  EXPECT_EQ(Ids(*sampler.RunPass()), std::set<std::string>{a});
  EXPECT_EQ(sampler.HistoryOf(d), nullptr);
}

TEST_F(SamplerFallbackTest, ACgroupThatAppearsTakesOverFromTheFallback) {
  const std::string b(64, 'b');
  runtime_.known[b] = std::make_shared<ContainerMetadata>();
  runtime_.running = {{b, "/system.slice/docker-" + b + ".scope"}};
  cgroup::Sample s;
  s.working_set_bytes = 5 * kMiB;
  runtime_.stats = s;
  Sampler sampler = MakeSampler();
  sampler.RunPass();
  auto via_docker = sampler.RunPass();
  ASSERT_EQ(via_docker->containers.size(), 1u);
  EXPECT_EQ(via_docker->containers[0].sample.working_set_bytes, 5 * kMiB);
  AddCgroup('b');
  auto via_cgroup = sampler.RunPass();
  ASSERT_EQ(via_cgroup->containers.size(), 1u);
  EXPECT_EQ(via_cgroup->containers[0].sample.working_set_bytes, 1048576u);
}

TEST_F(SamplerFallbackTest, NoRuntimeMeansNoFallback) {
  AddCgroup('a');
  auto layout = cgroup::DetectLayout(root_);
  ASSERT_TRUE(layout.has_value());
  std::vector<std::chrono::milliseconds> windows = {15min};
  Sampler sampler(
      *layout, store::Geometry::For(1s, windows),
      [] { return std::chrono::system_clock::now(); }, logger_);
  sampler.RunPass();
  EXPECT_EQ(sampler.RunPass()->containers.size(), 1u);
}

}  // namespace
}  // namespace leakwatch::exporter::detail
