#include "estimator/detail/trend.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace leakwatch::estimator::detail {
namespace {

// bytes = 1000 + 50 t at t = 0, 10, ..., 90 s: every pairwise slope is
// exactly 50 bytes per second.
struct Line {
  std::vector<double> times_s;
  std::vector<double> bytes;
  Line() {
    for (int i = 0; i < 10; ++i) {
      times_s.push_back(10.0 * i);
      bytes.push_back(1000.0 + 500.0 * i);
    }
  }
};

TEST(Trend, MedianIsTheUpperOneOfAnEvenCountAndZeroWhenEmpty) {
  std::vector<double> v = {4, 1, 3, 2};
  EXPECT_EQ(MedianInPlace(v), 3);
  std::vector<double> empty;
  EXPECT_EQ(MedianInPlace(empty), 0);
}

TEST(Trend, TheilSenOfALineIsItsSlopeWithTheBoundOnIt) {
  Line line;
  std::vector<double> scratch;
  const TheilSen fit = FitTheilSen(line.times_s, line.bytes, scratch);
  EXPECT_EQ(fit.slope, 50);
  EXPECT_EQ(fit.lower, 50);
  EXPECT_EQ(MedianSlope(line.times_s, line.bytes, scratch), 50);
}

TEST(Trend, TheilSenAndItsBoundIgnoreOneOutlier) {
  Line line;
  line.bytes[3] += 1e6;  // a bucket without a collection in it
  std::vector<double> scratch;
  const TheilSen fit = FitTheilSen(line.times_s, line.bytes, scratch);
  EXPECT_EQ(fit.slope, 50);
  EXPECT_EQ(fit.lower, 50);
}

TEST(Trend, TheBoundLiesBelowTheSlopeOfScatteredPoints) {
  Line line;
  const double noise[] = {0, 300, -200, 100, -300, 200, -100, 50, 250, -150};
  for (std::size_t i = 0; i < line.bytes.size(); ++i) {
    line.bytes[i] += noise[i];
  }
  std::vector<double> scratch;
  const TheilSen fit = FitTheilSen(line.times_s, line.bytes, scratch);
  EXPECT_NEAR(fit.slope, 50, 10);
  EXPECT_LT(fit.lower, fit.slope);
  EXPECT_GT(fit.lower, 0);
}

TEST(Trend, TheLineStandsWhereItsMedianPutsItAtTheGivenTime) {
  Line line;
  std::vector<double> scratch;
  EXPECT_EQ(LineValueAt(line.times_s, line.bytes, 50, 100, scratch), 6000);
}

TEST(Trend, PointsOnTheLineHaveNoScatterAndAnRSquaredOfOne) {
  Line line;
  std::vector<double> scratch;
  EXPECT_EQ(Scatter(line.times_s, line.bytes, 50, scratch), 0);
  EXPECT_DOUBLE_EQ(RSquared(line.times_s, line.bytes), 1);
}

TEST(Trend, RSquaredOfAFlatSeriesIsZero) {
  const std::vector<double> times_s = {0, 10, 20, 30};
  const std::vector<double> bytes = {7, 7, 7, 7};
  EXPECT_EQ(RSquared(times_s, bytes), 0);
}

}  // namespace
}  // namespace leakwatch::estimator::detail
