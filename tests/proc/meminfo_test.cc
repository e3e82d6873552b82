// ReadHostMemory on a fixture procfs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proc/proc.h"

namespace leakwatch::proc {
namespace {

using ::testing::HasSubstr;

TEST(HostMemory, ReadsMemTotalThroughTheProcRoot) {
  auto m = ReadHostMemory(LEAKWATCH_FIXTURES_DIR "/proc");
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(*m, 4028436u * 1024);
  auto missing = ReadHostMemory(LEAKWATCH_FIXTURES_DIR "/proc/4242");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, HasSubstr("meminfo"));
}

}  // namespace
}  // namespace leakwatch::proc
