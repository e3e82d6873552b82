// ReadProcessStats: a process's CPU, memory and descriptors, as
// client_golang's process collector reads them.

#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "proc/detail/text.h"
#include "proc/proc.h"

namespace leakwatch::proc {
namespace {

using detail::ParseU64;
using detail::Slurp;

// proc(5)'s <pid>/stat: CPU times, start time in ticks since boot,
// virtual and resident size. Leaves start_time_seconds to be completed
// with the boot time.
Result<std::uint64_t> ReadStat(const std::filesystem::path& dir,
                               long clock_ticks, long page_size,
                               ProcessStats& s) {
  auto stat = Slurp(dir / "stat");
  if (!stat) return PassOn(stat.error());
  // "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so
  // fields are counted from the last ')'.
  std::size_t close = stat->rfind(')');
  if (close == std::string::npos) {
    return MakeError(ErrorCode::kParse, (dir / "stat").string() + ": no ')'");
  }
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  std::string_view rest(stat->data() + close + 1, stat->size() - close - 1);
  while (!rest.empty()) {
    std::size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    std::size_t end = rest.find_first_of(" \n", start);
    if (end == std::string_view::npos) end = rest.size();
    fields.push_back(rest.substr(start, end - start));
    rest.remove_prefix(end);
  }
  auto field = [&](std::size_t n, std::uint64_t& out) {
    return n - 3 < fields.size() && ParseU64(fields[n - 3], out);
  };
  std::uint64_t utime = 0, stime = 0, starttime = 0, vsize = 0, rss = 0;
  if (!field(14, utime) || !field(15, stime) || !field(22, starttime) ||
      !field(23, vsize) || !field(24, rss)) {
    return MakeError(ErrorCode::kParse,
                     (dir / "stat").string() + ": unexpected format");
  }
  s.cpu_seconds =
      static_cast<double>(utime + stime) / static_cast<double>(clock_ticks);
  s.virtual_bytes = vsize;
  s.resident_bytes = rss * static_cast<std::uint64_t>(page_size);
  return starttime;
}

// The boot time (btime in <procfs>/stat), Unix seconds.
Result<std::uint64_t> ReadBootTime(const std::filesystem::path& procfs) {
  auto proc_stat = Slurp(procfs / "stat");
  if (!proc_stat) return PassOn(proc_stat.error());
  std::size_t at = proc_stat->find("\nbtime ");
  std::uint64_t btime = 0;
  if (at == std::string::npos) {
    return MakeError(ErrorCode::kParse,
                     (procfs / "stat").string() + ": no btime");
  }
  std::size_t value = at + 7;
  std::size_t eol = proc_stat->find('\n', value);
  if (!ParseU64(std::string_view(*proc_stat).substr(value, eol - value),
                btime)) {
    return MakeError(ErrorCode::kParse,
                     (procfs / "stat").string() + ": bad btime");
  }
  return btime;
}

std::optional<std::uint64_t> CountOpenFds(const std::filesystem::path& dir) {
  std::error_code ec;
  std::uint64_t fds = 0;
  for (auto it = std::filesystem::directory_iterator(dir / "fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  if (ec) return std::nullopt;
  return fds;
}

// The soft limit on open files, from <pid>/limits.
std::optional<std::uint64_t> ReadMaxFds(const std::filesystem::path& dir) {
  std::optional<std::uint64_t> max_fds;
  auto limits = Slurp(dir / "limits");
  if (!limits) return max_fds;
  std::istringstream in(*limits);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream words(line.substr(14));
    std::string soft;
    words >> soft;
    std::uint64_t n = 0;
    if (ParseU64(soft, n)) max_fds = n;
  }
  return max_fds;
}

}  // namespace

Result<ProcessStats> ReadProcessStats(const std::filesystem::path& procfs,
                                      const std::string& pid, long clock_ticks,
                                      long page_size) {
  const std::filesystem::path dir = procfs / pid;
  ProcessStats s;
  auto starttime = ReadStat(dir, clock_ticks, page_size, s);
  if (!starttime) return PassOn(starttime.error());
  auto btime = ReadBootTime(procfs);
  if (!btime) return PassOn(btime.error());
  s.start_time_seconds =
      static_cast<double>(*btime) +
      static_cast<double>(*starttime) / static_cast<double>(clock_ticks);
  s.open_fds = CountOpenFds(dir);
  s.max_fds = ReadMaxFds(dir);
  return s;
}

}  // namespace leakwatch::proc
