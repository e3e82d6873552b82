// ReadProcessStats on a fixture procfs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proc/proc.h"

namespace leakwatch::proc {
namespace {

using ::testing::HasSubstr;

TEST(ProcessStats, ReadsProcfsFiles) {
  auto s = ReadProcessStats(LEAKWATCH_FIXTURES_DIR "/proc", "4242", 100, 4096);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 18.0);
  EXPECT_DOUBLE_EQ(s->start_time_seconds, 1795562510.0 + 786.95);
  EXPECT_EQ(s->virtual_bytes, 123456789u);
  EXPECT_EQ(s->resident_bytes, 2048u * 4096);
  EXPECT_EQ(s->open_fds, 4u);
  EXPECT_EQ(s->max_fds, 20000u);
}

TEST(ProcessStats, MissingProcessIsAnError) {
  auto s = ReadProcessStats(LEAKWATCH_FIXTURES_DIR "/proc", "999", 100, 4096);
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error().message, HasSubstr("999"));
}

}  // namespace
}  // namespace leakwatch::proc
