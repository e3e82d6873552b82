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

TEST(Estimator, ItsTrendLineRunsAlongTheTroughs) {
  // The baseline is the fitted line at the last evaluation: on the GC
  // troughs (rss without the sawtooth), not on the average or the peaks.
  const double rate = PerHour(0.10);
  auto base = [&](double t) { return 100 * kMiB + rate * t; };
  Estimator est = Simulate(3, base);
  for (std::size_t i = 0; i < est.verdicts().size(); ++i) {
    const Verdict& v = est.verdicts()[i];
    ASSERT_TRUE(v.ready);
    // Evaluated when one of its 32 buckets last closed.
    const double bucket_s = Windows()[i].count() / 1000.0 / 32;
    const double at_s = static_cast<double>(v.baseline_at_ms - kT0) / 1000.0;
    EXPECT_GT(at_s, 3 * 3600 - bucket_s - 5);
    EXPECT_LE(at_s, 3 * 3600);
    // Within 15 % of the 20 MiB sawtooth of the troughs (its average is
    // 50 % above them): the short window's 28 s buckets under a 60 s cycle
    // are not all troughs.
    EXPECT_NEAR(v.baseline_bytes, base(at_s), 3 * kMiB);
  }
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

// A warm-up whose time constant is close to the shortest window: seen
// through 15 minutes its tail is near-steady growth; the longer windows see
// it levelling off, and their view wins. Checked over several noise seeds,
// since the 15-minute window alone fires on some of them.
TEST(Estimator, ALongerWindowSeeingAWarmUpLevelOffOverrulesAShortOne) {
  for (unsigned seed = 1; seed <= 8; ++seed) {
    Estimator est(Windows());
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0, 1.5 * kMiB);
    for (double t = 0; t < 3 * 3600; t += 15) {
      Observation o;
      o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
      o.rss = 100 * kMiB + 0.3 * kLimit * (1 - std::exp(-t / 840)) + noise(rng);
      o.limit = kLimit;
      est.Update(o);
    }
    EXPECT_FALSE(AnySuspected(est)) << "seed " << seed;
  }
}

// A slow leak from the container's start: the 15-minute window cannot
// tell 1.5 % of the limit in 15 minutes from noise, so the hour window
// calls it; it judges a young container once it has seen a quarter of its
// length, well before a full hour.
TEST(Estimator, ALongWindowJudgesAYoungContainerBeforeItIsFull) {
  const double rate = PerHour(0.06);
  Estimator est = Simulate(2, [&](double t) { return 100 * kMiB + rate * t; });
  const Verdict& hour = est.verdicts()[1];
  ASSERT_TRUE(hour.first_suspected_at_ms.has_value());
  EXPECT_GE(*hour.first_suspected_at_ms, kT0 + 15 * 60 * 1000);
  EXPECT_LT(*hour.first_suspected_at_ms, kT0 + 45 * 60 * 1000);
}

TEST(Estimator, IgnoresDriftBelowTheHealthyBound) {
  const double rate = PerHour(0.01);  // 1 %/h: healthy by definition
  Estimator est = Simulate(6, [&](double t) { return 100 * kMiB + rate * t; });
  EXPECT_FALSE(AnySuspected(est));
}

// Drift just under the healthy bound with a collector whose cycle (about
// 30 s, wandering by 20 % with load) is close to the 15-minute window's
// 28 s buckets, sampled every 2 s: the sampled troughs drift against the
// real ones by up to one step of the allocation ramp, which reads as
// growth to a short window unless the lower bound allows for it.
TEST(Estimator, IgnoresDriftWhoseTroughsAliasWithTheSampling) {
  for (unsigned seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u}) {
    Estimator est(Windows());
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0, 0.004 * kLimit);
    const double rate = PerHour(0.014);
    double phase = 0;
    for (double t = 0; t < 6 * 3600; t += 2) {
      phase += 2 / (30 * (1 + 0.2 * std::sin(t / (30 * 7.3))));
      Observation o;
      o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
      o.rss = 0.3 * kLimit + rate * t + 0.09 * kLimit * std::fmod(phase, 1.0) +
              noise(rng);
      o.limit = kLimit;
      est.Update(o);
    }
    EXPECT_FALSE(AnySuspected(est)) << "seed " << seed;
  }
}

// A collector skips collections, as V8 does in the quiet stretches of
// bursty load: here a leak's GC sawtooth stops for 6 minutes while the
// leak goes on, so for a while one quarter of the 15-minute window holds
// no collection and the window cannot tell its troughs. That is no evidence
// against the leak: the verdict it had stays, rather than dropping and coming
// back (and its alert resolving and firing again) with every skipped
// collection.
TEST(Estimator, AQuarterWithoutACollectionKeepsTheVerdict) {
  const double rate = PerHour(0.10);
  Estimator est(Windows());
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 0.5 * kMiB);
  const double quiet_from = 2 * 3600, quiet_to = quiet_from + 6 * 60;
  int blind = 0;
  // Until the quiet stretch is well inside the window's quarters, and
  // the window judges again.
  for (double t = 0; t < quiet_to + 5 * 60; t += 5) {
    Observation o;
    o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
    const bool quiet = t >= quiet_from && t < quiet_to;
    o.rss = 100 * kMiB + rate * t +
            (quiet ? 0 : 20 * kMiB * std::fmod(t / 60.0, 1.0)) + noise(rng);
    o.limit = kLimit;
    const std::uint64_t evaluations = est.verdicts()[0].evaluations;
    est.Update(o);
    const Verdict& short_window = est.verdicts()[0];
    if (t < quiet_from) continue;
    ASSERT_TRUE(short_window.suspected) << "dropped at t=" << t << " s";
    // The window did evaluate and could not judge for want of a trough,
    // though every rule held.
    if (short_window.evaluations > evaluations && short_window.ready &&
        !short_window.troughs_seen) {
      EXPECT_EQ(short_window.score, 0) << "t=" << t << " s";
      if (short_window.evidence.rate >= 0.5 &&
          short_window.evidence.keeps_going >= 0.5 &&
          short_window.evidence.not_slowing >= 0.5) {
        ++blind;
      }
    }
  }
  EXPECT_GE(blind, 3) << "the quiet stretch never left a quarter blind";
}

TEST(Estimator, AWindowInsideOneCollectorCycleIsNoLeak) {
  // Flat memory under a collector that frees 60 MiB every 20 minutes (the
  // first time 2 minutes in): between collections the 15m window sees
  // nothing but the allocation ramp, steady and steep, and the 1h window
  // has quarters without a collection. Neither may call it a leak, and
  // both must say they cannot judge rather than "fine".
  Estimator est(Windows());
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 0.25 * kMiB);
  int blind_short = 0;
  for (double t = 0; t < 4 * 3600; t += 5) {
    Observation o;
    o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
    o.rss =
        100 * kMiB + 60 * kMiB * std::fmod(t / 1200.0 + 0.9, 1.0) + noise(rng);
    o.limit = kLimit;
    est.Update(o);
    for (const Verdict& v : est.verdicts()) {
      ASSERT_FALSE(v.suspected) << "t=" << t << " s";
    }
    const Verdict& short_window = est.verdicts()[0];
    if (short_window.ready && !short_window.troughs_seen) ++blind_short;
  }
  EXPECT_GT(blind_short, 0);
  EXPECT_TRUE(est.verdicts()[2].ready && est.verdicts()[2].troughs_seen)
      << "the 6h window sees a collection in every quarter";
}

TEST(Estimator, ACollectionSpreadOverSamplesIsOneCollection) {
  // A sawtooth leak whose collections fall within one sample, then (as
  // V8's sweeper returns pages to the kernel) mostly over three: each
  // step of those is under six times the noise, their run is a whole
  // tooth. One collection in six still falls at once, so the others are
  // not the largest fall there is. Counted step by step, quarters of the
  // window would hold no collection and it could not judge.
  const double rate = PerHour(0.10);
  Estimator est(Windows());
  const double split_from = 2 * 3600;
  int judged = 0, evaluated = 0;
  for (double t = 0; t < split_from + 30 * 60; t += 5) {
    Observation o;
    o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
    const double phase = std::fmod(t, 60.0);
    double tooth = 20 * kMiB * phase / 45.0;  // allocation ramp over 45 s
    if (phase >= 45) {
      // The fall: at once, or a third per sample.
      const bool at_once = t < split_from || static_cast<long>(t / 60) % 6 == 0;
      tooth = at_once ? 0 : 20 * kMiB * (1 - (phase - 40) / 15.0);
    }
    o.rss = 100 * kMiB + rate * t + tooth;
    o.limit = kLimit;
    const std::uint64_t evaluations = est.verdicts()[0].evaluations;
    est.Update(o);
    const Verdict& short_window = est.verdicts()[0];
    // Once the 15m window lies inside the stretch of split collections.
    if (t < split_from + 16 * 60 || short_window.evaluations == evaluations) {
      continue;
    }
    ++evaluated;
    if (short_window.ready && short_window.troughs_seen) ++judged;
    EXPECT_TRUE(short_window.suspected) << "t=" << t << " s";
  }
  ASSERT_GT(evaluated, 10);
  EXPECT_EQ(judged, evaluated);
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

// Steps of a quarter of the limit every 25 minutes, flat in between: too
// far apart for a window to see growth that keeps going, until the process
// is killed at the limit and starts over. The second kill in a row is the
// verdict; restarts from an ordinary level never are.
TEST(Estimator, TwoOutOfMemoryKillsInARowAreALeak) {
  auto run = [](double peak_fraction) {
    Estimator est(Windows());
    const double cycle_s = 4 * 25 * 60;
    std::int64_t second_kill_ms = 0;
    for (double t = 0; t < 3.5 * cycle_s; t += 5) {
      const double in_cycle = std::fmod(t, cycle_s);
      const int steps = static_cast<int>(in_cycle / (25 * 60));
      Observation o;
      o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
      o.rss = kLimit * (0.2 + (peak_fraction - 0.2) * steps / 3.0);
      o.limit = kLimit;
      if (t >= 2 * cycle_s && second_kill_ms == 0) second_kill_ms = o.t_ms;
      est.Update(o);
    }
    EXPECT_EQ(est.restarts(), 3u);
    return std::pair{FirstSuspected(est), second_kill_ms};
  };
  auto [first, second_kill] = run(0.95);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, second_kill);
  EXPECT_FALSE(run(0.6).first.has_value());
}

// A process with a high base (here 40 % of its limit) falls back to more
// than half of the floor when killed at the limit, so only the fall from
// the limit to far below the floor shows its restart.
TEST(Estimator, AKillAtTheLimitIsSeenFromAHighBase) {
  Estimator est(Windows());
  const double cycle_s = 4 * 25 * 60;
  for (double t = 0; t < 3.5 * cycle_s; t += 5) {
    const int steps = static_cast<int>(std::fmod(t, cycle_s) / (25 * 60));
    Observation o;
    o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
    o.rss = kLimit * (0.4 + 0.55 * steps / 3.0);
    o.limit = kLimit;
    est.Update(o);
  }
  EXPECT_EQ(est.restarts(), 3u);
  EXPECT_TRUE(FirstSuspected(est).has_value());
}

// A batch job that peaks at the limit and returns to the floor it left is
// no restart, however often it runs.
TEST(Estimator, ABatchSpikeToTheLimitIsNoRestart) {
  Estimator est(Windows());
  for (double t = 0; t < 6 * 3600; t += 5) {
    Observation o;
    o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
    const bool batch = std::fmod(t + 900, 1800) < 300;  // 5 min each 30 min
    o.rss = kLimit * (batch ? 0.95 : 0.4);
    o.limit = kLimit;
    est.Update(o);
  }
  EXPECT_EQ(est.restarts(), 0u);
  EXPECT_FALSE(FirstSuspected(est).has_value());
}

// The daemon knows of a restart when the container's cgroup is made anew
// (Reset), even where the samples alone would not show one: a process that
// comes back near where it was killed falls back less than a restart must.
TEST(Estimator, RestartsToldByTheCallerCountTowardTheOutOfMemoryRule) {
  auto run = [](bool told) {
    Estimator est(Windows());
    const double cycle_s = 4 * 25 * 60;
    double last_cycle = 0;
    for (double t = 0; t < 3.5 * cycle_s; t += 5) {
      const double cycle = std::floor(t / cycle_s);
      if (told && cycle != last_cycle) est.Reset();
      last_cycle = cycle;
      const int steps = static_cast<int>(std::fmod(t, cycle_s) / (25 * 60));
      Observation o;
      o.t_ms = kT0 + static_cast<std::int64_t>(t * 1000);
      o.rss = kLimit * (0.86 + 0.03 * steps);
      o.limit = kLimit;
      est.Update(o);
    }
    EXPECT_EQ(est.restarts(), 0u);  // none seen in the samples
    return FirstSuspected(est);
  };
  EXPECT_TRUE(run(true).has_value());
  EXPECT_FALSE(run(false).has_value());
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
