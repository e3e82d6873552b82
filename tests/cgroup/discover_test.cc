#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "cgroup/cgroup.h"
#include "cgroup_test_util.h"

namespace leakwatch::cgroup {

// Printed by gtest/gmock when an expectation on a Container fails.
void PrintTo(const Container& container, std::ostream* out) {
  *out << "{" << container.id << ", " << container.path << "}";
}

bool operator==(const Container& a, const Container& b) {
  return a.id == b.id && a.path == b.path;
}

namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using testing::Fixture;
using ::testing::Optional;
using testing::TempDir;
using testing::WriteFile;

constexpr std::string_view kId =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr std::string_view kOtherId =
    "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

std::string S(std::string_view text) { return std::string(text); }

std::vector<Container> DiscoverIn(const fs::path& root) {
  auto layout = DetectLayout(root);
  EXPECT_TRUE(layout.has_value()) << layout.error().message;
  if (!layout) return {};
  auto containers = Discover(*layout);
  EXPECT_TRUE(containers.has_value()) << containers.error().message;
  if (!containers) return {};
  return *containers;
}

Container C(std::string_view id, std::string path) {
  return Container{std::string(id), std::move(path)};
}

// --- ContainerIdFromPath ----------------------------------------------------

TEST(ContainerIdFromPath, TakesIdFromDockerCgroupfsPath) {
  EXPECT_THAT(ContainerIdFromPath("/docker/" + S(kId)), Optional(kId));
  EXPECT_THAT(ContainerIdFromPath("/system.slice/docker/" + S(kId)),
              Optional(kId));
}

TEST(ContainerIdFromPath, TakesIdFromSystemdDockerScope) {
  EXPECT_THAT(ContainerIdFromPath("/system.slice/docker-" + S(kId) + ".scope"),
              Optional(kId));
}

TEST(ContainerIdFromPath, TakesIdFromPodmanScopeAndCgroupfsDirectory) {
  EXPECT_THAT(ContainerIdFromPath("/machine.slice/libpod-" + S(kId) + ".scope"),
              Optional(kId));
  EXPECT_THAT(ContainerIdFromPath("/libpod_parent/libpod-" + S(kId)),
              Optional(kId));
}

TEST(ContainerIdFromPath, TakesIdFromContainerdAndCrioScopes) {
  EXPECT_THAT(
      ContainerIdFromPath("/system.slice/cri-containerd-" + S(kId) + ".scope"),
      Optional(kId));
  EXPECT_THAT(ContainerIdFromPath("/system.slice/crio-" + S(kId) + ".scope"),
              Optional(kId));
}

TEST(ContainerIdFromPath, RejectsConmonScopes) {
  EXPECT_EQ(
      ContainerIdFromPath("/system.slice/crio-conmon-" + S(kId) + ".scope"),
      std::nullopt);
  EXPECT_EQ(
      ContainerIdFromPath("/machine.slice/libpod-conmon-" + S(kId) + ".scope"),
      std::nullopt);
  EXPECT_EQ(ContainerIdFromPath(S(testing::kV2Pod) + "/crio-conmon-" + S(kId) +
                                ".scope"),
            std::nullopt);
}

TEST(ContainerIdFromPath, TakesBareIdBelowKubepodsCgroupfs) {
  EXPECT_THAT(ContainerIdFromPath("/kubepods/burstable/pod1234-abcd/" + S(kId)),
              Optional(kId));
  EXPECT_THAT(ContainerIdFromPath("/kubepods/pod1234-abcd/" + S(kId)),
              Optional(kId));
}

TEST(ContainerIdFromPath, TakesAnyRuntimeScopeBelowKubepodsSlice) {
  const std::string pod = S(testing::kV2Pod);
  EXPECT_THAT(ContainerIdFromPath(pod + "/cri-containerd-" + S(kId) + ".scope"),
              Optional(kId));
  EXPECT_THAT(ContainerIdFromPath(pod + "/crio-" + S(kId) + ".scope"),
              Optional(kId));
  EXPECT_THAT(ContainerIdFromPath(pod + "/docker-" + S(kId) + ".scope"),
              Optional(kId));
  EXPECT_THAT(ContainerIdFromPath(pod + "/cri-dockerd-" + S(kId) + ".scope"),
              Optional(kId));
  EXPECT_THAT(ContainerIdFromPath(pod + "/" + S(kId)), Optional(kId));
}

TEST(ContainerIdFromPath, RejectsPodLevelCgroups) {
  EXPECT_EQ(ContainerIdFromPath(testing::kV2Pod), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath(testing::kComountedPod), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/kubepods.slice"), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/kubepods/burstable"), std::nullopt);
}

TEST(ContainerIdFromPath, RejectsCgroupsThatAreNotContainers) {
  EXPECT_EQ(ContainerIdFromPath("/system.slice/ssh.service"), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/system.slice/docker.service"), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/docker"), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/docker/buildkit"), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/"), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath(""), std::nullopt);
  // A bare ID needs a docker parent or a kubepods ancestor.
  EXPECT_EQ(ContainerIdFromPath("/other/" + S(kId)), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/" + S(kId)), std::nullopt);
  // systemd drivers name scopes; a docker-<id> without .scope is not one.
  EXPECT_EQ(ContainerIdFromPath("/system.slice/docker-" + S(kId)),
            std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/system.slice/cri-containerd-" + S(kId)),
            std::nullopt);
  // Unknown runtimes outside kubepods are not guessed at.
  EXPECT_EQ(ContainerIdFromPath("/system.slice/foo-" + S(kId) + ".scope"),
            std::nullopt);
}

TEST(ContainerIdFromPath, RequiresExactlySixtyFourLowercaseHexDigits) {
  std::string upper = S(kId);
  upper[10] = 'A';
  EXPECT_EQ(ContainerIdFromPath("/docker/" + upper), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/docker/" + S(kId).substr(1)), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/docker/" + S(kId) + "0"), std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/system.slice/docker-" + S(kId) + "0.scope"),
            std::nullopt);
  EXPECT_EQ(ContainerIdFromPath("/system.slice/docker-" + S(kId).substr(1) +
                                ".scope"),
            std::nullopt);
  std::string not_hex = S(kId);
  not_hex[0] = 'g';
  EXPECT_EQ(ContainerIdFromPath("/docker/" + not_hex), std::nullopt);
}

TEST(ContainerIdFromPath, ReturnsViewIntoThePath) {
  const std::string path = "/system.slice/docker-" + S(kId) + ".scope";
  auto id = ContainerIdFromPath(path);
  ASSERT_TRUE(id.has_value());
  EXPECT_GE(id->data(), path.data());
  EXPECT_LE(id->data() + id->size(), path.data() + path.size());
}

// --- Discover on the fixture trees -----------------------------------------

TEST(Discover, FindsDockerCgroupfsContainersInV1) {
  EXPECT_THAT(
      DiscoverIn(Fixture("v1")),
      ElementsAre(C(testing::kV1Web, "/docker/" + S(testing::kV1Web)),
                  C(testing::kV1Db, "/docker/" + S(testing::kV1Db)),
                  C(testing::kV1Dying, "/docker/" + S(testing::kV1Dying))));
}

TEST(Discover, FindsDockerPodmanAndKubepodsContainersInComountedV1) {
  EXPECT_THAT(
      DiscoverIn(Fixture("v1-comounted")),
      ElementsAre(
          C(testing::kComountedNginx, "/docker/" + S(testing::kComountedNginx)),
          C(testing::kComountedPodman,
            "/libpod_parent/libpod-" + S(testing::kComountedPodman)),
          C(testing::kComountedK8s,
            S(testing::kComountedPod) + "/" + S(testing::kComountedK8s))));
}

TEST(Discover, FindsScopesOfEveryRuntimeInV2AndNothingElse) {
  const std::string pod = S(testing::kV2Pod);
  EXPECT_THAT(
      DiscoverIn(Fixture("v2")),
      ElementsAre(
          C(testing::kV2Api,
            "/system.slice/docker-" + S(testing::kV2Api) + ".scope"),
          C(testing::kV2Leaky,
            "/system.slice/docker-" + S(testing::kV2Leaky) + ".scope"),
          C(testing::kV2NoSwap,
            "/system.slice/docker-" + S(testing::kV2NoSwap) + ".scope"),
          C(testing::kV2K8sApp,
            pod + "/cri-containerd-" + S(testing::kV2K8sApp) + ".scope"),
          C(testing::kV2K8sPause,
            pod + "/cri-containerd-" + S(testing::kV2K8sPause) + ".scope"),
          C(testing::kV2Podman,
            "/machine.slice/libpod-" + S(testing::kV2Podman) + ".scope")));
}

TEST(Discover, WalksTheV1MemoryHierarchyOfAHybridLayout) {
  EXPECT_THAT(
      DiscoverIn(Fixture("hybrid")),
      ElementsAre(
          C(testing::kHybridWorker, "/docker/" + S(testing::kHybridWorker)),
          C(testing::kHybridCron, "/docker/" + S(testing::kHybridCron))));
}

// --- Discover on generated trees -------------------------------------------

TEST(Discover, DoesNotDescendBelowAContainer) {
  TempDir tmp;
  const fs::path memory = tmp.path() / "memory";
  WriteFile(memory / "memory.usage_in_bytes", "0\n");
  // docker-in-docker: the inner container's cgroup sits below the outer's.
  WriteFile(memory / "docker" / kId / "docker" / kOtherId / "cgroup.procs", "");
  EXPECT_THAT(DiscoverIn(tmp.path()), ElementsAre(C(kId, "/docker/" + S(kId))));
}

TEST(Discover, SortsByIdAndKeepsOneCgroupPerId) {
  TempDir tmp;
  const fs::path memory = tmp.path() / "memory";
  WriteFile(memory / "memory.usage_in_bytes", "0\n");
  WriteFile(memory / "system.slice" / ("docker-" + S(kOtherId) + ".scope") /
                "cgroup.procs",
            "");
  WriteFile(memory / "docker" / kOtherId / "cgroup.procs", "");
  WriteFile(memory / "system.slice" / ("docker-" + S(kId) + ".scope") /
                "cgroup.procs",
            "");
  EXPECT_THAT(DiscoverIn(tmp.path()),
              ElementsAre(C(kId, "/system.slice/docker-" + S(kId) + ".scope"),
                          C(kOtherId, "/docker/" + S(kOtherId))));
}

TEST(Discover, IgnoresFilesAndSymlinksNamedLikeContainers) {
  TempDir tmp;
  const fs::path memory = tmp.path() / "memory";
  WriteFile(memory / "memory.usage_in_bytes", "0\n");
  WriteFile(memory / "docker" / kId, "not a directory\n");
  WriteFile(memory / "elsewhere" / "cgroup.procs", "");
  fs::create_directory_symlink(memory / "elsewhere",
                               memory / "docker" / kOtherId);
  EXPECT_THAT(DiscoverIn(tmp.path()), ::testing::IsEmpty());
}

TEST(Discover, FailsWhenTheHierarchyRootIsGone) {
  TempDir tmp;
  WriteFile(tmp.path() / "memory" / "memory.usage_in_bytes", "0\n");
  auto layout = DetectLayout(tmp.path());
  ASSERT_TRUE(layout.has_value());
  fs::remove_all(tmp.path() / "memory");
  auto containers = Discover(*layout);
  ASSERT_FALSE(containers.has_value());
  EXPECT_EQ(containers.error().code, ErrorCode::kNotFound);
  EXPECT_NE(containers.error().message.find((tmp.path() / "memory").string()),
            std::string::npos);
}

// Directories created and removed while Discover walks: every walk must
// succeed and still find the container that stays.
TEST(Discover, SkipsDirectoriesThatVanishDuringTheWalk) {
  TempDir tmp;
  const fs::path memory = tmp.path() / "memory";
  WriteFile(memory / "memory.usage_in_bytes", "0\n");
  WriteFile(memory / "docker" / kId / "cgroup.procs", "");
  auto layout = DetectLayout(tmp.path());
  ASSERT_TRUE(layout.has_value());

  std::atomic<bool> stop = false;
  std::thread churn([&] {
    const fs::path base = memory / "churn";
    while (!stop) {
      for (int i = 0; i < 50; ++i) {
        std::error_code ec;
        fs::create_directories(base / std::to_string(i) / "a" / "b", ec);
      }
      std::error_code ec;
      fs::remove_all(base, ec);
    }
  });
  int failures = 0;
  for (int i = 0; i < 300; ++i) {
    auto containers = Discover(*layout);
    if (!containers || containers->size() != 1 || containers->front().id != kId)
      ++failures;
  }
  stop = true;
  churn.join();
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace leakwatch::cgroup
