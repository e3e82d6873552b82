#include <gtest/gtest.h>

#include <filesystem>

#include "cgroup/cgroup.h"
#include "cgroup_test_util.h"

namespace leakwatch::cgroup {
namespace {

namespace fs = std::filesystem;
using testing::Fixture;
using testing::TempDir;
using testing::WriteFile;

TEST(CgroupLayout, DetectsSeparateV1Mounts) {
  const fs::path root = Fixture("v1");
  auto layout = DetectLayout(root);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  EXPECT_EQ(layout->kind, Layout::Kind::kV1);
  EXPECT_EQ(layout->root, root);
  EXPECT_EQ(layout->memory.dir, root / "memory");
  EXPECT_EQ(layout->memory.version, Version::kV1);
  EXPECT_EQ(layout->cpu.dir, root / "cpu");
  EXPECT_EQ(layout->cpu.version, Version::kV1);
  EXPECT_EQ(layout->cpuacct.dir, root / "cpuacct");
  EXPECT_EQ(layout->cpuacct.version, Version::kV1);
  EXPECT_TRUE(layout->unified.empty());
}

TEST(CgroupLayout, PrefersComountedDirectoryOverItsSymlinks) {
  const fs::path root = Fixture("v1-comounted");
  auto layout = DetectLayout(root);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  EXPECT_EQ(layout->kind, Layout::Kind::kV1);
  EXPECT_EQ(layout->memory.dir, root / "memory");
  EXPECT_EQ(layout->cpu.dir, root / "cpu,cpuacct");
  EXPECT_EQ(layout->cpuacct.dir, root / "cpu,cpuacct");
  EXPECT_EQ(layout->cpu.version, Version::kV1);
  EXPECT_TRUE(layout->unified.empty());
}

TEST(CgroupLayout, FollowsSymlinkWhenItIsTheOnlyMount) {
  TempDir tmp;
  const fs::path root = tmp.path();
  WriteFile(root / "memory" / "memory.usage_in_bytes", "0\n");
  WriteFile(root / "mnt-cpu" / "cpu.stat", "nr_periods 0\n");
  WriteFile(root / "mnt-cpu" / "cpuacct.usage", "0\n");
  fs::create_directory_symlink("mnt-cpu", root / "cpu,cpuacct");
  auto layout = DetectLayout(root);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  EXPECT_EQ(layout->cpu.dir, root / "cpu,cpuacct");
  EXPECT_EQ(layout->cpuacct.dir, root / "cpu,cpuacct");
}

TEST(CgroupLayout, DetectsPureV2) {
  const fs::path root = Fixture("v2");
  auto layout = DetectLayout(root);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  EXPECT_EQ(layout->kind, Layout::Kind::kV2);
  EXPECT_EQ(layout->memory.dir, root);
  EXPECT_EQ(layout->memory.version, Version::kV2);
  EXPECT_EQ(layout->cpu.dir, root);
  EXPECT_EQ(layout->cpu.version, Version::kV2);
  EXPECT_EQ(layout->cpuacct.dir, root);
  EXPECT_EQ(layout->cpuacct.version, Version::kV2);
  EXPECT_EQ(layout->unified, root);
}

TEST(CgroupLayout, DetectsHybridWithControllerlessUnified) {
  const fs::path root = Fixture("hybrid");
  auto layout = DetectLayout(root);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  EXPECT_EQ(layout->kind, Layout::Kind::kHybrid);
  EXPECT_EQ(layout->memory.dir, root / "memory");
  EXPECT_EQ(layout->memory.version, Version::kV1);
  EXPECT_EQ(layout->cpu.dir, root / "cpu");
  EXPECT_EQ(layout->cpuacct.dir, root / "cpuacct");
  EXPECT_EQ(layout->unified, root / "unified");
}

TEST(CgroupLayout, TakesMemoryFromUnifiedWhenNoV1MountCarriesIt) {
  TempDir tmp;
  const fs::path root = tmp.path();
  WriteFile(root / "cpu" / "cpu.shares", "1024\n");
  WriteFile(root / "cpuacct" / "cpuacct.usage", "0\n");
  WriteFile(root / "unified" / "cgroup.controllers", "memory pids\n");
  auto layout = DetectLayout(root);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  EXPECT_EQ(layout->kind, Layout::Kind::kHybrid);
  EXPECT_EQ(layout->memory.dir, root / "unified");
  EXPECT_EQ(layout->memory.version, Version::kV2);
  EXPECT_EQ(layout->cpu.dir, root / "cpu");
  EXPECT_EQ(layout->cpu.version, Version::kV1);
}

TEST(CgroupLayout, TakesCpuFromUnifiedForUsageAndThrottling) {
  TempDir tmp;
  const fs::path root = tmp.path();
  WriteFile(root / "memory" / "memory.usage_in_bytes", "0\n");
  WriteFile(root / "unified" / "cgroup.controllers", "cpu io\n");
  auto layout = DetectLayout(root);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  EXPECT_EQ(layout->memory.version, Version::kV1);
  EXPECT_EQ(layout->cpu.dir, root / "unified");
  EXPECT_EQ(layout->cpu.version, Version::kV2);
  EXPECT_EQ(layout->cpuacct.dir, root / "unified");
  EXPECT_EQ(layout->cpuacct.version, Version::kV2);
}

TEST(CgroupLayout, IgnoresDirectoryNamedMemoryWithoutItsFiles) {
  TempDir tmp;
  const fs::path root = tmp.path();
  WriteFile(root / "memory" / "cgroup.procs", "");
  WriteFile(root / "cpu" / "cpu.stat", "nr_periods 0\n");
  auto layout = DetectLayout(root);
  ASSERT_FALSE(layout.has_value());
  EXPECT_EQ(layout.error().code, ErrorCode::kNotFound);
  EXPECT_NE(layout.error().message.find(root.string()), std::string::npos)
      << layout.error().message;
}

TEST(CgroupLayout, FailsWithNotFoundOnV2WithoutMemoryController) {
  TempDir tmp;
  const fs::path root = tmp.path();
  WriteFile(root / "cgroup.controllers", "cpu io pids\n");
  auto layout = DetectLayout(root);
  ASSERT_FALSE(layout.has_value());
  EXPECT_EQ(layout.error().code, ErrorCode::kNotFound);
  EXPECT_NE(layout.error().message.find(root.string()), std::string::npos);
  EXPECT_NE(layout.error().message.find("cpu io pids"), std::string::npos)
      << layout.error().message;
}

TEST(CgroupLayout, FailsWithNotFoundOnMissingRoot) {
  TempDir tmp;
  const fs::path root = tmp.path() / "absent";
  auto layout = DetectLayout(root);
  ASSERT_FALSE(layout.has_value());
  EXPECT_EQ(layout.error().code, ErrorCode::kNotFound);
  EXPECT_NE(layout.error().message.find(root.string()), std::string::npos);
}

TEST(CgroupLayout, DescribeNamesEveryHierarchyOnOneLine) {
  const fs::path root = Fixture("hybrid");
  auto layout = DetectLayout(root);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  const std::string r = root.string();
  EXPECT_EQ(layout->Describe(),
            "hybrid (memory=v1:" + r + "/memory cpu=v1:" + r +
                "/cpu cpuacct=v1:" + r + "/cpuacct unified=" + r + "/unified)");

  auto v1 = DetectLayout(Fixture("v1"));
  ASSERT_TRUE(v1.has_value());
  EXPECT_TRUE(v1->Describe().starts_with("v1 (memory=v1:"));
  EXPECT_TRUE(v1->Describe().ends_with(" unified=none)"));

  Layout partial;
  partial.kind = Layout::Kind::kV2;
  partial.memory = {"/cg", Version::kV2};
  EXPECT_EQ(partial.Describe(),
            "v2 (memory=v2:/cg cpu=none cpuacct=none unified=none)");
}

TEST(CgroupLayout, DetectsThisHostsCgroupRoot) {
  const fs::path root = "/sys/fs/cgroup";
  if (!fs::exists(root)) GTEST_SKIP() << "no /sys/fs/cgroup on this machine";
  auto layout = DetectLayout(root);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  const char* probe = layout->memory.version == Version::kV1
                          ? "memory.usage_in_bytes"
                          : "cgroup.controllers";
  EXPECT_TRUE(fs::exists(layout->memory.dir / probe)) << layout->Describe();
}

}  // namespace
}  // namespace leakwatch::cgroup
