// Helpers shared by the cgroup tests: fixture paths and scratch trees.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace leakwatch::cgroup::testing {

// Container IDs of the fixture trees. The first two hex digits say which
// tree: 1x v1, 2x v2, 3x hybrid, 4x v1-comounted.
inline constexpr std::string_view kV1Web =
    "1a471c93d43bcde4c3f002d8a457bf69e9a077db1b17729de0d07618fc9dd803";
inline constexpr std::string_view kV1Db =
    "1bacefc6c88f1d6319f5af161f64586be4749310d28f70ddf5796b6bd09b869c";
inline constexpr std::string_view kV1Dying =
    "1c20c83bffde266dcb17d91bb60b82c165f5cc2d75cab538c2b0046347b281da";
inline constexpr std::string_view kV2Api =
    "2a4cc844a13ab9776f8f85ef994c37cf91f0b97acdf7cd35274d2018c975e594";
inline constexpr std::string_view kV2Leaky =
    "2b85282e3626e558c42abf64936bfdebc4bf3af9977a89e2badda44cee654657";
inline constexpr std::string_view kV2NoSwap =
    "2c4fbbaecc8a0cfb9a6cca56d4e944f938a804afa178d79358b6eb5a619dd093";
inline constexpr std::string_view kV2K8sApp =
    "2d02dedcaadb6a8191d5a63142c664fbb3f0ccb4e9df0fe7f71601c7787a9162";
inline constexpr std::string_view kV2K8sPause =
    "2e2ab7c868d5a91a66cfc1ace432594a5b86a2cd2c54a3d70c2615e9bcabf716";
inline constexpr std::string_view kV2Podman =
    "2f8f5e381d633e8b1db9f20d16bd629ef715786fbd63cecb72b86758e7c1bf59";
inline constexpr std::string_view kHybridWorker =
    "3a80d96f53e9703b0dd6fc6a061700bd144260e348c33b16048eeb43cfc98a0d";
inline constexpr std::string_view kHybridCron =
    "3bd6f2ec1951e66f5680fcbce1cf7aaf3c93148c9115a6587ada4566db31a262";
inline constexpr std::string_view kComountedNginx =
    "4ad1cbfe4604f2ff77dee7ba61c1b91c04dca9eaa8a90d93232a85055f789a16";
inline constexpr std::string_view kComountedPodman =
    "4b19f9a3e1df56dcf02cf70f7bec9e2f59c0ff8d527dd435f8fef4c27250e76d";
inline constexpr std::string_view kComountedK8s =
    "4c6ca87a1c275b35fd36f11e7fcd8ccc0751c63f4b3bb256792c847d15a0ecc9";

// The v2 fixture's pod cgroup, parent of the two cri-containerd scopes.
inline constexpr std::string_view kV2Pod =
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod6b0f3c2e_1f5a_4a8e_9d3c_2b7e8f1a0c44.slice";
// The v1-comounted fixture's pod cgroup (cgroupfs driver).
inline constexpr std::string_view kComountedPod =
    "/kubepods/burstable/pod0d7e2c4a-5b1f-4c3e-9a8d-6f2b1e0c9d57";

// How many times operator new has been called in this process (counted by
// alloc_counter.cc, which replaces the global operator new).
long AllocationCount();

inline std::filesystem::path Fixture(std::string_view tree) {
  return std::filesystem::path(LEAKWATCH_FIXTURES_DIR) / "cgroup" / tree;
}

// A directory under the system temp dir, removed with its content when the
// object goes away.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "leakwatch-cgroup-XXXXXX")
            .string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
    }
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Writes content to path, creating the parent directories.
inline void WriteFile(const std::filesystem::path& path,
                      std::string_view content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

// Copies a fixture tree (symlinks as symlinks) to dest/<tree> and returns
// that path.
inline std::filesystem::path CopyFixture(std::string_view tree,
                                         const std::filesystem::path& dest) {
  const std::filesystem::path to = dest / tree;
  std::filesystem::copy(Fixture(tree), to,
                        std::filesystem::copy_options::recursive |
                            std::filesystem::copy_options::copy_symlinks);
  return to;
}

}  // namespace leakwatch::cgroup::testing
