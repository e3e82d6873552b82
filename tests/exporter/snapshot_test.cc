#include "exporter/detail/snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace leakwatch::exporter::detail {
namespace {

using ::testing::HasSubstr;

constexpr double kNow = 1'800'000'000.0;

TEST(SamplingCurrent, NeedsAPassWithinTwoIntervals) {
  Snapshot s;
  EXPECT_FALSE(SamplingCurrent(s, kNow, std::chrono::seconds(5)));
  s.passes = 1;
  s.pass_end_seconds = kNow - 10;
  EXPECT_TRUE(SamplingCurrent(s, kNow, std::chrono::seconds(5)));
  EXPECT_FALSE(SamplingCurrent(s, kNow + 0.5, std::chrono::seconds(5)));
}

}  // namespace
}  // namespace leakwatch::exporter::detail
