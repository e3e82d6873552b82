#include "exporter/detail/sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "log/log.h"

namespace leakwatch::exporter::detail {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::uint64_t kMiB = 1024 * 1024;

// A minimal cgroup v2 tree written by the test itself, so containers can
// appear and vanish between passes.
class V2Tree {
 public:
  V2Tree() {
    root_ = fs::temp_directory_path() /
            ("leakwatch-sampler-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "system.slice");
    Write(root_ / "cgroup.controllers", "cpuset cpu io memory pids\n");
  }
  ~V2Tree() { fs::remove_all(root_); }

  const fs::path& root() const { return root_; }

  fs::path AddContainer(char fill, std::uint64_t current, std::uint64_t anon,
                        std::uint64_t file, std::uint64_t inactive_file) {
    fs::path dir =
        root_ / "system.slice" / ("docker-" + std::string(64, fill) + ".scope");
    fs::create_directories(dir);
    Write(dir / "memory.current", std::to_string(current) + "\n");
    Write(dir / "memory.max", "max\n");
    Write(dir / "memory.stat", "anon " + std::to_string(anon) + "\nfile " +
                                   std::to_string(file) + "\ninactive_file " +
                                   std::to_string(inactive_file) + "\n");
    Write(dir / "memory.events",
          "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
    Write(dir / "cpu.stat",
          "usage_usec 1000\nuser_usec 600\nsystem_usec 400\n");
    return dir;
  }

  static void Write(const fs::path& path, const std::string& text) {
    std::ofstream(path) << text;
  }

 private:
  fs::path root_;
};

WallClock StepClock(double* now) {
  return [now] {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(*now)));
  };
}

store::Geometry Geometry() {
  std::vector<std::chrono::milliseconds> windows = {std::chrono::minutes(15)};
  return store::Geometry::For(std::chrono::seconds(5), windows);
}

class SamplerTest : public ::testing::Test {
 protected:
  SamplerTest()
      : logger_(log::Level::kDebug, log::Format::kLogfmt,
                std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)) {}

  std::ostringstream log_;
  log::Logger logger_;
  V2Tree tree_;
  double now_ = 1'800'000'000.0;
};

TEST_F(SamplerTest, SamplesEveryContainerAndAppendsToItsHistory) {
  tree_.AddContainer('a', 200 * kMiB, 150 * kMiB, 40 * kMiB, 30 * kMiB);
  tree_.AddContainer('b', 20 * kMiB, 10 * kMiB, 8 * kMiB, 1 * kMiB);
  auto layout = cgroup::DetectLayout(tree_.root());
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  Sampler sampler(*layout, Geometry(), StepClock(&now_), logger_);

  auto snap = sampler.RunPass();
  ASSERT_EQ(snap->containers.size(), 2u);
  EXPECT_EQ(snap->containers[0].id, std::string(64, 'a'));
  EXPECT_EQ(snap->containers[0].sample.working_set_bytes, 170 * kMiB);
  EXPECT_EQ(snap->containers[1].sample.rss_bytes, 10 * kMiB);
  EXPECT_EQ(snap->passes, 1u);

  now_ += 5;
  snap = sampler.RunPass();
  const store::History* h = sampler.HistoryOf(std::string(64, 'a'));
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(h->RawSize(), 2u);
  EXPECT_EQ(h->Latest().t_ms, static_cast<store::Millis>(now_ * 1000));
  EXPECT_EQ(h->Latest()[store::Input::kWorkingSet], 170 * kMiB);
  EXPECT_EQ(h->Latest()[store::Input::kRss], 150 * kMiB);
  EXPECT_EQ(h->Latest()[store::Input::kCache], 40 * kMiB);
  // What the estimator judges: no shmem or kernel memory in this tree, so
  // anonymous memory.
  EXPECT_EQ(h->Latest()[store::Input::kUnreclaimable], 150 * kMiB);
}

TEST_F(SamplerTest, SnapshotsShareEachContainersLiveHistoryAndWindows) {
  tree_.AddContainer('a', 200 * kMiB, 150 * kMiB, 40 * kMiB, 30 * kMiB);
  auto layout = cgroup::DetectLayout(tree_.root());
  ASSERT_TRUE(layout.has_value());
  Sampler sampler(*layout, Geometry(), StepClock(&now_), logger_);
  SamplerSettings settings;
  settings.interval = std::chrono::seconds(5);
  settings.windows = {{std::chrono::minutes(15), "15m"},
                      {std::chrono::hours(1), "60m"}};
  sampler.Reconfigure(settings);
  auto first = sampler.RunPass();
  ASSERT_EQ(first->containers.size(), 1u);
  EXPECT_EQ(*first->window_labels, (std::vector<std::string>{"15m", "60m"}));
  EXPECT_EQ(*first->window_durations,
            (std::vector<std::chrono::milliseconds>{std::chrono::minutes(15),
                                                    std::chrono::hours(1)}));
  EXPECT_EQ(first->sample_interval, std::chrono::seconds(5));
  // The snapshot holds the container's own rings, not a copy: the API
  // reads them as they are when asked.
  const std::shared_ptr<const SharedHistory> shared =
      first->containers[0].history;
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(&shared->owned(), sampler.HistoryOf(std::string(64, 'a')));
  EXPECT_EQ(shared->Copy().RawSize(), 1u);
  now_ += 5;
  sampler.RunPass();
  EXPECT_EQ(shared->Copy().RawSize(), 2u);
  // A container the sampler drops keeps its history for snapshots that
  // still show it.
  fs::remove_all(tree_.root() / "system.slice");
  fs::create_directories(tree_.root() / "system.slice");
  now_ += 5;
  EXPECT_TRUE(sampler.RunPass()->containers.empty());
  EXPECT_EQ(sampler.HistoryOf(std::string(64, 'a')), nullptr);
  EXPECT_EQ(shared->Copy().RawSize(), 2u);
}

TEST_F(SamplerTest, NoticesNewAndVanishedContainersEveryPass) {
  fs::path a = tree_.AddContainer('a', 2 * kMiB, kMiB, kMiB, 0);
  auto layout = cgroup::DetectLayout(tree_.root());
  ASSERT_TRUE(layout.has_value());
  Sampler sampler(*layout, Geometry(), StepClock(&now_), logger_);
  ASSERT_EQ(sampler.RunPass()->containers.size(), 1u);
  const double first_seen = now_;

  now_ += 5;
  tree_.AddContainer('c', 3 * kMiB, kMiB, kMiB, 0);
  auto snap = sampler.RunPass();
  ASSERT_EQ(snap->containers.size(), 2u);
  EXPECT_EQ(snap->containers[0].first_seen_seconds, first_seen);
  EXPECT_EQ(snap->containers[1].first_seen_seconds, now_);

  now_ += 5;
  fs::remove_all(a);
  snap = sampler.RunPass();
  ASSERT_EQ(snap->containers.size(), 1u);
  EXPECT_EQ(snap->containers[0].id, std::string(64, 'c'));
  EXPECT_EQ(sampler.HistoryOf(std::string(64, 'a')), nullptr);
  // Vanishing is routine: nothing above debug level.
  EXPECT_THAT(log_.str(), Not(HasSubstr("level=warn")));
  EXPECT_THAT(log_.str(), Not(HasSubstr("level=error")));
}

TEST_F(SamplerTest, ABrokenFileKeepsTheLastGoodSampleAndWarnsOnce) {
  fs::path a = tree_.AddContainer('a', 2 * kMiB, kMiB, kMiB, 0);
  auto layout = cgroup::DetectLayout(tree_.root());
  ASSERT_TRUE(layout.has_value());
  Sampler sampler(*layout, Geometry(), StepClock(&now_), logger_);
  sampler.RunPass();

  V2Tree::Write(a / "memory.current", "garbage\n");
  for (int i = 0; i < 3; ++i) {
    now_ += 5;
    auto snap = sampler.RunPass();
    ASSERT_EQ(snap->containers.size(), 1u);
    EXPECT_EQ(snap->containers[0].sample.usage_bytes, 2 * kMiB);
  }
  std::string log = log_.str();
  std::size_t first = log.find("Cannot read container cgroup");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("Cannot read container cgroup", first + 1),
            std::string::npos)
      << "warned more than once:\n"
      << log;
  EXPECT_EQ(sampler.HistoryOf(std::string(64, 'a'))->RawSize(), 1u);
}

TEST_F(SamplerTest, ADyingCgroupEndsItsSeriesOnceAndMayComeBack) {
  fs::path a = tree_.AddContainer('a', 2 * kMiB, kMiB, kMiB, 0);
  auto layout = cgroup::DetectLayout(tree_.root());
  ASSERT_TRUE(layout.has_value());
  Sampler sampler(*layout, Geometry(), StepClock(&now_), logger_);
  ASSERT_EQ(sampler.RunPass()->containers.size(), 1u);

  // Still listed, but its files read empty, as a dying cgroup's do.
  V2Tree::Write(a / "memory.stat", "");
  for (int i = 0; i < 3; ++i) {
    now_ += 5;
    EXPECT_TRUE(sampler.RunPass()->containers.empty());
  }
  const std::string log = log_.str();
  const std::size_t gone = log.find("Container gone");
  ASSERT_NE(gone, std::string::npos) << log;
  EXPECT_EQ(log.find("Container gone", gone + 1), std::string::npos) << log;
  EXPECT_EQ(log.find("Container appeared", log.find("Container appeared") + 1),
            std::string::npos)
      << "re-added every pass:\n"
      << log;

  // `docker restart` reuses the path: the container reads again, and its
  // history continues.
  tree_.AddContainer('a', 3 * kMiB, kMiB, kMiB, 0);
  now_ += 5;
  auto snap = sampler.RunPass();
  ASSERT_EQ(snap->containers.size(), 1u);
  EXPECT_EQ(snap->containers[0].sample.usage_bytes, 3 * kMiB);
  EXPECT_EQ(sampler.HistoryOf(std::string(64, 'a'))->RawSize(), 2u);
}

TEST_F(SamplerTest, SnapshotBoxHandsOutTheNewestSnapshot) {
  SnapshotBox box;
  EXPECT_EQ(box.Get()->passes, 0u);
  auto s = std::make_shared<Snapshot>();
  s->passes = 3;
  box.Publish(s);
  EXPECT_EQ(box.Get()->passes, 3u);
}

}  // namespace
}  // namespace leakwatch::exporter::detail
