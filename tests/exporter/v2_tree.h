// A cgroup v2 tree that a test writes and rewrites: containers under
// system.slice/docker-<id>.scope whose memory files it sets before each
// sampling pass. Removed with the object.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace leakwatch::exporter::test_support {

class V2Tree {
 public:
  // prefix names the tree in the temp directory, with the pid and the
  // current test's name, so parallel tests never share one.
  explicit V2Tree(const std::string& prefix) {
    root_ = std::filesystem::temp_directory_path() /
            (prefix + "-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "system.slice");
    Write(root_ / "cgroup.controllers", "cpu io memory pids\n");
  }
  ~V2Tree() { std::filesystem::remove_all(root_); }
  V2Tree(const V2Tree&) = delete;
  V2Tree& operator=(const V2Tree&) = delete;

  const std::filesystem::path& root() const { return root_; }

  static std::string Id(char fill) { return std::string(64, fill); }

  // Container <fill x 64>: memory.current, anon and file of memory.stat
  // (no inactive file pages, so the working set is current), and
  // memory.max ("max": no limit).
  void Set(char fill, std::uint64_t current, std::uint64_t anon,
           std::uint64_t file, const std::string& max = "max") {
    const std::filesystem::path dir =
        root_ / "system.slice" / ("docker-" + Id(fill) + ".scope");
    std::filesystem::create_directories(dir);
    Write(dir / "memory.current", std::to_string(current) + "\n");
    Write(dir / "memory.max", max + "\n");
    Write(dir / "memory.stat", "anon " + std::to_string(anon) + "\nfile " +
                                   std::to_string(file) +
                                   "\ninactive_file 0\n");
    Write(dir / "memory.events", "oom_kill 0\n");
    Write(dir / "cpu.stat", "usage_usec 1\nthrottled_usec 0\n");
  }

 private:
  static void Write(const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p) << text;
  }
  std::filesystem::path root_;
};

}  // namespace leakwatch::exporter::test_support
