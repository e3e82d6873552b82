// Container discovery: which cgroups under the memory hierarchy are a
// container runtime's containers, and what their IDs are.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "cgroup/cgroup.h"

namespace leakwatch::cgroup {
namespace {

constexpr std::size_t kIdLength = 64;

bool IsContainerId(std::string_view text) {
  return text.size() == kIdLength &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The last component of a '/'-separated path, and the path before it.
std::pair<std::string_view, std::string_view> SplitLast(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

// kubelet puts every pod under a cgroup named kubepods (cgroupfs driver) or
// kubepods.slice, kubepods-burstable.slice, ... (systemd driver).
bool HasKubepodsAncestor(std::string_view parent) {
  while (!parent.empty()) {
    auto [up, name] = SplitLast(parent);
    if (name.starts_with("kubepods")) return true;
    parent = up;
  }
  return false;
}

// Errors that mean the directory went away under us: the cgroup was
// removed between listing its parent and opening it.
bool IsVanished(int err) {
  return err == ENOENT || err == ENOTDIR || err == ENODEV || err == ESRCH;
}

bool IsDirectory(DIR* dir, const dirent& entry) {
  if (entry.d_type == DT_DIR) return true;
  if (entry.d_type != DT_UNKNOWN) return false;
  // Some file systems (not cgroupfs) leave d_type unset.
  struct stat st;
  if (::fstatat(::dirfd(dir), entry.d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return false;
  }
  return S_ISDIR(st.st_mode);
}

}  // namespace

std::optional<std::string_view> ContainerIdFromPath(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const auto [parent, name] = SplitLast(path);

  // Docker's and kubelet's cgroupfs drivers: .../docker/<id>,
  // kubepods/<qos>/pod<uid>/<id>.
  if (IsContainerId(name)) {
    if (SplitLast(parent).second == "docker" || HasKubepodsAncestor(parent)) {
      return name;
    }
    return std::nullopt;
  }

  // <runtime>-<id>[.scope]: systemd drivers, and podman's cgroupfs
  // libpod_parent/libpod-<id>.
  std::string_view stem = name;
  const bool scope = stem.ends_with(".scope");
  if (scope) stem.remove_suffix(std::string_view(".scope").size());
  if (stem.size() < kIdLength + 2) return std::nullopt;
  const std::string_view id = stem.substr(stem.size() - kIdLength);
  if (!IsContainerId(id) || stem[stem.size() - kIdLength - 1] != '-') {
    return std::nullopt;
  }
  const std::string_view runtime = stem.substr(0, stem.size() - kIdLength - 1);
  if (runtime == "libpod") return id;
  if (!scope) return std::nullopt;
  if (runtime == "docker" || runtime == "cri-containerd" || runtime == "crio") {
    return id;
  }
  // Any other runtime's scope inside a pod, except the monitors that run
  // beside containers (crio-conmon-<id>.scope, libpod-conmon-<id>.scope)
  // and carry the container's ID.
  if (HasKubepodsAncestor(parent) && !runtime.ends_with("conmon")) return id;
  return std::nullopt;
}

Result<std::vector<Container>> Discover(const Layout& layout) {
  if (!layout.memory.found()) {
    return MakeError(ErrorCode::kNotFound,
                     layout.root.string() + ": no memory hierarchy to walk");
  }
  std::string base = layout.memory.dir.native();
  while (base.size() > 1 && base.back() == '/') base.pop_back();

  std::vector<Container> containers;
  // Depth-first over paths relative to the hierarchy root; "" is the root.
  std::vector<std::string> pending{std::string()};
  std::string dir_path;
  while (!pending.empty()) {
    const std::string relative = std::move(pending.back());
    pending.pop_back();
    dir_path.assign(base).append(relative);

    DIR* dir = ::opendir(dir_path.c_str());
    if (dir == nullptr) {
      const int err = errno;
      if (!relative.empty() && IsVanished(err)) continue;
      return MakeError(IsVanished(err) ? ErrorCode::kNotFound : ErrorCode::kIo,
                       dir_path + ": " + std::generic_category().message(err));
    }
    while (const dirent* entry = ::readdir(dir)) {
      const std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      if (!IsDirectory(dir, *entry)) continue;
      std::string child = relative + '/';
      child.append(name);
      if (auto id = ContainerIdFromPath(child)) {
        // A container's own sub-cgroups (docker-in-docker, systemd inside
        // the container) belong to it: do not descend. The ID is copied out
        // of child before child is moved.
        std::string id_copy(*id);
        containers.push_back(Container{std::move(id_copy), std::move(child)});
      } else {
        pending.push_back(std::move(child));
      }
    }
    // A readdir error (the directory being removed) ends the listing
    // early; the entries read so far stand.
    ::closedir(dir);
  }

  // Sort by id, then path, so the first of several cgroups naming the same
  // container (a runtime leaving a stale cgroup behind) is reproducible.
  std::sort(containers.begin(), containers.end(),
            [](const Container& a, const Container& b) {
              return std::tie(a.id, a.path) < std::tie(b.id, b.path);
            });
  containers.erase(std::unique(containers.begin(), containers.end(),
                               [](const Container& a, const Container& b) {
                                 return a.id == b.id;
                               }),
                   containers.end());
  return containers;
}

}  // namespace leakwatch::cgroup
