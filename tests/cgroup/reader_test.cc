#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "cgroup_test_util.h"

namespace leakwatch::cgroup {
namespace {

namespace fs = std::filesystem;
using testing::CopyFixture;
using testing::Fixture;
using testing::TempDir;
using testing::WriteFile;

std::string S(std::string_view text) { return std::string(text); }

struct Opened {
  Layout layout;
  Container container;
  std::optional<ContainerReader> reader;
};

// Detects the layout of root, discovers the container with the given id
// and opens its reader.
Opened OpenContainer(const fs::path& root, std::string_view id) {
  Opened out;
  auto layout = DetectLayout(root);
  EXPECT_TRUE(layout.has_value()) << layout.error().message;
  if (!layout) return out;
  out.layout = *layout;
  auto containers = Discover(out.layout);
  EXPECT_TRUE(containers.has_value()) << containers.error().message;
  if (!containers) return out;
  for (const Container& c : *containers) {
    if (c.id == id) out.container = c;
  }
  EXPECT_EQ(out.container.id, id) << "not discovered under " << root;
  if (out.container.id != id) return out;
  auto reader = ContainerReader::Open(out.layout, out.container);
  EXPECT_TRUE(reader.has_value()) << reader.error().message;
  if (reader) out.reader.emplace(std::move(*reader));
  return out;
}

Result<Sample> ReadOnce(ContainerReader& reader) {
  std::vector<char> scratch(ContainerReader::kScratchSize);
  return reader.Read(scratch);
}

// Opens and reads one fixture container; fails the test on any error.
Sample ReadFixture(const fs::path& root, std::string_view id) {
  Opened opened = OpenContainer(root, id);
  if (!opened.reader) return {};
  auto sample = ReadOnce(*opened.reader);
  EXPECT_TRUE(sample.has_value()) << sample.error().message;
  return sample.value_or(Sample{});
}

void ExpectSampleEq(const Sample& actual, const Sample& expected) {
  EXPECT_EQ(actual.usage_bytes, expected.usage_bytes);
  EXPECT_EQ(actual.working_set_bytes, expected.working_set_bytes);
  EXPECT_EQ(actual.rss_bytes, expected.rss_bytes);
  EXPECT_EQ(actual.cache_bytes, expected.cache_bytes);
  EXPECT_EQ(actual.swap_bytes, expected.swap_bytes);
  EXPECT_EQ(actual.limit_bytes, expected.limit_bytes);
  EXPECT_EQ(actual.oom_kills, expected.oom_kills);
  EXPECT_EQ(actual.cpu_usage_ns, expected.cpu_usage_ns);
  EXPECT_EQ(actual.cpu_throttled_ns, expected.cpu_throttled_ns);
  EXPECT_EQ(actual.psi_memory_some_us, expected.psi_memory_some_us);
  EXPECT_EQ(actual.psi_memory_full_us, expected.psi_memory_full_us);
  EXPECT_EQ(actual.shmem_bytes, expected.shmem_bytes);
  EXPECT_EQ(actual.mapped_file_bytes, expected.mapped_file_bytes);
  EXPECT_EQ(actual.active_file_bytes, expected.active_file_bytes);
  EXPECT_EQ(actual.inactive_file_bytes, expected.inactive_file_bytes);
  EXPECT_EQ(actual.kernel_bytes, expected.kernel_bytes);
  EXPECT_EQ(actual.kernel_approximate, expected.kernel_approximate);
  EXPECT_EQ(actual.slab_bytes, expected.slab_bytes);
  EXPECT_EQ(actual.kernel_stack_bytes, expected.kernel_stack_bytes);
  EXPECT_EQ(actual.pagetables_bytes, expected.pagetables_bytes);
  EXPECT_EQ(actual.sock_bytes, expected.sock_bytes);
}

// Asserts that result is an error with code whose message contains every
// one of the given parts.
template <typename T>
void ExpectError(const Result<T>& result, ErrorCode code,
                 std::initializer_list<std::string> parts) {
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, code)
      << ErrorCodeName(result.error().code) << ": " << result.error().message;
  for (const std::string& part : parts) {
    EXPECT_NE(result.error().message.find(part), std::string::npos)
        << "'" << part << "' not in: " << result.error().message;
  }
}

// --- Every fixture container, every field -----------------------------------

struct FixtureCase {
  const char* name;
  const char* tree;
  std::string_view id;
  Sample expected;
};

void PrintTo(const FixtureCase& c, std::ostream* out) { *out << c.name; }

class FixtureReader : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(FixtureReader, ReadsEveryFieldExactlyAsTheFilesSay) {
  const FixtureCase& c = GetParam();
  ExpectSampleEq(ReadFixture(Fixture(c.tree), c.id), c.expected);
}

// Values copied by hand from the fixture files; working_set is usage minus
// (total_)inactive_file, CPU from v2 is usec * 1000. v1 kernel memory is
// memory.kmem.usage_in_bytes where the tree has it (v1_db), else usage
// minus the LRU lists (approximate); v2's is the kernel key, or on a tree
// without it (v2_podman) slab_reclaimable + slab_unreclaimable +
// kernel_stack + pagetables + percpu + vmalloc.
INSTANTIATE_TEST_SUITE_P(
    AllTrees, FixtureReader,
    ::testing::Values(FixtureCase{"v1_web",
                                  "v1",
                                  testing::kV1Web,
                                  {.usage_bytes = 289746944,
                                   .working_set_bytes = 248385536,
                                   .rss_bytes = 183230464,
                                   .cache_bytes = 92274688,
                                   .swap_bytes = 1048576,
                                   .limit_bytes = 536870912,
                                   .oom_kills = 2,
                                   .cpu_usage_ns = 48213375112,
                                   .cpu_throttled_ns = 1503443215,
                                   .psi_memory_some_us = std::nullopt,
                                   .psi_memory_full_us = std::nullopt,
                                   .shmem_bytes = 786432,
                                   .mapped_file_bytes = 18452480,
                                   .active_file_bytes = 50126848,
                                   .inactive_file_bytes = 41361408,
                                   .kernel_bytes = 14241792,
                                   .kernel_approximate = true,
                                   .slab_bytes = std::nullopt,
                                   .kernel_stack_bytes = std::nullopt,
                                   .pagetables_bytes = std::nullopt,
                                   .sock_bytes = std::nullopt}},
                      FixtureCase{"v1_db",
                                  "v1",
                                  testing::kV1Db,
                                  {.usage_bytes = 2371457024,
                                   .working_set_bytes = 1163497472,
                                   .rss_bytes = 734003200,
                                   .cache_bytes = 1610612736,
                                   .swap_bytes = 0,
                                   .limit_bytes = std::nullopt,
                                   .oom_kills = 0,
                                   .cpu_usage_ns = 912345678901,
                                   .cpu_throttled_ns = 0,
                                   .psi_memory_some_us = std::nullopt,
                                   .psi_memory_full_us = std::nullopt,
                                   .shmem_bytes = 1572864,
                                   .mapped_file_bytes = 322121728,
                                   .active_file_bytes = 401080320,
                                   .inactive_file_bytes = 1207959552,
                                   .kernel_bytes = 26738688,
                                   .kernel_approximate = false,
                                   .slab_bytes = std::nullopt,
                                   .kernel_stack_bytes = std::nullopt,
                                   .pagetables_bytes = std::nullopt,
                                   .sock_bytes = std::nullopt}},
                      FixtureCase{"comounted_nginx",
                                  "v1-comounted",
                                  testing::kComountedNginx,
                                  {.usage_bytes = 75497472,
                                   .working_set_bytes = 67108864,
                                   .rss_bytes = 52428800,
                                   .cache_bytes = 20971520,
                                   .swap_bytes = 2097152,
                                   .limit_bytes = 805306368,
                                   .oom_kills = std::nullopt,
                                   .cpu_usage_ns = 27182818284,
                                   .cpu_throttled_ns = 45000000,
                                   .psi_memory_some_us = std::nullopt,
                                   .psi_memory_full_us = std::nullopt,
                                   .shmem_bytes = std::nullopt,
                                   .mapped_file_bytes = 4194304,
                                   .active_file_bytes = 11272192,
                                   .inactive_file_bytes = 8388608,
                                   .kernel_bytes = 2097152,
                                   .kernel_approximate = true,
                                   .slab_bytes = std::nullopt,
                                   .kernel_stack_bytes = std::nullopt,
                                   .pagetables_bytes = std::nullopt,
                                   .sock_bytes = std::nullopt}},
                      FixtureCase{"comounted_podman",
                                  "v1-comounted",
                                  testing::kComountedPodman,
                                  {.usage_bytes = 36175872,
                                   .working_set_bytes = 35127296,
                                   .rss_bytes = 31457280,
                                   .cache_bytes = 4194304,
                                   .swap_bytes = 0,
                                   .limit_bytes = std::nullopt,
                                   .oom_kills = std::nullopt,
                                   .cpu_usage_ns = 3141592653,
                                   .cpu_throttled_ns = 0,
                                   .psi_memory_some_us = std::nullopt,
                                   .psi_memory_full_us = std::nullopt,
                                   .shmem_bytes = std::nullopt,
                                   .mapped_file_bytes = 835584,
                                   .active_file_bytes = 2883584,
                                   .inactive_file_bytes = 1048576,
                                   .kernel_bytes = 524288,
                                   .kernel_approximate = true,
                                   .slab_bytes = std::nullopt,
                                   .kernel_stack_bytes = std::nullopt,
                                   .pagetables_bytes = std::nullopt,
                                   .sock_bytes = std::nullopt}},
                      FixtureCase{"comounted_k8s",
                                  "v1-comounted",
                                  testing::kComountedK8s,
                                  {.usage_bytes = 180355072,
                                   .working_set_bytes = 146800640,
                                   .rss_bytes = 115343360,
                                   .cache_bytes = 62914560,
                                   .swap_bytes = 0,
                                   .limit_bytes = 314572800,
                                   .oom_kills = std::nullopt,
                                   .cpu_usage_ns = 16180339887,
                                   .cpu_throttled_ns = 9876543210,
                                   .psi_memory_some_us = std::nullopt,
                                   .psi_memory_full_us = std::nullopt,
                                   .shmem_bytes = std::nullopt,
                                   .mapped_file_bytes = 12582912,
                                   .active_file_bytes = 28311552,
                                   .inactive_file_bytes = 33554432,
                                   .kernel_bytes = 2097152,
                                   .kernel_approximate = true,
                                   .slab_bytes = std::nullopt,
                                   .kernel_stack_bytes = std::nullopt,
                                   .pagetables_bytes = std::nullopt,
                                   .sock_bytes = std::nullopt}},
                      FixtureCase{"v2_api",
                                  "v2",
                                  testing::kV2Api,
                                  {.usage_bytes = 557670400,
                                   .working_set_bytes = 452812800,
                                   .rss_bytes = 398458880,
                                   .cache_bytes = 157286400,
                                   .swap_bytes = 0,
                                   .limit_bytes = 1073741824,
                                   .oom_kills = 0,
                                   .cpu_usage_ns = 7204519133000,
                                   .cpu_throttled_ns = 12873311000,
                                   .psi_memory_some_us = 1283764,
                                   .psi_memory_full_us = 902113,
                                   .shmem_bytes = 131072,
                                   .mapped_file_bytes = 39321600,
                                   .active_file_bytes = 52297728,
                                   .inactive_file_bytes = 104857600,
                                   .kernel_bytes = 1921024,
                                   .kernel_approximate = false,
                                   .slab_bytes = 997888,
                                   .kernel_stack_bytes = 98304,
                                   .pagetables_bytes = 782336,
                                   .sock_bytes = 4096}},
                      FixtureCase{"v2_leaky",
                                  "v2",
                                  testing::kV2Leaky,
                                  {.usage_bytes = 2689781760,
                                   .working_set_bytes = 2287128576,
                                   .rss_bytes = 2147483648,
                                   .cache_bytes = 536870912,
                                   .swap_bytes = 16777216,
                                   .limit_bytes = std::nullopt,
                                   .oom_kills = 3,
                                   .cpu_usage_ns = 98765432101000,
                                   .cpu_throttled_ns = 0,
                                   .psi_memory_some_us = 88123456,
                                   .psi_memory_full_us = 61234567,
                                   .shmem_bytes = 262144,
                                   .mapped_file_bytes = 134217728,
                                   .active_file_bytes = 133955584,
                                   .inactive_file_bytes = 402653184,
                                   .kernel_bytes = 5419008,
                                   .kernel_approximate = false,
                                   .slab_bytes = 1028608,
                                   .kernel_stack_bytes = 147456,
                                   .pagetables_bytes = 4198400,
                                   .sock_bytes = 8192}},
                      FixtureCase{"v2_noswap",
                                  "v2",
                                  testing::kV2NoSwap,
                                  {.usage_bytes = 25456640,
                                   .working_set_bytes = 23359488,
                                   .rss_bytes = 20971520,
                                   .cache_bytes = 3145728,
                                   .swap_bytes = std::nullopt,
                                   .limit_bytes = 268435456,
                                   .oom_kills = 0,
                                   .cpu_usage_ns = 1500000000,
                                   .cpu_throttled_ns = std::nullopt,
                                   .psi_memory_some_us = std::nullopt,
                                   .psi_memory_full_us = std::nullopt,
                                   .shmem_bytes = 393216,
                                   .mapped_file_bytes = 786432,
                                   .active_file_bytes = 655360,
                                   .inactive_file_bytes = 2097152,
                                   .kernel_bytes = 1339392,
                                   .kernel_approximate = false,
                                   .slab_bytes = 1059328,
                                   .kernel_stack_bytes = 196608,
                                   .pagetables_bytes = 45056,
                                   .sock_bytes = 0}},
                      FixtureCase{"v2_k8s_app",
                                  "v2",
                                  testing::kV2K8sApp,
                                  {.usage_bytes = 337260544,
                                   .working_set_bytes = 303706112,
                                   .rss_bytes = 268435456,
                                   .cache_bytes = 67108864,
                                   .swap_bytes = 0,
                                   .limit_bytes = 536870912,
                                   .oom_kills = 1,
                                   .cpu_usage_ns = 42000000000000,
                                   .cpu_throttled_ns = 754321987000,
                                   .psi_memory_some_us = 5500321,
                                   .psi_memory_full_us = 4400123,
                                   .shmem_bytes = 524288,
                                   .mapped_file_bytes = 16777216,
                                   .active_file_bytes = 33030144,
                                   .inactive_file_bytes = 33554432,
                                   .kernel_bytes = 1712128,
                                   .kernel_approximate = false,
                                   .slab_bytes = 1090048,
                                   .kernel_stack_bytes = 49152,
                                   .pagetables_bytes = 528384,
                                   .sock_bytes = 4096}},
                      FixtureCase{"v2_k8s_pause",
                                  "v2",
                                  testing::kV2K8sPause,
                                  {.usage_bytes = 1540096,
                                   .working_set_bytes = 1540096,
                                   .rss_bytes = 262144,
                                   .cache_bytes = 0,
                                   .swap_bytes = 0,
                                   .limit_bytes = std::nullopt,
                                   .oom_kills = 0,
                                   .cpu_usage_ns = 38123000,
                                   .cpu_throttled_ns = 0,
                                   .psi_memory_some_us = 0,
                                   .psi_memory_full_us = 0,
                                   .shmem_bytes = 0,
                                   .mapped_file_bytes = 0,
                                   .active_file_bytes = 0,
                                   .inactive_file_bytes = 0,
                                   .kernel_bytes = 1269760,
                                   .kernel_approximate = false,
                                   .slab_bytes = 1120768,
                                   .kernel_stack_bytes = 98304,
                                   .pagetables_bytes = 4096,
                                   .sock_bytes = 8192}},
                      FixtureCase{"v2_podman",
                                  "v2",
                                  testing::kV2Podman,
                                  {.usage_bytes = 169361408,
                                   .working_set_bytes = 148389888,
                                   .rss_bytes = 125829120,
                                   .cache_bytes = 41943040,
                                   .swap_bytes = 4194304,
                                   .limit_bytes = 805306368,
                                   .oom_kills = 0,
                                   .cpu_usage_ns = 3600000000000,
                                   .cpu_throttled_ns = 0,
                                   .psi_memory_some_us = 777,
                                   .psi_memory_full_us = 555,
                                   .shmem_bytes = 131072,
                                   .mapped_file_bytes = 10485760,
                                   .active_file_bytes = 20840448,
                                   .inactive_file_bytes = 20971520,
                                   .kernel_bytes = 1553120,
                                   .kernel_approximate = false,
                                   .slab_bytes = 1151488,
                                   .kernel_stack_bytes = 147456,
                                   .pagetables_bytes = 249856,
                                   .sock_bytes = 0}},
                      FixtureCase{"hybrid_worker",
                                  "hybrid",
                                  testing::kHybridWorker,
                                  {.usage_bytes = 1279262720,
                                   .working_set_bytes = 1069547520,
                                   .rss_bytes = 943718400,
                                   .cache_bytes = 314572800,
                                   .swap_bytes = std::nullopt,
                                   .limit_bytes = 2147483648,
                                   .oom_kills = 1,
                                   .cpu_usage_ns = 555444333222,
                                   .cpu_throttled_ns = 98765432100,
                                   .psi_memory_some_us = 24680,
                                   .psi_memory_full_us = 13579,
                                   .shmem_bytes = 0,
                                   .mapped_file_bytes = 62914560,
                                   .active_file_bytes = 104857600,
                                   .inactive_file_bytes = 209715200,
                                   .kernel_bytes = 20971520,
                                   .kernel_approximate = true,
                                   .slab_bytes = std::nullopt,
                                   .kernel_stack_bytes = std::nullopt,
                                   .pagetables_bytes = std::nullopt,
                                   .sock_bytes = std::nullopt}},
                      FixtureCase{"hybrid_cron",
                                  "hybrid",
                                  testing::kHybridCron,
                                  {.usage_bytes = 10813440,
                                   .working_set_bytes = 9764864,
                                   .rss_bytes = 8388608,
                                   .cache_bytes = 2097152,
                                   .swap_bytes = std::nullopt,
                                   .limit_bytes = std::nullopt,
                                   .oom_kills = 0,
                                   .cpu_usage_ns = 111222333,
                                   .cpu_throttled_ns = 0,
                                   .psi_memory_some_us = std::nullopt,
                                   .psi_memory_full_us = std::nullopt,
                                   .shmem_bytes = 786432,
                                   .mapped_file_bytes = 417792,
                                   .active_file_bytes = 262144,
                                   .inactive_file_bytes = 1048576,
                                   .kernel_bytes = 327680,
                                   .kernel_approximate = true,
                                   .slab_bytes = std::nullopt,
                                   .kernel_stack_bytes = std::nullopt,
                                   .pagetables_bytes = std::nullopt,
                                   .sock_bytes = std::nullopt}}),
    [](const ::testing::TestParamInfo<FixtureCase>& case_info) {
      return std::string(case_info.param.name);
    });

// --- Named behaviours -------------------------------------------------------

TEST(CgroupV1Reader, TreatsPageCounterMaxAsUnlimited) {
  // v1/memory/docker/<db>/memory.limit_in_bytes is 9223372036854771712.
  const Sample sample = ReadFixture(Fixture("v1"), testing::kV1Db);
  EXPECT_EQ(sample.limit_bytes, std::nullopt);
  EXPECT_EQ(sample.swap_bytes, std::optional<std::uint64_t>(0));
}

TEST(CgroupV1Reader, TreatsResourceMaxOfOldKernelsAsUnlimited) {
  // 3.10 wrote 9223372036854775807.
  const Sample sample =
      ReadFixture(Fixture("v1-comounted"), testing::kComountedPodman);
  EXPECT_EQ(sample.limit_bytes, std::nullopt);
}

TEST(CgroupV1Reader, KeepsLimitJustBelowTwoToTheSixtyTwo) {
  TempDir tmp;
  const fs::path root = CopyFixture("v1", tmp.path());
  WriteFile(root / "memory/docker" / testing::kV1Web / "memory.limit_in_bytes",
            "4611686018427383808\n");  // 2^62 - 4096
  EXPECT_EQ(ReadFixture(root, testing::kV1Web).limit_bytes,
            std::optional<std::uint64_t>(4611686018427383808u));
  WriteFile(root / "memory/docker" / testing::kV1Web / "memory.limit_in_bytes",
            "4611686018427387904\n");  // 2^62
  EXPECT_EQ(ReadFixture(root, testing::kV1Web).limit_bytes, std::nullopt);
}

TEST(CgroupV1Reader, ReportsNoSwapWithoutSwapAccounting) {
  // The hybrid fixture's memory.stat has no total_swap line.
  EXPECT_EQ(ReadFixture(Fixture("hybrid"), testing::kHybridWorker).swap_bytes,
            std::nullopt);
}

TEST(CgroupV1Reader, ReportsNoOomKillsWhereOomControlLacksTheLine) {
  EXPECT_EQ(
      ReadFixture(Fixture("v1-comounted"), testing::kComountedNginx).oom_kills,
      std::nullopt);
}

TEST(CgroupV1Reader, ReportsDyingCgroupWithEmptyMemoryStatAsNotFound) {
  Opened opened = OpenContainer(Fixture("v1"), testing::kV1Dying);
  ASSERT_TRUE(opened.reader.has_value());
  ExpectError(ReadOnce(*opened.reader), ErrorCode::kNotFound,
              {S(testing::kV1Dying) + "/memory.stat"});
}

TEST(CgroupV2Reader, ParsesMaxAsUnlimited) {
  const Sample sample = ReadFixture(Fixture("v2"), testing::kV2Leaky);
  EXPECT_EQ(sample.limit_bytes, std::nullopt);
  EXPECT_EQ(sample.usage_bytes, 2689781760u);
}

TEST(CgroupV2Reader, ReportsMissingSwapPsiAndThrottlingAsUnknown) {
  const Sample sample = ReadFixture(Fixture("v2"), testing::kV2NoSwap);
  EXPECT_EQ(sample.swap_bytes, std::nullopt);
  EXPECT_EQ(sample.psi_memory_some_us, std::nullopt);
  EXPECT_EQ(sample.psi_memory_full_us, std::nullopt);
  EXPECT_EQ(sample.cpu_throttled_ns, std::nullopt);
  EXPECT_EQ(sample.cpu_usage_ns, std::optional<std::uint64_t>(1500000000));
}

TEST(CgroupV2Reader, FloorsWorkingSetAtZero) {
  TempDir tmp;
  const fs::path root = CopyFixture("v2", tmp.path());
  const fs::path dir =
      root / "system.slice" / ("docker-" + S(testing::kV2Api) + ".scope");
  WriteFile(dir / "memory.current", "4096\n");  // below inactive_file
  const Sample sample = ReadFixture(root, testing::kV2Api);
  EXPECT_EQ(sample.usage_bytes, 4096u);
  EXPECT_EQ(sample.working_set_bytes, 0u);
}

TEST(HybridReader, ReadsPressureFromTheUnifiedHierarchy) {
  const Sample worker = ReadFixture(Fixture("hybrid"), testing::kHybridWorker);
  EXPECT_EQ(worker.psi_memory_some_us, std::optional<std::uint64_t>(24680));
  EXPECT_EQ(worker.psi_memory_full_us, std::optional<std::uint64_t>(13579));
  // The cron container has no cgroup on the unified hierarchy.
  const Sample cron = ReadFixture(Fixture("hybrid"), testing::kHybridCron);
  EXPECT_EQ(cron.psi_memory_some_us, std::nullopt);
}

TEST(ContainerReader, RereadsTheFilesOnEverySample) {
  TempDir tmp;
  const fs::path root = CopyFixture("v2", tmp.path());
  const fs::path dir =
      root / "system.slice" / ("docker-" + S(testing::kV2Api) + ".scope");
  Opened opened = OpenContainer(root, testing::kV2Api);
  ASSERT_TRUE(opened.reader.has_value());
  auto first = ReadOnce(*opened.reader);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(first->usage_bytes, 557670400u);
  // Rewritten in place (same inode), shorter than before, as the kernel
  // would print it.
  WriteFile(dir / "memory.current", "123456789\n");
  WriteFile(dir / "memory.max", "max\n");
  auto second = ReadOnce(*opened.reader);
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_EQ(second->usage_bytes, 123456789u);
  EXPECT_EQ(second->limit_bytes, std::nullopt);
}

TEST(ContainerReader, ReportsContainerRemovedAfterOpenAsNotFound) {
  TempDir tmp;
  const fs::path root = CopyFixture("v2", tmp.path());
  Opened opened = OpenContainer(root, testing::kV2Api);
  ASSERT_TRUE(opened.reader.has_value());
  ASSERT_TRUE(ReadOnce(*opened.reader).has_value());
  const fs::path dir = root / opened.container.path.substr(1);
  ASSERT_GT(fs::remove_all(dir), 0u);
  ExpectError(ReadOnce(*opened.reader), ErrorCode::kNotFound,
              {S(testing::kV2Api)});
}

TEST(ContainerReader, OpenReportsMissingContainerAsNotFound) {
  auto layout = DetectLayout(Fixture("v1"));
  ASSERT_TRUE(layout.has_value());
  const std::string path =
      "/docker/"
      "0000000000000000000000000000000000000000000000000000000000000000";
  auto reader = ContainerReader::Open(*layout, Container{path.substr(8), path});
  ExpectError(reader, ErrorCode::kNotFound, {path + "/memory.usage_in_bytes"});
}

TEST(ContainerReader, OpenRequiresEveryMemoryFile) {
  TempDir tmp;
  const fs::path root = CopyFixture("v1", tmp.path());
  const fs::path file =
      root / "memory/docker" / testing::kV1Web / "memory.oom_control";
  fs::remove(file);
  auto layout = DetectLayout(root);
  ASSERT_TRUE(layout.has_value());
  auto reader = ContainerReader::Open(
      *layout, Container{S(testing::kV1Web), "/docker/" + S(testing::kV1Web)});
  ExpectError(reader, ErrorCode::kNotFound, {file.string()});
}

TEST(ContainerReader, OpensWithoutCpuFiles) {
  TempDir tmp;
  const fs::path root = CopyFixture("v1", tmp.path());
  fs::remove_all(root / "cpu/docker" / testing::kV1Web);
  fs::remove_all(root / "cpuacct/docker" / testing::kV1Web);
  const Sample sample = ReadFixture(root, testing::kV1Web);
  EXPECT_EQ(sample.cpu_usage_ns, std::nullopt);
  EXPECT_EQ(sample.cpu_throttled_ns, std::nullopt);
  EXPECT_EQ(sample.usage_bytes, 289746944u);
}

TEST(ContainerReader, FailsWhenScratchCannotHoldMemoryStat) {
  Opened opened = OpenContainer(Fixture("v2"), testing::kV2Api);
  ASSERT_TRUE(opened.reader.has_value());
  std::vector<char> scratch(256);
  ExpectError(opened.reader->Read(scratch), ErrorCode::kIo,
              {"memory.stat", "256-byte scratch"});
}

TEST(ContainerReader, KeepsWorkingAfterBeingMoved) {
  Opened opened = OpenContainer(Fixture("v2"), testing::kV2Leaky);
  ASSERT_TRUE(opened.reader.has_value());
  ContainerReader moved = std::move(*opened.reader);
  opened.reader.reset();
  auto sample = ReadOnce(moved);
  ASSERT_TRUE(sample.has_value()) << sample.error().message;
  EXPECT_EQ(sample->oom_kills, std::optional<std::uint64_t>(3));
}

TEST(ContainerReader, ReadAllocatesNothing) {
  for (const auto& [tree, id] :
       {std::pair{"v1", testing::kV1Web}, std::pair{"v2", testing::kV2Api},
        std::pair{"hybrid", testing::kHybridWorker}}) {
    Opened opened = OpenContainer(Fixture(tree), id);
    ASSERT_TRUE(opened.reader.has_value());
    std::vector<char> scratch(ContainerReader::kScratchSize);
    bool all_ok = true;
    const long before = testing::AllocationCount();
    for (int i = 0; i < 100; ++i) {
      all_ok = opened.reader->Read(scratch).has_value() && all_ok;
    }
    const long after = testing::AllocationCount();
    EXPECT_TRUE(all_ok) << tree;
    EXPECT_EQ(after - before, 0) << tree;
  }
}

// --- Malformed content ------------------------------------------------------

class MalformedV2 : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = CopyFixture("v2", tmp_.path());
    dir_ = root_ / "system.slice" / ("docker-" + S(testing::kV2Api) + ".scope");
  }

  Result<Sample> ReadApi() {
    Opened opened = OpenContainer(root_, testing::kV2Api);
    if (!opened.reader) return MakeError(ErrorCode::kIo, "open failed");
    return ReadOnce(*opened.reader);
  }

  TempDir tmp_;
  fs::path root_;
  fs::path dir_;
};

TEST_F(MalformedV2, RejectsNonNumericMemoryStatValueNamingPathAndKey) {
  WriteFile(dir_ / "memory.stat", "anon 12x\nfile 0\ninactive_file 0\n");
  ExpectError(ReadApi(), ErrorCode::kParse,
              {(dir_ / "memory.stat").string(), "anon", "12x"});
}

TEST_F(MalformedV2, RejectsMemoryStatWithoutInactiveFile) {
  WriteFile(dir_ / "memory.stat", "anon 1\nfile 2\nactive_file 2\n");
  ExpectError(ReadApi(), ErrorCode::kParse,
              {(dir_ / "memory.stat").string(), "inactive_file"});
}

TEST_F(MalformedV2, RejectsMemoryStatLineWithoutValue) {
  WriteFile(dir_ / "memory.stat", "anon 1\nfile\ninactive_file 0\n");
  ExpectError(ReadApi(), ErrorCode::kParse, {"memory.stat", "'file'"});
}

TEST_F(MalformedV2, RejectsMemoryMaxThatIsNeitherNumberNorMax) {
  WriteFile(dir_ / "memory.max", "unlimited\n");
  ExpectError(ReadApi(), ErrorCode::kParse,
              {(dir_ / "memory.max").string(), "unlimited"});
}

TEST_F(MalformedV2, RejectsMaxInMemoryCurrent) {
  WriteFile(dir_ / "memory.current", "max\n");
  ExpectError(ReadApi(), ErrorCode::kParse, {"memory.current"});
}

TEST_F(MalformedV2, RejectsNegativeUsage) {
  WriteFile(dir_ / "memory.current", "-4096\n");
  ExpectError(ReadApi(), ErrorCode::kParse, {"memory.current", "-4096"});
}

TEST_F(MalformedV2, RejectsPressureWithoutTotal) {
  WriteFile(dir_ / "memory.pressure",
            "some avg10=0.00 avg60=0.00 avg300=0.00\n");
  ExpectError(ReadApi(), ErrorCode::kParse, {"memory.pressure", "total"});
}

TEST_F(MalformedV2, RejectsCpuStatWithoutUsage) {
  WriteFile(dir_ / "cpu.stat", "user_usec 1\nsystem_usec 2\n");
  ExpectError(ReadApi(), ErrorCode::kParse, {"cpu.stat", "usage_usec"});
}

TEST_F(MalformedV2, RejectsUsageThatOverflowsNanoseconds) {
  WriteFile(dir_ / "cpu.stat", "usage_usec 18446744073709552\n");
  ExpectError(ReadApi(), ErrorCode::kParse, {"cpu.stat", "usage_usec"});
}

TEST_F(MalformedV2, ReportsEmptyMemoryCurrentAsNotFound) {
  WriteFile(dir_ / "memory.current", "");
  ExpectError(ReadApi(), ErrorCode::kNotFound, {"memory.current"});
}

TEST(MalformedV1, RejectsMemoryStatWithoutTotalRss) {
  TempDir tmp;
  const fs::path root = CopyFixture("v1", tmp.path());
  const fs::path stat =
      root / "memory/docker" / testing::kV1Web / "memory.stat";
  WriteFile(stat, "cache 1\nrss 2\ntotal_cache 1\ntotal_inactive_file 0\n");
  Opened opened = OpenContainer(root, testing::kV1Web);
  ASSERT_TRUE(opened.reader.has_value());
  ExpectError(ReadOnce(*opened.reader), ErrorCode::kParse,
              {stat.string(), "total_rss"});
}

TEST(MalformedV1, RejectsNonNumericThrottledTime) {
  TempDir tmp;
  const fs::path root = CopyFixture("v1", tmp.path());
  const fs::path stat = root / "cpu/docker" / testing::kV1Web / "cpu.stat";
  WriteFile(stat, "nr_periods 1\nnr_throttled 0\nthrottled_time 0x10\n");
  Opened opened = OpenContainer(root, testing::kV1Web);
  ASSERT_TRUE(opened.reader.has_value());
  ExpectError(ReadOnce(*opened.reader), ErrorCode::kParse,
              {stat.string(), "throttled_time"});
}

// --- A real v1 cgroup -------------------------------------------------------

// Creates cgroup directories and removes them (deepest first) when done.
class CgroupDirs {
 public:
  CgroupDirs() = default;
  CgroupDirs(const CgroupDirs&) = delete;
  CgroupDirs& operator=(const CgroupDirs&) = delete;
  ~CgroupDirs() { RemoveAll(); }

  bool Make(const fs::path& dir) {
    if (::mkdir(dir.c_str(), 0755) != 0) return false;
    made_.push_back(dir);
    return true;
  }
  // Returns whether every rmdir succeeded.
  bool RemoveAll() {
    bool ok = true;
    while (!made_.empty()) {
      ok = ::rmdir(made_.back().c_str()) == 0 && ok;
      made_.pop_back();
    }
    return ok;
  }

 private:
  std::vector<fs::path> made_;
};

std::uint64_t ReadNumber(const fs::path& path) {
  std::ifstream in(path);
  std::uint64_t value = 0;
  in >> value;
  return value;
}

TEST(CgroupV1Reader, ReportsRealCgroupRemovedAfterOpenAsNotFound) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to create cgroups under /sys/fs/cgroup";
  }
  const fs::path root = "/sys/fs/cgroup";
  if (!fs::exists(root / "memory" / "memory.usage_in_bytes")) {
    GTEST_SKIP() << "no v1 memory hierarchy at /sys/fs/cgroup/memory";
  }
  auto layout = DetectLayout(root);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  ASSERT_EQ(layout->memory.version, Version::kV1);

  const std::string id =
      "1eaf00d51eaf00d51eaf00d51eaf00d51eaf00d51eaf00d51eaf00d51eaf00d5";
  const std::string top = "/leakwatch-test-" + std::to_string(::getpid());
  const std::string path = top + "/docker/" + id;
  CgroupDirs dirs;
  std::vector<fs::path> hierarchies = {layout->memory.dir};
  for (const Hierarchy* h : {&layout->cpu, &layout->cpuacct}) {
    if (h->found() && h->version == Version::kV1 &&
        h->dir != hierarchies.back()) {
      hierarchies.push_back(h->dir);
    }
  }
  if (!layout->unified.empty()) hierarchies.push_back(layout->unified);
  for (const fs::path& h : hierarchies) {
    ASSERT_TRUE(dirs.Make(h.string() + top)) << h << ": " << strerror(errno);
    ASSERT_TRUE(dirs.Make(h.string() + top + "/docker"));
    ASSERT_TRUE(dirs.Make(h.string() + path));
  }
  const fs::path memory = layout->memory.dir.string() + path;
  WriteFile(memory / "memory.limit_in_bytes", "67108864\n");

  auto found = Discover(*layout);
  ASSERT_TRUE(found.has_value()) << found.error().message;
  EXPECT_TRUE(std::any_of(
      found->begin(), found->end(),
      [&](const Container& c) { return c.id == id && c.path == path; }));

  auto reader = ContainerReader::Open(*layout, Container{id, path});
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  auto sample = ReadOnce(*reader);
  ASSERT_TRUE(sample.has_value()) << sample.error().message;
  EXPECT_EQ(sample->limit_bytes, std::optional<std::uint64_t>(67108864));
  EXPECT_EQ(sample->usage_bytes, ReadNumber(memory / "memory.usage_in_bytes"));
  EXPECT_EQ(sample->oom_kills, std::optional<std::uint64_t>(0));
  EXPECT_TRUE(sample->cpu_usage_ns.has_value());
  // This host accounts kernel memory (memory.kmem.*): read, not estimated.
  if (fs::exists(memory / "memory.kmem.usage_in_bytes")) {
    EXPECT_EQ(sample->kernel_bytes,
              ReadNumber(memory / "memory.kmem.usage_in_bytes"));
    EXPECT_FALSE(sample->kernel_approximate);
  }
  EXPECT_TRUE(sample->shmem_bytes.has_value());
  EXPECT_TRUE(sample->active_file_bytes.has_value());
  if (!layout->unified.empty()) {
    EXPECT_TRUE(sample->psi_memory_some_us.has_value());
  }

  ASSERT_TRUE(dirs.RemoveAll()) << strerror(errno);
  auto gone = ReadOnce(*reader);
  // kernfs answers ENODEV on the descriptors of a removed cgroup.
  ExpectError(gone, ErrorCode::kNotFound, {path, "No such device"});
}

}  // namespace
}  // namespace leakwatch::cgroup
