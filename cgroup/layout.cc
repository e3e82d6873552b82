// DetectLayout: which hierarchy under the cgroup root carries each
// controller, found by probing files rather than parsing
// /proc/self/mountinfo, so that a fixture tree is detected exactly like
// /sys/fs/cgroup.
#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cgroup/cgroup.h"

namespace leakwatch::cgroup {
namespace {

namespace fs = std::filesystem;

bool IsRegularFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// The controllers a v2 hierarchy offers (its cgroup.controllers), or
// std::nullopt when dir is not the root of a v2 hierarchy.
std::optional<std::set<std::string, std::less<>>> ReadControllers(
    const fs::path& dir) {
  std::ifstream in(dir / "cgroup.controllers");
  if (!in) return std::nullopt;
  std::set<std::string, std::less<>> controllers;
  std::string name;
  while (in >> name) controllers.insert(name);
  return controllers;
}

// The file only a v1 hierarchy carrying the controller has. cpu.stat needs
// CONFIG_CFS_BANDWIDTH on v1, cpu.shares only CONFIG_FAIR_GROUP_SCHED, so
// either confirms the cpu controller.
bool ProbeV1(std::string_view controller, const fs::path& dir) {
  if (controller == "memory") {
    return IsRegularFile(dir / "memory.usage_in_bytes");
  }
  if (controller == "cpuacct") return IsRegularFile(dir / "cpuacct.usage");
  if (controller == "cpu") {
    return IsRegularFile(dir / "cpu.stat") || IsRegularFile(dir / "cpu.shares");
  }
  return false;
}

// One v1 mount seen under the root: a directory named after the
// controllers it carries ("memory", "cpu,cpuacct"), or a symlink to one
// ("cpu" -> "cpu,cpuacct").
struct Candidate {
  fs::path dir;
  bool is_symlink = false;
};

std::vector<Candidate> ListMounts(const fs::path& root) {
  std::vector<Candidate> mounts;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code entry_ec;
    if (!it->is_directory(entry_ec)) continue;  // follows symlinks
    mounts.push_back({it->path(), it->is_symlink(entry_ec)});
  }
  // Directory order is arbitrary; sort so detection is reproducible.
  std::sort(
      mounts.begin(), mounts.end(),
      [](const Candidate& a, const Candidate& b) { return a.dir < b.dir; });
  return mounts;
}

bool NameHasController(std::string_view name, std::string_view controller) {
  while (true) {
    const std::size_t comma = name.find(',');
    if (name.substr(0, comma) == controller) return true;
    if (comma == std::string_view::npos) return false;
    name.remove_prefix(comma + 1);
  }
}

// The v1 hierarchy carrying controller. The mount point itself wins over a
// symlink to it, so "cpu,cpuacct" is reported rather than "cpu".
Hierarchy FindV1(const std::vector<Candidate>& mounts,
                 std::string_view controller) {
  const Candidate* best = nullptr;
  for (const Candidate& mount : mounts) {
    if (!NameHasController(mount.dir.filename().native(), controller)) {
      continue;
    }
    if (!ProbeV1(controller, mount.dir)) continue;
    if (best == nullptr || (best->is_symlink && !mount.is_symlink)) {
      best = &mount;
    }
  }
  if (best == nullptr) return {};
  return {best->dir, Version::kV1};
}

std::string DescribeHierarchy(const Hierarchy& hierarchy) {
  if (!hierarchy.found()) return "none";
  return std::string(hierarchy.version == Version::kV1 ? "v1:" : "v2:") +
         hierarchy.dir.string();
}

std::string JoinNames(const std::set<std::string, std::less<>>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out.empty() ? "none" : out;
}

}  // namespace

std::string Layout::Describe() const {
  std::string out;
  switch (kind) {
    case Kind::kV1:
      out = "v1";
      break;
    case Kind::kV2:
      out = "v2";
      break;
    case Kind::kHybrid:
      out = "hybrid";
      break;
  }
  out += " (memory=" + DescribeHierarchy(memory);
  out += " cpu=" + DescribeHierarchy(cpu);
  out += " cpuacct=" + DescribeHierarchy(cpuacct);
  out +=
      " unified=" + (unified.empty() ? std::string("none") : unified.string());
  out += ")";
  return out;
}

Result<Layout> DetectLayout(const std::filesystem::path& root) {
  Layout layout;
  layout.root = root;

  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return MakeError(ErrorCode::kNotFound,
                     root.string() + ": not a directory, no cgroup hierarchy");
  }

  // Pure v2: the root itself is a cgroup2 mount. cpu.stat (usage_usec) is a
  // core file there, present even where the cpu controller is not enabled,
  // so cpu and cpuacct both point at the root.
  if (auto controllers = ReadControllers(root)) {
    if (!controllers->contains("memory")) {
      return MakeError(ErrorCode::kNotFound,
                       root.string() +
                           ": cgroup v2 hierarchy without the memory "
                           "controller (cgroup.controllers: " +
                           JoinNames(*controllers) + ")");
    }
    layout.kind = Layout::Kind::kV2;
    layout.memory = {root, Version::kV2};
    layout.cpu = layout.memory;
    layout.cpuacct = layout.memory;
    layout.unified = root;
    return layout;
  }

  // v1 or hybrid: one directory per v1 mount, plus possibly a v2 hierarchy
  // at root/unified (systemd's hybrid mode).
  const std::vector<Candidate> mounts = ListMounts(root);
  layout.memory = FindV1(mounts, "memory");
  layout.cpu = FindV1(mounts, "cpu");
  layout.cpuacct = FindV1(mounts, "cpuacct");

  const fs::path unified = root / "unified";
  if (auto controllers = ReadControllers(unified)) {
    layout.unified = unified;
    // A controller not bound to any v1 mount may be enabled on the unified
    // hierarchy instead (hybrid hosts that moved memory to v2).
    if (!layout.memory.found() && controllers->contains("memory")) {
      layout.memory = {unified, Version::kV2};
    }
    if (!layout.cpu.found() && controllers->contains("cpu")) {
      layout.cpu = {unified, Version::kV2};
    }
  }
  // On v2, usage comes from cpu.stat like throttling does.
  if (!layout.cpuacct.found() && layout.cpu.found() &&
      layout.cpu.version == Version::kV2) {
    layout.cpuacct = layout.cpu;
  }

  if (!layout.memory.found()) {
    return MakeError(ErrorCode::kNotFound,
                     root.string() +
                         ": no memory controller (no v1 mount with "
                         "memory.usage_in_bytes, no v2 hierarchy offering "
                         "memory)");
  }
  layout.kind =
      layout.unified.empty() ? Layout::Kind::kV1 : Layout::Kind::kHybrid;
  return layout;
}

}  // namespace leakwatch::cgroup
