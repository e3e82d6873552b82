// ProcessTrends: naming the process a leak is in.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "estimator/estimator.h"

namespace leakwatch::estimator {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr std::int64_t kT0 = 1'700'000'000'000;
const std::vector<milliseconds> kWindows = {minutes(15), minutes(60)};

// Reads every 30 s for `minutes_long`; each process's anon memory is
// given by its function of seconds.
struct Proc {
  std::int32_t pid;
  std::string comm;
  std::function<double(double)> anon;
};

void Feed(ProcessTrends& trends, const std::vector<Proc>& procs, double from_s,
          double to_s) {
  for (double t = from_s; t < to_s; t += 30) {
    std::vector<ProcessObservation> seen;
    for (const Proc& p : procs) {
      seen.push_back({p.pid, p.comm, p.anon(t), 1 * kMiB});
    }
    trends.Update(kT0 + static_cast<std::int64_t>(t * 1000), seen);
  }
}

TEST(ProcessTrends, NamesTheOneProcessWhoseHeapGrows) {
  ProcessTrends trends(kWindows);
  const double rate = 10 * kMiB / 3600;  // 10 MiB/h
  Feed(trends,
       {{100, "nginx", [](double) { return 40 * kMiB; }},
        {4711, "node", [&](double t) { return 80 * kMiB + rate * t; }},
        {200, "sidecar", [](double) { return 60 * kMiB; }}},
       0, 3600);
  auto who = trends.Attribute(0, Kind::kAnon, rate);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->pid, 4711);
  EXPECT_EQ(who->comm, "node");
  EXPECT_NEAR(who->slope_bytes_per_second, rate, 0.05 * rate);
  ASSERT_TRUE(trends.Attribute(1, Kind::kAnon, rate).has_value());
  // Growth in a process's anon memory says nothing of shmem, and no
  // process owns kernel memory.
  EXPECT_FALSE(trends.Attribute(0, Kind::kShmem, rate).has_value());
  EXPECT_FALSE(trends.Attribute(0, Kind::kKernel, rate).has_value());
}

TEST(ProcessTrends, NamesNoneWhenTheGrowthIsSpreadOverProcesses) {
  ProcessTrends trends(kWindows);
  const double rate = 10 * kMiB / 3600;
  Feed(trends,
       {{11, "worker", [&](double t) { return 50 * kMiB + rate / 2 * t; }},
        {12, "worker", [&](double t) { return 51 * kMiB + rate / 2 * t; }}},
       0, 3600);
  EXPECT_FALSE(trends.Attribute(0, Kind::kAnon, rate).has_value());
}

TEST(ProcessTrends, AProcessThatExitsEndsItsHistory) {
  ProcessTrends trends(kWindows);
  const double rate = 10 * kMiB / 3600;
  auto leak = [&](double t) { return 80 * kMiB + rate * t; };
  Feed(trends, {{4711, "node", leak}}, 0, 1800);
  ASSERT_TRUE(trends.Attribute(0, Kind::kAnon, rate).has_value());
  // The PID is reused by another command: a new process, with no trend
  // of its own yet.
  Feed(trends, {{4711, "sh", leak}}, 1800, 1860);
  EXPECT_FALSE(trends.Attribute(0, Kind::kAnon, rate).has_value());
}

TEST(ProcessTrends, FollowsOnlyTheLargestFewAndPicksUpAGrowingNewcomer) {
  // Ten processes, four slots: the leaker starts as the smallest and is
  // followed once it outgrows a followed one.
  ProcessTrends trends(kWindows, 4);
  const double rate = 120 * kMiB / 3600;
  std::vector<Proc> procs;
  for (int i = 0; i < 9; ++i) {
    procs.push_back(
        {1000 + i, "php-fpm", [i](double) { return (20.0 + i) * kMiB; }});
  }
  procs.push_back(
      {2000, "leaker", [&](double t) { return 1 * kMiB + rate * t; }});
  Feed(trends, procs, 0, 600);
  EXPECT_FALSE(trends.Attribute(0, Kind::kAnon, rate).has_value());
  Feed(trends, procs, 600, 3600);
  auto who = trends.Attribute(0, Kind::kAnon, rate);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->pid, 2000);
}

}  // namespace
}  // namespace leakwatch::estimator
