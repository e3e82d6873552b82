// The leak estimator inside the daemon: samples recorded by the sampler
// feed each container's estimator, and the collector exports its verdicts
// per window.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "exporter/detail/collectors.h"
#include "exporter/detail/sampler.h"
#include "log/log.h"
#include "tests/exporter/v2_tree.h"

namespace leakwatch::exporter::detail {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr double kHostMemory = 4.0 * 1024 * kMiB;

// A v2 tree whose containers' memory the test sets before each pass; anon
// is what a leak fills, with 8 MiB of page cache beside it.
class Tree : public test_support::V2Tree {
 public:
  Tree() : V2Tree("leakwatch-leak") {}
  void Set(char fill, std::uint64_t anon, const std::string& max) {
    V2Tree::Set(fill, anon + 8 * kMiB, anon, 8 * kMiB, max);
  }
};

SamplerSettings Settings(const std::string& windows,
                         estimator::Params params = {},
                         double host_memory = kHostMemory) {
  SamplerSettings s;
  s.interval = std::chrono::seconds(1);
  s.windows = *config::ParseWindows(windows);
  s.leak_params = params;
  s.host_memory_bytes = host_memory;
  return s;
}

store::Geometry GeometryOf(const SamplerSettings& s) {
  std::vector<milliseconds> durations;
  for (const auto& w : s.windows) durations.push_back(w.duration);
  return store::Geometry::For(s.interval, durations);
}

// The value of name{id="<fill x 64>",window="<window>"}, or nullopt.
std::optional<double> Value(const std::string& text, const std::string& name,
                            char fill, const std::string& window) {
  const std::string prefix =
      name + "{id=\"" + Tree::Id(fill) + "\",window=\"" + window + "\"} ";
  const auto at = text.find("\n" + prefix);
  if (at == std::string::npos) return std::nullopt;
  return std::stod(text.substr(at + 1 + prefix.size()));
}

class SamplerLeak : public ::testing::Test {
 protected:
  SamplerLeak()
      : logger_(log::Level::kDebug, log::Format::kLogfmt,
                std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)) {}

  void Start(const SamplerSettings& settings) {
    auto layout = cgroup::DetectLayout(tree_.root());
    ASSERT_TRUE(layout.has_value()) << layout.error().message;
    sampler_ = std::make_unique<Sampler>(*layout, GeometryOf(settings), Clock(),
                                         logger_);
    sampler_->Reconfigure(settings);
  }

  WallClock Clock() {
    return [this] {
      return std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::duration<double>(now_)));
    };
  }

  // One pass a second: 'a' leaks 1 MiB per second under a 512 MiB limit,
  // 'b' holds 100 MiB give or take 64 KiB.
  void Run(int passes) {
    for (int i = 0; i < passes; ++i, ++step_) {
      tree_.Set('a', 64 * kMiB + step_ * kMiB, std::to_string(512 * kMiB));
      tree_.Set('b', 100 * kMiB + (step_ % 2) * 64 * 1024,
                std::to_string(512 * kMiB));
      box_.Publish(sampler_->RunPass());
      now_ += 1;
    }
  }

  std::string Scrape() {
    std::vector<std::shared_ptr<prometheus::Collectable>> c = {
        std::make_shared<ContainerCollector>(box_),
        std::make_shared<ExporterCollector>(box_, ExporterInfo{}, Clock())};
    return Render(c);
  }

  std::ostringstream log_;
  log::Logger logger_;
  Tree tree_;
  double now_ = 1'800'000'000.0;
  std::uint64_t step_ = 0;
  std::unique_ptr<Sampler> sampler_;
  SnapshotBox box_;
};

constexpr const char* kSuspected = "leakwatch_container_memory_leak_suspected";
constexpr const char* kScore = "leakwatch_container_memory_leak_score";
constexpr const char* kSlope =
    "leakwatch_container_memory_leak_slope_bytes_per_second";
constexpr const char* kRSquared = "leakwatch_container_memory_leak_r_squared";
constexpr const char* kTimeToLimit =
    "leakwatch_container_memory_time_to_limit_seconds";

TEST_F(SamplerLeak, ALeakIsSuspectedAndAFlatContainerIsNot) {
  Start(Settings("2m,1h"));
  // Two minutes fill the 2m window; a few more buckets let the verdict
  // persist.
  Run(150);
  const std::string text = Scrape();
  EXPECT_EQ(Value(text, kSuspected, 'a', "2m"), 1.0) << text;
  EXPECT_GT(Value(text, kScore, 'a', "2m").value_or(0), 0.5);
  EXPECT_NEAR(Value(text, kSlope, 'a', "2m").value_or(0), 1.0 * kMiB,
              0.01 * kMiB);
  EXPECT_GT(Value(text, kRSquared, 'a', "2m").value_or(0), 0.99);
  // 512 MiB limit, at about 214 MiB, growing 1 MiB/s: about 300 s left.
  EXPECT_NEAR(Value(text, kTimeToLimit, 'a', "2m").value_or(0), 300, 10);

  EXPECT_EQ(Value(text, kSuspected, 'b', "2m"), 0.0);
  EXPECT_EQ(Value(text, kScore, 'b', "2m"), 0.0);
  EXPECT_NEAR(Value(text, kSlope, 'b', "2m").value_or(1e9), 0, 1024);
  EXPECT_EQ(Value(text, kTimeToLimit, 'b', "2m"), std::nullopt);

  // The 1h window has not seen an hour yet: score and suspected are there
  // (0), the fit is not.
  for (char c : {'a', 'b'}) {
    EXPECT_EQ(Value(text, kSuspected, c, "1h"), 0.0) << c;
    EXPECT_EQ(Value(text, kScore, c, "1h"), 0.0) << c;
    EXPECT_EQ(Value(text, kSlope, c, "1h"), std::nullopt) << c;
    EXPECT_EQ(Value(text, kRSquared, c, "1h"), std::nullopt) << c;
    EXPECT_EQ(Value(text, kTimeToLimit, c, "1h"), std::nullopt) << c;
  }
  EXPECT_THAT(text, HasSubstr("# TYPE " + std::string(kSuspected) + " gauge"));
}

TEST_F(SamplerLeak, ScoreAndSuspectedExistFromTheFirstSample) {
  Start(Settings("2m"));
  Run(1);
  const std::string text = Scrape();
  EXPECT_EQ(Value(text, kSuspected, 'a', "2m"), 0.0) << text;
  EXPECT_EQ(Value(text, kScore, 'a', "2m"), 0.0);
  EXPECT_THAT(text, Not(HasSubstr(kSlope)));
  EXPECT_THAT(text, Not(HasSubstr(kRSquared)));
  EXPECT_THAT(text, Not(HasSubstr(kTimeToLimit)));
}

TEST_F(SamplerLeak, WithoutACgroupLimitTheHostsMemoryIsTheLimit) {
  Start(Settings("2m"));
  for (int i = 0; i < 150; ++i, ++step_) {
    tree_.Set('a', 64 * kMiB + step_ * 8 * kMiB, "max");
    box_.Publish(sampler_->RunPass());
    now_ += 1;
  }
  std::string text = Scrape();
  // 4 GiB of host memory, at about 1256 MiB, growing 8 MiB/s.
  EXPECT_NEAR(Value(text, kTimeToLimit, 'a', "2m").value_or(0),
              (4096.0 - 1256.0) / 8.0, 10)
      << text;
  EXPECT_EQ(Value(text, kSuspected, 'a', "2m"), 1.0);

  // Host memory unknown: no time to limit rather than an invented one.
  Start(Settings("2m", {}, estimator::kUnknown));
  for (int i = 0; i < 150; ++i, ++step_) {
    tree_.Set('a', 64 * kMiB + step_ * 8 * kMiB, "max");
    box_.Publish(sampler_->RunPass());
    now_ += 1;
  }
  text = Scrape();
  EXPECT_EQ(Value(text, kTimeToLimit, 'a', "2m"), std::nullopt);
  EXPECT_TRUE(Value(text, kSlope, 'a', "2m").has_value());
}

TEST_F(SamplerLeak, AReloadKeepsTheStateOfWindowsStillListed) {
  Start(Settings("2m,1h"));
  Run(150);
  ASSERT_EQ(Value(Scrape(), kSuspected, 'a', "2m"), 1.0);

  sampler_->Reconfigure(Settings("2m,5m"));
  Run(1);
  const std::string text = Scrape();
  // 2m carries on where it was; 5m starts empty; 1h is gone.
  EXPECT_EQ(Value(text, kSuspected, 'a', "2m"), 1.0) << text;
  EXPECT_TRUE(Value(text, kSlope, 'a', "2m").has_value());
  EXPECT_EQ(Value(text, kSuspected, 'a', "5m"), 0.0);
  EXPECT_EQ(Value(text, kSlope, 'a', "5m"), std::nullopt);
  EXPECT_THAT(text, Not(HasSubstr("window=\"1h\"")));
}

TEST_F(SamplerLeak, AReloadAppliesNewThresholds) {
  Start(Settings("2m"));
  Run(150);
  ASSERT_EQ(Value(Scrape(), kSuspected, 'a', "2m"), 1.0);

  // 1 MiB/s under 512 MiB is 700 % of the limit per hour: healthy now.
  estimator::Params lenient;
  lenient.healthy_growth_per_hour = 10;
  lenient.leak_growth_per_hour = 20;
  sampler_->Reconfigure(Settings("2m", lenient));
  // The window keeps its history and verdict through the change: its fit
  // is there at once, not after another two minutes.
  Run(1);
  const std::string kept = Scrape();
  EXPECT_TRUE(Value(kept, kSlope, 'a', "2m").has_value()) << kept;
  EXPECT_EQ(Value(kept, kSuspected, 'a', "2m"), 1.0);
  Run(150);
  const std::string text = Scrape();
  EXPECT_EQ(Value(text, kSuspected, 'a', "2m"), 0.0) << text;
  EXPECT_EQ(Value(text, kScore, 'a', "2m"), 0.0);
  EXPECT_TRUE(Value(text, kSlope, 'a', "2m").has_value());
}

}  // namespace
}  // namespace leakwatch::exporter::detail
