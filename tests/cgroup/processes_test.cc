#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "cgroup_test_util.h"

namespace leakwatch::cgroup {
namespace {

namespace fs = std::filesystem;
using testing::Fixture;

Layout LayoutOf(const fs::path& root) {
  auto layout = DetectLayout(root);
  EXPECT_TRUE(layout.has_value()) << layout.error().message;
  return layout.value_or(Layout{});
}

TEST(ReadProcesses, ListsTheContainersPidsFromItsMemoryCgroup) {
  const Layout v1 = LayoutOf(Fixture("v1"));
  auto pids =
      ReadProcesses(v1, Container{std::string(testing::kV1Web),
                                  "/docker/" + std::string(testing::kV1Web)});
  ASSERT_TRUE(pids.has_value()) << pids.error().message;
  EXPECT_EQ(*pids, std::vector<std::int32_t>{4017});

  const Layout v2 = LayoutOf(Fixture("v2"));
  auto v2_pids =
      ReadProcesses(v2, Container{std::string(testing::kV2Api),
                                  "/system.slice/docker-" +
                                      std::string(testing::kV2Api) + ".scope"});
  ASSERT_TRUE(v2_pids.has_value()) << v2_pids.error().message;
  EXPECT_EQ(*v2_pids, std::vector<std::int32_t>{9101});
}

TEST(ReadProcesses, ReportsAVanishedCgroupAsNotFound) {
  const Layout v1 = LayoutOf(Fixture("v1"));
  auto pids = ReadProcesses(v1, Container{"x", "/docker/gone"});
  ASSERT_FALSE(pids.has_value());
  EXPECT_EQ(pids.error().code, ErrorCode::kNotFound);
  EXPECT_NE(pids.error().message.find("/docker/gone/cgroup.procs"),
            std::string::npos)
      << pids.error().message;
}

// A real v1 memory cgroup with a real process in it.
TEST(ReadProcesses, ListsARealProcessInARealCgroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
  const fs::path root = "/sys/fs/cgroup";
  if (!fs::exists(root / "memory" / "memory.usage_in_bytes")) {
    GTEST_SKIP() << "no v1 memory hierarchy at /sys/fs/cgroup/memory";
  }
  const Layout layout = LayoutOf(root);
  const std::string path =
      "/leakwatch-procs-test-" + std::to_string(::getpid());
  const fs::path dir = layout.memory.dir.string() + path;
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << strerror(errno);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  { std::ofstream(dir / "cgroup.procs") << child << "\n"; }
  auto pids = ReadProcesses(layout, Container{"x", path});
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::rmdir(dir.c_str());
  ASSERT_TRUE(pids.has_value()) << pids.error().message;
  EXPECT_EQ(*pids, std::vector<std::int32_t>{child});
}

}  // namespace
}  // namespace leakwatch::cgroup
