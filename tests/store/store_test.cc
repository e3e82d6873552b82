#include "store/store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace leakwatch::store {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::uint64_t kMiB = 1024 * 1024;

Geometry Defaults() {
  std::vector<milliseconds> windows = {minutes(15), hours(1), hours(6)};
  return Geometry::For(seconds(5), windows);
}

Point At(Millis t, std::uint64_t ws, std::uint64_t rss = 0,
         std::uint64_t cache = 0, std::uint64_t usage = 0) {
  return Point{t, {ws, rss, cache, usage}};
}

TEST(Geometry, DefaultsKeepFifteenMinutesRawAndSixHoursOfMinuteBuckets) {
  Geometry g = Defaults();
  EXPECT_EQ(g.interval_ms, 5000);
  EXPECT_EQ(g.raw_span_ms, 15 * 60 * 1000);
  EXPECT_EQ(g.raw_capacity, 181u);  // 900 s / 5 s, both ends included
  EXPECT_EQ(g.bucket_ms, 60'000);
  EXPECT_EQ(g.bucket_capacity, 361u);
  EXPECT_EQ(g.history_ms, 6 * 3600 * 1000);
}

TEST(Geometry, ShortWindowsAreKeptWhollyRaw) {
  std::vector<milliseconds> windows = {minutes(5)};
  Geometry g = Geometry::For(seconds(1), windows);
  EXPECT_EQ(g.raw_span_ms, 5 * 60 * 1000);
  EXPECT_EQ(g.raw_capacity, 301u);
}

TEST(Geometry, LongWindowsGetWiderBucketsSoTheCountStaysBounded) {
  std::vector<milliseconds> windows = {hours(24 * 7)};
  Geometry g = Geometry::For(seconds(1), windows);
  EXPECT_EQ(g.bucket_ms, 15 * 60'000);
  EXPECT_LE(g.bucket_capacity, 721u);
  std::vector<milliseconds> month = {hours(24 * 90)};
  Geometry m = Geometry::For(seconds(1), month);
  EXPECT_EQ(m.bucket_ms % (6 * 3600'000), 0);
  EXPECT_LE(m.bucket_capacity, 721u);
}

TEST(Geometry, BucketIsNeverNarrowerThanTheInterval) {
  std::vector<milliseconds> windows = {hours(1)};
  Geometry g = Geometry::For(minutes(2), windows);
  EXPECT_GE(g.bucket_ms, 120'000);
}

TEST(Geometry, MemoryPerContainerStaysSmallAtOneSecond) {
  std::vector<milliseconds> windows = {minutes(15), hours(1), hours(6)};
  Geometry g = Geometry::For(seconds(1), windows);
  // A flat full-rate layout would need 21600 x 40 bytes = 864 KB.
  EXPECT_LT(g.BytesPerContainer(), 48u * 1024);
}

TEST(History, StoresSamplesExactlyWhenPageAligned) {
  History h(Defaults());
  ASSERT_TRUE(h.Push(At(1000, 150 * kMiB, 140 * kMiB, 10 * kMiB, 151 * kMiB)));
  ASSERT_EQ(h.RawSize(), 1u);
  Point p = h.Latest();
  EXPECT_EQ(p.t_ms, 1000);
  EXPECT_EQ(p[Input::kWorkingSet], 150 * kMiB);
  EXPECT_EQ(p[Input::kRss], 140 * kMiB);
  EXPECT_EQ(p[Input::kCache], 10 * kMiB);
  EXPECT_EQ(p[Input::kUnreclaimable], 151 * kMiB);
}

TEST(History, RoundsToTheNearestFourKibUnit) {
  History h(Defaults());
  h.Push(At(1000, 4096 + 2047));
  EXPECT_EQ(h.Latest()[Input::kWorkingSet], 4096u);
  h.Push(At(2000, 4096 + 2048));
  EXPECT_EQ(h.Latest()[Input::kWorkingSet], 8192u);
}

TEST(History, RejectsSamplesThatDoNotMoveForward) {
  History h(Defaults());
  EXPECT_TRUE(h.Push(At(5000, kMiB)));
  EXPECT_FALSE(h.Push(At(5000, 2 * kMiB)));
  EXPECT_FALSE(h.Push(At(4000, 2 * kMiB)));
  EXPECT_EQ(h.RawSize(), 1u);
  EXPECT_EQ(h.Latest()[Input::kWorkingSet], kMiB);
}

TEST(History, RawRingKeepsTheNewestSamplesOldestFirst) {
  Geometry g = Defaults();
  History h(g);
  const std::size_t n = g.raw_capacity + 50;
  for (std::size_t i = 0; i < n; ++i) {
    h.Push(At(static_cast<Millis>(i) * 5000, (i + 1) * 4096));
  }
  ASSERT_EQ(h.RawSize(), g.raw_capacity);
  EXPECT_EQ(h.Raw(0).t_ms, 50 * 5000);
  EXPECT_EQ(h.Raw(0)[Input::kWorkingSet], 51u * 4096);
  EXPECT_EQ(h.Latest().t_ms, static_cast<Millis>(n - 1) * 5000);
  for (std::size_t i = 1; i < h.RawSize(); ++i) {
    EXPECT_LT(h.Raw(i - 1).t_ms, h.Raw(i).t_ms);
  }
}

TEST(History, BucketsKeepMinMaxAndLastPerInput) {
  History h(Defaults());
  // One minute of a GC sawtooth: 100, 180, 120, 160 MiB.
  const std::uint64_t values[] = {100, 180, 120, 160};
  for (int i = 0; i < 4; ++i) {
    h.Push(At(60'000 + i * 5000, values[i] * kMiB, values[i] * kMiB / 2));
  }
  h.Push(At(120'000, 90 * kMiB, 45 * kMiB));
  std::vector<Bucket> b = h.Buckets();
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].start_ms, 60'000);
  EXPECT_EQ(b[0].count, 4u);
  EXPECT_EQ(b[0].min[0], 100 * kMiB);
  EXPECT_EQ(b[0].max[0], 180 * kMiB);
  EXPECT_EQ(b[0].last[0], 160 * kMiB);
  EXPECT_EQ(b[0].min[1], 50 * kMiB);
  EXPECT_EQ(b[1].start_ms, 120'000);
  EXPECT_EQ(b[1].count, 1u);
  EXPECT_EQ(b[1].min[0], 90 * kMiB);
}

TEST(History, BucketsCoverTheLongestWindowAndForgetOlderOnes) {
  Geometry g = Defaults();
  History h(g);
  // Seven hours at 5 s: only the last 6 h (+ the partial bucket) remain.
  const Millis end = 7 * 3600'000;
  for (Millis t = 0; t < end; t += 5000) h.Push(At(t, kMiB));
  std::vector<Bucket> b = h.Buckets();
  ASSERT_EQ(b.size(), g.bucket_capacity);
  EXPECT_EQ(b.back().start_ms, (end - 5000) / 60'000 * 60'000);
  EXPECT_GE(b.front().start_ms, end - g.history_ms - 60'000);
  EXPECT_EQ(b.front().count, 12u);
}

TEST(History, GapsLeaveNoStaleBuckets) {
  Geometry g = Defaults();
  History h(g);
  for (Millis t = 0; t < 3 * 60'000; t += 5000) h.Push(At(t, kMiB));
  // A pause longer than the whole ring, then one more sample.
  const Millis later = 3 * 60'000 + 2 * g.history_ms;
  h.Push(At(later, 2 * kMiB));
  std::vector<Bucket> b = h.Buckets();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].min[0], 2 * kMiB);
}

TEST(History, ResizeKeepsSamplesInsideTheNewSpans) {
  Geometry g = Defaults();
  History h(g);
  for (Millis t = 0; t < 2 * 3600'000; t += 5000) {
    h.Push(At(t, static_cast<std::uint64_t>(t / 5000) * 4096));
  }
  std::vector<Point> before;
  for (std::size_t i = 0; i < h.RawSize(); ++i) before.push_back(h.Raw(i));
  std::vector<Bucket> buckets_before = h.Buckets();

  // Interval 5 s -> 1 s: more raw capacity; every old raw sample stays.
  std::vector<milliseconds> windows = {minutes(15), hours(1), hours(6)};
  h.Resize(Geometry::For(seconds(1), windows));
  ASSERT_EQ(h.RawSize(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(h.Raw(i).t_ms, before[i].t_ms);
    EXPECT_EQ(h.Raw(i).bytes, before[i].bytes);
  }
  std::vector<Bucket> buckets_after = h.Buckets();
  ASSERT_EQ(buckets_after.size(), buckets_before.size());
  EXPECT_EQ(buckets_after.front().min, buckets_before.front().min);
  // New samples continue the same history.
  EXPECT_TRUE(h.Push(At(2 * 3600'000, 1)));
}

TEST(History, ResizeToShorterWindowsDropsTheOldestFirst) {
  History h(Defaults());
  for (Millis t = 0; t < 2 * 3600'000; t += 5000) h.Push(At(t, kMiB));
  std::vector<milliseconds> windows = {minutes(5)};
  Geometry small = Geometry::For(seconds(5), windows);
  Point newest = h.Latest();
  h.Resize(small);
  EXPECT_EQ(h.RawSize(), small.raw_capacity);
  EXPECT_EQ(h.Latest().t_ms, newest.t_ms);
  EXPECT_EQ(h.Raw(0).t_ms, newest.t_ms - 5 * 60'000);
  std::vector<Bucket> b = h.Buckets();
  EXPECT_LE(b.size(), small.bucket_capacity);
  EXPECT_GE(b.front().start_ms, newest.t_ms - 6 * 60'000);
}

TEST(History, ResizeMergesBucketsIntoWiderOnes) {
  History h(Defaults());
  for (Millis t = 0; t < 10 * 60'000; t += 5000) {
    h.Push(At(t, (t / 60'000 + 1) * kMiB));
  }
  std::vector<milliseconds> windows = {hours(24)};
  Geometry wide = Geometry::For(seconds(5), windows);
  ASSERT_EQ(wide.bucket_ms, 5 * 60'000);
  h.Resize(wide);
  std::vector<Bucket> b = h.Buckets();
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].count, 60u);
  EXPECT_EQ(b[0].min[0], 1 * kMiB);
  EXPECT_EQ(b[0].max[0], 5 * kMiB);
  EXPECT_EQ(b[1].min[0], 6 * kMiB);
  EXPECT_EQ(b[1].last[0], 10 * kMiB);
}

TEST(History, ClearForgetsEverything) {
  History h(Defaults());
  for (Millis t = 0; t < 600'000; t += 5000) h.Push(At(t, kMiB));
  h.Clear();
  EXPECT_EQ(h.RawSize(), 0u);
  EXPECT_TRUE(h.Buckets().empty());
  // A restarted container may start again at any time.
  EXPECT_TRUE(h.Push(At(1, kMiB)));
}

TEST(History, MemoryIsAllocatedUpFrontAndNeverGrows) {
  History h(Defaults());
  const std::size_t at_start = h.MemoryBytes();
  for (Millis t = 0; t < 8 * 3600'000; t += 5000) h.Push(At(t, kMiB));
  EXPECT_EQ(h.MemoryBytes(), at_start);
}

}  // namespace
}  // namespace leakwatch::store
