#include "cgroup/detail/parse.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace leakwatch::cgroup::detail {
namespace {

using U64 = std::optional<std::uint64_t>;

TEST(ParseSingleValue, ReadsNumberWithTrailingNewline) {
  auto value = ParseSingleValue("9223372036854771712\n", "f", false);
  ASSERT_TRUE(value.has_value()) << value.error().message;
  EXPECT_EQ(*value, U64(9223372036854771712u));
}

TEST(ParseSingleValue, ReadsLargestUnsigned) {
  auto value = ParseSingleValue("18446744073709551615\n", "f", false);
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(*value, U64(18446744073709551615u));
}

TEST(ParseSingleValue, ParsesMaxAsUnlimitedOnlyWhenAllowed) {
  auto unlimited = ParseSingleValue("max\n", "memory.max", true);
  ASSERT_TRUE(unlimited.has_value());
  EXPECT_EQ(*unlimited, std::nullopt);

  auto refused = ParseSingleValue("max\n", "memory.current", false);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kParse);
  EXPECT_EQ(refused.error().message, "memory.current: not a number: 'max'");
}

TEST(ParseSingleValue, RejectsWhatTheKernelNeverPrints) {
  for (const char* bad : {"", "\n", "-1\n", "+1\n", "0x10\n", "1 2\n", "12a\n",
                          " 12\n", "18446744073709551616\n", "maximum\n"}) {
    auto value = ParseSingleValue(bad, "path", true);
    ASSERT_FALSE(value.has_value()) << "'" << bad << "'";
    EXPECT_EQ(value.error().code, ErrorCode::kParse) << "'" << bad << "'";
    EXPECT_TRUE(value.error().message.starts_with("path: "));
  }
}

TEST(ParseFlatKeyed, FillsWantedKeysAndLeavesMissingOnesUnset) {
  U64 anon, file, swap;
  const FlatKey keys[] = {{"anon", &anon}, {"file", &file}, {"swap", &swap}};
  auto parsed = ParseFlatKeyed(
      "anon 4096\nkernel_stack 16384\nfile 8192\ncore_sched.force_idle_usec "
      "0\n",
      "memory.stat", keys);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(anon, U64(4096));
  EXPECT_EQ(file, U64(8192));
  EXPECT_EQ(swap, std::nullopt);
}

TEST(ParseFlatKeyed, MatchesWholeKeysOnly) {
  U64 oom_kill;
  const FlatKey keys[] = {{"oom_kill", &oom_kill}};
  auto parsed = ParseFlatKeyed("oom_kill_disable 1\nunder_oom 0\n",
                               "memory.oom_control", keys);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(oom_kill, std::nullopt);
}

TEST(ParseFlatKeyed, AcceptsLastLineWithoutNewline) {
  U64 total;
  const FlatKey keys[] = {{"total_rss", &total}};
  ASSERT_TRUE(ParseFlatKeyed("rss 1\ntotal_rss 77", "f", keys).has_value());
  EXPECT_EQ(total, U64(77));
}

TEST(ParseFlatKeyed, RejectsBadValueOfWantedKeyNamingKeyAndLine) {
  U64 anon;
  const FlatKey keys[] = {{"anon", &anon}};
  auto parsed = ParseFlatKeyed("file 1\nanon -5\n", "/x/memory.stat", keys);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, ErrorCode::kParse);
  EXPECT_EQ(parsed.error().message,
            "/x/memory.stat: key anon: bad value in line 'anon -5'");
}

TEST(ParseFlatKeyed, RejectsLinesWithoutKeyOrValue) {
  U64 anon;
  const FlatKey keys[] = {{"anon", &anon}};
  for (const char* bad : {"anon\n", " 5\n", "anon \n", "novalue\nanon 1\n"}) {
    auto parsed = ParseFlatKeyed(bad, "f", keys);
    ASSERT_FALSE(parsed.has_value()) << "'" << bad << "'";
    EXPECT_EQ(parsed.error().code, ErrorCode::kParse);
    EXPECT_NE(parsed.error().message.find("malformed line"), std::string::npos);
  }
}

TEST(ParsePressure, ReadsSomeAndFullTotals) {
  auto psi = ParsePressure(
      "some avg10=1.25 avg60=0.40 avg300=0.10 total=1283764\n"
      "full avg10=0.50 avg60=0.20 avg300=0.05 total=902113\n",
      "memory.pressure");
  ASSERT_TRUE(psi.has_value()) << psi.error().message;
  EXPECT_EQ(psi->some_total_us, 1283764u);
  EXPECT_EQ(psi->full_total_us, U64(902113));
}

TEST(ParsePressure, LeavesFullUnsetWhenTheKernelHasNoFullLine) {
  auto psi = ParsePressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=9\n",
                           "cpu.pressure");
  ASSERT_TRUE(psi.has_value());
  EXPECT_EQ(psi->some_total_us, 9u);
  EXPECT_EQ(psi->full_total_us, std::nullopt);
}

TEST(ParsePressure, RejectsMalformedContent) {
  for (const char* bad :
       {"full avg10=0.00 avg60=0.00 avg300=0.00 total=1\n",
        "some avg10=0.00 avg60=0.00 avg300=0.00\n",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=\n",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=12x\n",
        "sum avg10=0.00 avg60=0.00 avg300=0.00 total=1\n", "\n"}) {
    auto psi = ParsePressure(bad, "memory.pressure");
    ASSERT_FALSE(psi.has_value()) << "'" << bad << "'";
    EXPECT_EQ(psi.error().code, ErrorCode::kParse) << "'" << bad << "'";
    EXPECT_TRUE(psi.error().message.starts_with("memory.pressure: "));
  }
}

TEST(ParsePidList, ReadsOnePidPerLineAndSkipsZeros) {
  auto pids = ParsePidList("4017\n0\n4711\n12", "cgroup.procs");
  ASSERT_TRUE(pids.has_value()) << pids.error().message;
  EXPECT_EQ(*pids, (std::vector<std::int32_t>{4017, 4711, 12}));
  auto empty = ParsePidList("", "cgroup.procs");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(ParsePidList, RejectsWhatIsNotAPidNamingPathAndLine) {
  for (const char* bad :
       {"12\nabc\n", "-1\n", "4294967296\n", " 12\n", "12\n\n"}) {
    auto pids = ParsePidList(bad, "/x/cgroup.procs");
    ASSERT_FALSE(pids.has_value()) << "'" << bad << "'";
    EXPECT_EQ(pids.error().code, ErrorCode::kParse);
    EXPECT_TRUE(pids.error().message.starts_with("/x/cgroup.procs: not a PID"))
        << pids.error().message;
  }
}

}  // namespace
}  // namespace leakwatch::cgroup::detail
