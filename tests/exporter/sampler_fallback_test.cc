// The sampler's stats fallback: containers Docker runs and cgroups do not
// show are sampled through the runtime.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "cgroup/cgroup.h"
#include "exporter/detail/sampler.h"
#include "tests/exporter/docker_fixtures.h"

namespace leakwatch::exporter::detail {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using fixtures::kMiB;
using fixtures::Logged;

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
