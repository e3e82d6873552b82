// What leaks: the signal made of every kind of memory the kernel cannot
// reclaim, and the kind named for a suspected window.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "estimator/estimator.h"

namespace leakwatch::estimator {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kLimit = 512 * kMiB;
constexpr std::int64_t kT0 = 1'700'000'000'000;

double PerHour(double fraction) { return kLimit * fraction / 3600.0; }

// Each input as a function of seconds since the start.
struct Trace {
  std::function<double(double)> anon = [](double) { return 100 * kMiB; };
  std::function<double(double)> shmem = [](double) { return 4 * kMiB; };
  std::function<double(double)> kernel = [](double) { return 6 * kMiB; };
  std::function<double(double)> slab = [](double) { return 3 * kMiB; };
  std::function<double(double)> sock;    // absent unless set
  std::function<double(double)> active;  // page cache, beside shmem
  bool with_kinds = true;                // false: only today's inputs
};

// Samples every 5 s for `duration_h`: anon gets a 20 MiB GC sawtooth with a
// 60 s period, every input some noise.
Estimator Simulate(double duration_h, const Trace& trace) {
  const std::vector<milliseconds> windows = {minutes(15), hours(1), hours(6)};
  Estimator est(windows);
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 0.2 * kMiB);
  for (double t = 0; t < duration_h * 3600; t += 5) {
    Observation o;
    o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
    o.rss = trace.anon(t) + 20 * kMiB * std::fmod(t / 60.0, 1.0) + noise(rng);
    const double shmem = trace.shmem(t) + std::abs(noise(rng));
    const double active = trace.active ? trace.active(t) : 30 * kMiB;
    o.cache = shmem + active;
    const double kernel = trace.kernel(t) + std::abs(noise(rng));
    o.usage = o.rss + o.cache + kernel;
    o.working_set = o.usage;
    o.limit = kLimit;
    if (trace.with_kinds) {
      o.swap = 0;
      o.shmem = shmem;
      o.kernel = kernel;
      o.slab = trace.slab(t);
      if (trace.sock) o.sock = trace.sock(t);
    }
    est.Update(o);
  }
  return est;
}

double KindSlope(const Verdict& v, Kind kind) {
  return v.kind_slopes_bytes_per_second[static_cast<std::size_t>(kind)];
}

TEST(LeakKinds, WithoutKindsAShmemLeakIsInvisible) {
  // Files piling up in a tmpfs grow `cache`, which anonymous memory alone
  // never sees: the blindness the kinds end.
  const double rate = PerHour(0.10);
  Trace trace;
  trace.shmem = [&](double t) { return 4 * kMiB + rate * t; };
  trace.with_kinds = false;
  const Estimator est = Simulate(3, trace);
  for (const Verdict& v : est.verdicts()) {
    EXPECT_FALSE(v.first_suspected_at_ms.has_value());
  }
}

TEST(LeakKinds, FlagsAShmemLeakAndNamesShmem) {
  const double rate = PerHour(0.10);
  Trace trace;
  trace.shmem = [&](double t) { return 4 * kMiB + rate * t; };
  const Estimator est = Simulate(3, trace);
  const Verdict& hour = est.verdicts()[1];
  ASSERT_TRUE(hour.suspected);
  ASSERT_TRUE(hour.kind.has_value());
  EXPECT_EQ(*hour.kind, Kind::kShmem);
  EXPECT_NEAR(KindSlope(hour, Kind::kShmem), rate, 0.1 * rate);
  EXPECT_NEAR(KindSlope(hour, Kind::kAnon), 0, 0.1 * rate);
  EXPECT_NEAR(KindSlope(hour, Kind::kKernel), 0, 0.1 * rate);
  // Known only where the inputs are: no socket buffers given.
  EXPECT_TRUE(std::isnan(KindSlope(hour, Kind::kSock)));
  EXPECT_TRUE(std::isnan(KindSlope(hour, Kind::kPagetables)));
}

TEST(LeakKinds, FlagsAKernelMemoryLeakAndNamesKernelAndItsSlab) {
  const double rate = PerHour(0.05);
  Trace trace;
  trace.kernel = [&](double t) { return 6 * kMiB + rate * t; };
  trace.slab = [&](double t) { return 3 * kMiB + rate * t; };
  const Estimator est = Simulate(3, trace);
  const Verdict& hour = est.verdicts()[1];
  ASSERT_TRUE(hour.suspected);
  EXPECT_EQ(hour.kind, Kind::kKernel);
  EXPECT_NEAR(KindSlope(hour, Kind::kKernel), rate, 0.1 * rate);
  EXPECT_NEAR(KindSlope(hour, Kind::kSlab), rate, 0.1 * rate);
}

TEST(LeakKinds, SocketBuffersCountAsKernelMemory) {
  const double rate = PerHour(0.05);
  Trace trace;
  trace.sock = [&](double t) { return 1 * kMiB + rate * t; };
  const Estimator est = Simulate(3, trace);
  const Verdict& hour = est.verdicts()[1];
  ASSERT_TRUE(hour.suspected);
  EXPECT_EQ(hour.kind, Kind::kKernel);
  EXPECT_NEAR(KindSlope(hour, Kind::kSock), rate, 0.1 * rate);
}

TEST(LeakKinds, NamesAnonForAHeapThatGrows) {
  const double rate = PerHour(0.10);
  Trace trace;
  trace.anon = [&](double t) { return 100 * kMiB + rate * t; };
  const Estimator est = Simulate(3, trace);
  const Verdict& hour = est.verdicts()[1];
  ASSERT_TRUE(hour.suspected);
  EXPECT_EQ(hour.kind, Kind::kAnon);
  EXPECT_NEAR(KindSlope(hour, Kind::kAnon), rate, 0.1 * rate);
}

TEST(LeakKinds, AHotPageCacheThatGrowsIsNoLeak) {
  // The file LRU is reclaimable however hot: the kernel takes it back at
  // the limit.
  const double rate = PerHour(0.20);
  Trace trace;
  trace.active = [&](double t) { return 30 * kMiB + rate * t; };
  const Estimator est = Simulate(3, trace);
  for (const Verdict& v : est.verdicts()) {
    EXPECT_FALSE(v.first_suspected_at_ms.has_value());
    EXPECT_FALSE(v.kind.has_value());
    EXPECT_TRUE(std::isnan(KindSlope(v, Kind::kAnon)));
  }
}

TEST(LeakKinds, ATmpfsCacheThatRotatesIsNoLeak) {
  // Fills to a bound, then deletes its oldest file per new one.
  Trace trace;
  trace.shmem = [](double t) {
    return 4 * kMiB + std::min(t, 600.0) / 600.0 * 40 * kMiB;
  };
  const Estimator est = Simulate(3, trace);
  for (const Verdict& v : est.verdicts()) {
    EXPECT_FALSE(v.first_suspected_at_ms.has_value());
  }
}

TEST(LeakKinds, TwoOutOfMemoryKillsNameWhatGrewIntoTheLimit) {
  // A shmem leak fast enough to be killed before any window judges it:
  // the verdict the out-of-memory rule gives still says what grew.
  const std::vector<milliseconds> windows = {minutes(15), hours(1)};
  Estimator est(windows);
  double t = 0;
  for (int cycle = 0; cycle < 3; ++cycle) {
    for (double s = 0; s < 1200; s += 5, t += 5) {
      Observation o;
      o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
      o.rss = 50 * kMiB + 10 * kMiB * std::fmod(t / 60.0, 1.0);
      o.shmem = 4 * kMiB + s / 1200.0 * 440 * kMiB;
      o.kernel = 6 * kMiB;
      o.cache = o.shmem;
      o.usage = o.rss + o.cache + o.kernel;
      o.working_set = o.usage;
      o.limit = kLimit;
      est.Update(o);
    }
  }
  const Verdict& quarter = est.verdicts()[0];
  ASSERT_TRUE(quarter.first_suspected_at_ms.has_value());
  EXPECT_EQ(quarter.kind, Kind::kShmem);
}

TEST(LeakKinds, KindNamesAreTheLabelValues) {
  EXPECT_EQ(KindName(Kind::kAnon), "anon");
  EXPECT_EQ(KindName(Kind::kShmem), "shmem");
  EXPECT_EQ(KindName(Kind::kKernel), "kernel");
  EXPECT_EQ(KindName(Kind::kSlab), "slab");
  EXPECT_EQ(KindName(Kind::kSock), "sock");
  EXPECT_EQ(KindName(Kind::kKernelStack), "kernel_stack");
  EXPECT_EQ(KindName(Kind::kPagetables), "pagetables");
}

}  // namespace
}  // namespace leakwatch::estimator
