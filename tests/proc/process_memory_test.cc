// ReadProcessMemory and InHostPidNamespace on fixture and real procfs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "proc/proc.h"

namespace leakwatch::proc {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kFixture = LEAKWATCH_FIXTURES_DIR "/proc";

TEST(ProcessMemory, ReadsCommAnonAndShmemFromStatus) {
  auto m = ReadProcessMemory(kFixture, 4242);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->comm, "node server (1)");
  EXPECT_EQ(m->anon_bytes, 118784u * 1024);
  EXPECT_EQ(m->shmem_bytes, 2048u * 1024);
}

TEST(ProcessMemory, AKernelThreadOrAnExitedProcessIsNotFound) {
  auto kthread = ReadProcessMemory(kFixture, 2);
  ASSERT_FALSE(kthread.has_value());
  EXPECT_EQ(kthread.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(kthread.error().message, HasSubstr("2/status"));
  auto gone = ReadProcessMemory(kFixture, 99999);
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST(ProcessMemory, AMalformedLineIsAParseErrorNamingFileAndLine) {
  const fs::path root = fs::path(::testing::TempDir()) / "procfs-bad";
  fs::create_directories(root / "7");
  std::ofstream(root / "7" / "status")
      << "Name:\tx\nRssAnon:\t12 MB\nRssShmem:\t0 kB\n";
  auto m = ReadProcessMemory(root, 7);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code, ErrorCode::kParse);
  EXPECT_THAT(m.error().message, HasSubstr("7/status:2: malformed RssAnon"));
}

TEST(ProcessMemory, ReadsThisProcessFromTheRealProcfs) {
  auto m = ReadProcessMemory("/proc", static_cast<std::int32_t>(::getpid()));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->comm, "proc_test");
  EXPECT_GT(m->anon_bytes, 0u);
}

TEST(PidNamespace, TellsTheHostsNamespaceFromAnother) {
  auto fixture = InHostPidNamespace(kFixture);
  ASSERT_TRUE(fixture.has_value()) << fixture.error().message;
  EXPECT_TRUE(*fixture);
  const fs::path other = fs::path(::testing::TempDir()) / "procfs-ns";
  fs::create_directories(other / "self" / "ns");
  fs::remove(other / "self" / "ns" / "pid");
  fs::create_symlink("pid:[4026532197]", other / "self" / "ns" / "pid");
  auto container = InHostPidNamespace(other);
  ASSERT_TRUE(container.has_value());
  EXPECT_FALSE(*container);
  auto missing = InHostPidNamespace(kFixture / "4242");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, HasSubstr("self/ns/pid"));
}

}  // namespace
}  // namespace leakwatch::proc
