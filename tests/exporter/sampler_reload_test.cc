// Sampler::Reconfigure and Submit: what a reload does to the sampler's
// state. A kept container's ring buffers must come through intact.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "exporter/detail/sampler.h"
#include "log/log.h"
#include "tests/exporter/v2_tree.h"

namespace leakwatch::exporter::detail {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::uint64_t kMiB = 1024 * 1024;

// A v2 tree whose containers' memory the test sets: half of it anonymous,
// a quarter page cache.
class Tree : public test_support::V2Tree {
 public:
  Tree() : V2Tree("leakwatch-reload") {}
  void Set(char fill, std::uint64_t current) {
    V2Tree::Set(fill, current, current / 2, current / 4);
  }
};

class FakeMetadata : public MetadataSource {
 public:
  std::map<std::string, std::string> names;
  std::shared_ptr<const ContainerMetadata> Lookup(
      std::string_view id) const override {
    auto it = names.find(std::string(id));
    if (it == names.end()) return nullptr;
    auto m = std::make_shared<ContainerMetadata>();
    m->name = it->second;
    return m;
  }
};

std::vector<config::Window> Windows(std::vector<std::string> labels) {
  std::string text;
  for (const auto& l : labels) text += (text.empty() ? "" : ",") + l;
  return *config::ParseWindows(text);
}

SamplerSettings Settings(milliseconds interval,
                         std::vector<std::string> windows,
                         std::vector<std::string> include = {},
                         std::vector<std::string> exclude = {}) {
  SamplerSettings s;
  s.interval = interval;
  s.windows = Windows(std::move(windows));
  config::ContainerSelection selection;
  selection.include = std::move(include);
  selection.exclude = std::move(exclude);
  auto filter = ContainerFilter::Make(selection);
  EXPECT_TRUE(filter.has_value());
  s.filter = *filter;
  return s;
}

store::Geometry GeometryOf(const SamplerSettings& s) {
  std::vector<milliseconds> durations;
  for (const auto& w : s.windows) durations.push_back(w.duration);
  return store::Geometry::For(s.interval, durations);
}

// Every raw sample and bucket of a history, for before/after comparison.
struct Contents {
  std::vector<std::pair<store::Millis, std::array<std::uint64_t, 4>>> raw;
  std::vector<
      std::tuple<store::Millis, std::uint32_t, std::array<std::uint64_t, 4>,
                 std::array<std::uint64_t, 4>>>
      buckets;
  bool operator==(const Contents&) const = default;
};

Contents Dump(const store::History& h) {
  Contents c;
  for (std::size_t i = 0; i < h.RawSize(); ++i) {
    c.raw.emplace_back(h.Raw(i).t_ms, h.Raw(i).bytes);
  }
  for (const store::Bucket& b : h.Buckets()) {
    c.buckets.emplace_back(b.start_ms, b.count, b.min, b.last);
  }
  return c;
}

class SamplerReload : public ::testing::Test {
 protected:
  SamplerReload()
      : logger_(log::Level::kDebug, log::Format::kLogfmt,
                std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)) {}

  std::unique_ptr<Sampler> Make(const SamplerSettings& settings,
                                const MetadataSource* metadata = nullptr) {
    auto layout = cgroup::DetectLayout(tree_.root());
    EXPECT_TRUE(layout.has_value());
    auto sampler = std::make_unique<Sampler>(
        *layout, GeometryOf(settings),
        [this] {
          return std::chrono::system_clock::time_point(
              std::chrono::milliseconds(now_ms_));
        },
        logger_, metadata);
    sampler->Reconfigure(settings);
    return sampler;
  }

  // n passes, step ms apart, container 'a' growing by 4 KiB each pass.
  void Passes(Sampler& sampler, int n, std::int64_t step_ms) {
    for (int i = 0; i < n; ++i) {
      now_ms_ += step_ms;
      tree_.Set('a', 100 * kMiB + static_cast<std::uint64_t>(++pass_) * 4096);
      sampler.RunPass();
    }
  }

  std::ostringstream log_;
  log::Logger logger_;
  Tree tree_;
  std::int64_t now_ms_ = 1'800'000'000'000;
  int pass_ = 0;
};

TEST_F(SamplerReload, AShorterIntervalKeepsEveryStoredSampleIntact) {
  tree_.Set('a', 100 * kMiB);
  auto sampler = Make(Settings(seconds(5), {"15m", "1h"}));
  Passes(*sampler, 40, 5000);
  const store::History* before = sampler->HistoryOf(Tree::Id('a'));
  ASSERT_NE(before, nullptr);
  ASSERT_EQ(before->RawSize(), 40u);
  const Contents saved = Dump(*before);

  sampler->Reconfigure(Settings(seconds(1), {"15m", "1h"}));
  const store::History* after = sampler->HistoryOf(Tree::Id('a'));
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->geometry().interval_ms, 1000);
  EXPECT_GT(after->geometry().raw_capacity, before->RawSize());
  EXPECT_EQ(Dump(*after), saved);
  EXPECT_EQ(sampler->interval(), seconds(1));

  // Sampling goes on into the same history.
  Passes(*sampler, 3, 1000);
  after = sampler->HistoryOf(Tree::Id('a'));
  ASSERT_EQ(after->RawSize(), 43u);
  for (std::size_t i = 0; i < saved.raw.size(); ++i) {
    EXPECT_EQ(after->Raw(i).t_ms, saved.raw[i].first) << i;
    EXPECT_EQ(after->Raw(i).bytes, saved.raw[i].second) << i;
  }
  EXPECT_EQ(after->Latest().t_ms, now_ms_);
}

TEST_F(SamplerReload, ALongerIntervalKeepsTheNewestSamplesThatFit) {
  tree_.Set('a', 100 * kMiB);
  auto sampler = Make(Settings(seconds(5), {"15m"}));
  Passes(*sampler, 50, 5000);
  const Contents saved = Dump(*sampler->HistoryOf(Tree::Id('a')));
  ASSERT_EQ(saved.raw.size(), 50u);

  // 15 min at 30 s holds 31 samples: the 19 oldest go, the rest stay as
  // they were, timestamps and values.
  sampler->Reconfigure(Settings(seconds(30), {"15m"}));
  const store::History* after = sampler->HistoryOf(Tree::Id('a'));
  ASSERT_EQ(after->geometry().raw_capacity, 31u);
  ASSERT_EQ(after->RawSize(), 31u);
  for (std::size_t i = 0; i < 31; ++i) {
    EXPECT_EQ(after->Raw(i).t_ms, saved.raw[19 + i].first) << i;
    EXPECT_EQ(after->Raw(i).bytes, saved.raw[19 + i].second) << i;
  }
}

TEST_F(SamplerReload, UnchangedSettingsChangeNothing) {
  tree_.Set('a', 100 * kMiB);
  auto sampler = Make(Settings(seconds(5), {"15m"}));
  Passes(*sampler, 10, 5000);
  const Contents saved = Dump(*sampler->HistoryOf(Tree::Id('a')));
  sampler->Reconfigure(Settings(seconds(5), {"15m"}));
  EXPECT_EQ(Dump(*sampler->HistoryOf(Tree::Id('a'))), saved);
}

TEST_F(SamplerReload, ExcludedContainersAreNotWatchedAtAll) {
  tree_.Set('a', 100 * kMiB);
  tree_.Set('b', 50 * kMiB);
  auto sampler = Make(Settings(seconds(5), {"15m"}));
  Passes(*sampler, 3, 5000);
  ASSERT_NE(sampler->HistoryOf(Tree::Id('b')), nullptr);
  const Contents kept = Dump(*sampler->HistoryOf(Tree::Id('a')));

  sampler->Reconfigure(Settings(seconds(5), {"15m"}, {}, {"b+"}));
  EXPECT_EQ(sampler->HistoryOf(Tree::Id('b')), nullptr);
  EXPECT_EQ(Dump(*sampler->HistoryOf(Tree::Id('a'))), kept);
  for (int i = 0; i < 3; ++i) {
    now_ms_ += 5000;
    auto snap = sampler->RunPass();
    ASSERT_EQ(snap->containers.size(), 1u);
    EXPECT_EQ(snap->containers[0].id, Tree::Id('a'));
    EXPECT_EQ(sampler->HistoryOf(Tree::Id('b')), nullptr);
  }
  // Said once, not every pass.
  const std::string log = log_.str();
  const auto first = log.find("Container excluded by filter");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("Container excluded by filter", first + 1),
            std::string::npos)
      << log;

  // Let back in, it starts afresh.
  sampler->Reconfigure(Settings(seconds(5), {"15m"}));
  now_ms_ += 5000;
  auto snap = sampler->RunPass();
  ASSERT_EQ(snap->containers.size(), 2u);
  EXPECT_EQ(sampler->HistoryOf(Tree::Id('b'))->RawSize(), 1u);
  EXPECT_EQ(snap->containers[1].first_seen_seconds, now_ms_ / 1000.0);
}

TEST_F(SamplerReload, FiltersMatchTheRuntimeNameOrElseTheId) {
  tree_.Set('a', 100 * kMiB);
  tree_.Set('b', 50 * kMiB);
  tree_.Set('c', 50 * kMiB);
  FakeMetadata metadata;
  metadata.names[Tree::Id('a')] = "web-1";
  metadata.names[Tree::Id('b')] = "db";
  // 'c' has no name: its id is matched.
  auto sampler =
      Make(Settings(seconds(5), {"15m"}, {"web-.*", "c+"}), &metadata);
  now_ms_ += 5000;
  auto snap = sampler->RunPass();
  ASSERT_EQ(snap->containers.size(), 2u);
  EXPECT_EQ(snap->containers[0].id, Tree::Id('a'));
  EXPECT_EQ(snap->containers[1].id, Tree::Id('c'));

  // A name learnt later counts from the next pass.
  metadata.names[Tree::Id('c')] = "cache";
  now_ms_ += 5000;
  snap = sampler->RunPass();
  ASSERT_EQ(snap->containers.size(), 1u);
  EXPECT_EQ(snap->containers[0].id, Tree::Id('a'));
}

TEST_F(SamplerReload, SubmittedSettingsApplyAtTheStartOfTheNextPass) {
  tree_.Set('a', 100 * kMiB);
  auto sampler = Make(Settings(seconds(5), {"15m"}));
  Passes(*sampler, 5, 5000);
  const Contents saved = Dump(*sampler->HistoryOf(Tree::Id('a')));

  SamplerSettings next = Settings(seconds(2), {"15m", "1h"});
  next.label_keys = {"com.example.team"};
  std::thread([&] { sampler->Submit(next); }).join();
  // Nothing changes until the sampling thread's next pass...
  EXPECT_EQ(sampler->interval(), seconds(5));
  now_ms_ += 2000;
  auto snap = sampler->RunPass();
  // ...which applies them first.
  EXPECT_EQ(sampler->interval(), seconds(2));
  EXPECT_EQ(*snap->label_keys, std::vector<std::string>{"com.example.team"});
  const store::History* h = sampler->HistoryOf(Tree::Id('a'));
  ASSERT_EQ(h->RawSize(), 6u);
  for (std::size_t i = 0; i < saved.raw.size(); ++i) {
    EXPECT_EQ(h->Raw(i).t_ms, saved.raw[i].first);
  }
  EXPECT_EQ(h->geometry().history_ms, 3600'000);
}

}  // namespace
}  // namespace leakwatch::exporter::detail
