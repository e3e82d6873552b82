// ReadProcesses: the PIDs in a container's cgroup, for attribution by
// process.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "cgroup/cgroup.h"
#include "cgroup/detail/parse.h"

namespace leakwatch::cgroup {
namespace {

// The whole of a file that may be larger than any fixed buffer (a
// container with thousands of processes).
Result<std::string> ReadWhole(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const ErrorCode code = err == ENOENT || err == ENODEV || err == ENOTDIR
                               ? ErrorCode::kNotFound
                               : ErrorCode::kIo;
    return MakeError(code, path + ": " + std::generic_category().message(err));
  }
  std::string content;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      const ErrorCode code =
          err == ENODEV ? ErrorCode::kNotFound : ErrorCode::kIo;
      return MakeError(code,
                       path + ": " + std::generic_category().message(err));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

}  // namespace

Result<std::vector<std::int32_t>> ReadProcesses(const Layout& layout,
                                                const Container& container) {
  std::string path = layout.memory.dir.native();
  path.append(container.path).append("/cgroup.procs");
  auto content = ReadWhole(path);
  if (!content) return PassOn(std::move(content.error()));
  return detail::ParsePidList(*content, path);
}

}  // namespace leakwatch::cgroup
