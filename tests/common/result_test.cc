#include "common/result.h"

#include <gtest/gtest.h>

#include <string>

namespace leakwatch {
namespace {

Result<int> Missing() {
  return MakeError(ErrorCode::kNotFound, "/sys/fs/cgroup/x: cgroup removed");
}

Result<std::string> Describe() {
  auto n = Missing();
  if (!n) return PassOn(n.error());
  return std::to_string(*n);
}

TEST(Result, MakeErrorFailsAResultOfAnyType) {
  Result<void> v = MakeError(ErrorCode::kInvalid, "bad flag");
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(v.error().message, "bad flag");
}

TEST(Result, PassOnKeepsCodeAndMessage) {
  auto r = Describe();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message, "/sys/fs/cgroup/x: cgroup removed");
}

TEST(Result, EveryCodeHasAName) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kNotFound), "not found");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kParse), "parse error");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kIo), "I/O error");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kUnavailable), "unavailable");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInvalid), "invalid");
}

}  // namespace
}  // namespace leakwatch
