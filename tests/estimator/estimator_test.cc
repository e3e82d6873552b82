#include "estimator/estimator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

namespace leakwatch::estimator {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kLimit = 512 * kMiB;
constexpr std::int64_t kT0 = 1'700'000'000'000;

std::vector<milliseconds> Windows() {
  return {minutes(15), hours(1), hours(6)};
}

// Feeds `hours` of samples every 5 s: rss = base(t) + a GC sawtooth of
// `gc` bytes with a 60 s period + Gaussian noise; returns the estimator.
Estimator Simulate(double duration_h, const std::function<double(double)>& base,
                   double gc = 20 * kMiB,
                   const std::function<double(double)>& cache = nullptr) {
  Estimator est(Windows());
  std::mt19937 rng(42);
  std::normal_distribution<double> noise(0, 0.5 * kMiB);
  for (double t = 0; t < duration_h * 3600; t += 5) {
    Observation o;
    o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
    o.rss = base(t) + gc * std::fmod(t / 60.0, 1.0) + noise(rng);
    o.cache = cache ? cache(t) : 20 * kMiB;
    o.usage = o.rss + o.cache;
    o.working_set = o.usage - 0.5 * o.cache;
    o.limit = kLimit;
    est.Update(o);
  }
  return est;
}

bool AnySuspected(const Estimator& est) {
  for (const Verdict& v : est.verdicts()) {
    if (v.first_suspected_at_ms) return true;
  }
  return false;
}

std::optional<std::int64_t> FirstSuspected(const Estimator& est) {
  std::optional<std::int64_t> first;
  for (const Verdict& v : est.verdicts()) {
    if (v.first_suspected_at_ms &&
        (!first || *v.first_suspected_at_ms < *first)) {
      first = v.first_suspected_at_ms;
    }
  }
  return first;
}

double PerHour(double fraction) { return kLimit * fraction / 3600.0; }

TEST(Estimator, FlagsALinearLeakAndMeasuresItsSlope) {
  const double rate = PerHour(0.10);  // 10 % of the limit per hour
  Estimator est = Simulate(3, [&](double t) { return 100 * kMiB + rate * t; });
  ASSERT_TRUE(AnySuspected(est));
  const Verdict& hour = est.verdicts()[1];
  EXPECT_TRUE(hour.suspected);
  EXPECT_NEAR(hour.slope_bytes_per_second, rate, 0.1 * rate);
  EXPECT_GT(hour.r_squared, 0.9);
  EXPECT_GT(hour.score, 0.5);
  ASSERT_TRUE(hour.time_to_limit_seconds.has_value());
  EXPECT_GT(*hour.time_to_limit_seconds, 0);
}

TEST(Estimator, IgnoresAGcSawtoothAroundAFlatBaseline) {
  Estimator est = Simulate(
      4, [](double) { return 150 * kMiB; }, 80 * kMiB);
  EXPECT_FALSE(AnySuspected(est));
  for (const Verdict& v : est.verdicts()) {
    EXPECT_FALSE(v.time_to_limit_seconds.has_value());
  }
}

TEST(Estimator, IgnoresGrowingPageCache) {
  const double rate = PerHour(0.3);
  Estimator est = Simulate(
      4, [](double) { return 150 * kMiB; }, 20 * kMiB,
      [&](double t) { return std::min(300 * kMiB, 10 * kMiB + rate * t); });
  EXPECT_FALSE(AnySuspected(est));
}

TEST(Estimator, IgnoresASingleStepThatStaysFlat) {
  Estimator est = Simulate(
      4, [](double t) { return 150 * kMiB + (t > 5000 ? 120 * kMiB : 0); });
  EXPECT_FALSE(AnySuspected(est));
}

TEST(Estimator, IgnoresAWarmUpThatLevelsOff) {
  Estimator est = Simulate(4, [](double t) {
    return 100 * kMiB + 150 * kMiB * (1 - std::exp(-t / 300));
  });
  EXPECT_FALSE(AnySuspected(est));
}

TEST(Estimator, IgnoresDriftBelowTheHealthyBound) {
  const double rate = PerHour(0.01);  // 1 %/h: healthy by definition
  Estimator est = Simulate(6, [&](double t) { return 100 * kMiB + rate * t; });
  EXPECT_FALSE(AnySuspected(est));
}

TEST(Estimator, DetectsALeakThatStartsMidLifeOnlyAfterItStarts) {
  const double onset = 2 * 3600;
  const double rate = PerHour(0.2);
  Estimator est = Simulate(4, [&](double t) {
    return 100 * kMiB + rate * std::max(0.0, t - onset);
  });
  auto first = FirstSuspected(est);
  ASSERT_TRUE(first.has_value());
  const double delay_s = static_cast<double>(*first - kT0) / 1000.0 - onset;
  EXPECT_GT(delay_s, 0);
  EXPECT_LT(delay_s, 3600);
}

TEST(Estimator, ARestartResetsHistoryButNotFirstSuspected) {
  const double rate = PerHour(0.3);
  Estimator est(Windows());
  auto feed = [&](double from, double to, double start) {
    for (double t = from; t < to; t += 5) {
      Observation o;
      o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
      o.rss = start + rate * (t - from);
      o.limit = kLimit;
      est.Update(o);
    }
  };
  feed(0, 3600, 100 * kMiB);
  ASSERT_TRUE(AnySuspected(est));
  const auto first = FirstSuspected(est);
  feed(3600, 3700, 20 * kMiB);  // memory falls back: the process restarted
  EXPECT_EQ(est.restarts(), 1u);
  EXPECT_FALSE(est.verdicts()[0].suspected);
  EXPECT_EQ(FirstSuspected(est), first);
}

TEST(Estimator, SetWindowsKeepsTheStateOfWindowsThatStay) {
  const double rate = PerHour(0.1);
  Estimator est = Simulate(2, [&](double t) { return 100 * kMiB + rate * t; });
  ASSERT_TRUE(est.verdicts()[1].suspected);
  const Verdict hour = est.verdicts()[1];
  std::vector<milliseconds> next = {hours(1), minutes(30)};
  est.SetWindows(next);
  ASSERT_EQ(est.verdicts().size(), 2u);
  EXPECT_TRUE(est.verdicts()[0].suspected);
  EXPECT_EQ(est.verdicts()[0].first_suspected_at_ms,
            hour.first_suspected_at_ms);
  EXPECT_FALSE(est.verdicts()[1].ready);
}

TEST(Estimator, IgnoresSamplesThatGoBackInTime) {
  Estimator est(Windows());
  Observation o;
  o.t_ms = kT0;
  o.rss = 100 * kMiB;
  est.Update(o);
  o.t_ms = kT0 - 1000;
  o.rss = 1;  // would look like a restart if taken
  est.Update(o);
  EXPECT_EQ(est.restarts(), 0u);
}

}  // namespace
}  // namespace leakwatch::estimator
