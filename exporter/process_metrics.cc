#include "exporter/detail/process_metrics.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace leakwatch::exporter::detail {
namespace {

Result<std::string> Slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in)
    return MakeError(ErrorCode::kNotFound, "cannot open " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool ParseU64(std::string_view s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<ProcessStats> ReadProcessStats(const std::filesystem::path& procfs,
                                      const std::string& pid, long clock_ticks,
                                      long page_size) {
  const std::filesystem::path dir = procfs / pid;
  auto stat = Slurp(dir / "stat");
  if (!stat) return tl::unexpected(stat.error());
  // proc(5): "pid (comm) state ppid ..."; comm may hold spaces and
  // parentheses, so fields are counted from the last ')'.
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
  ProcessStats s;
  const double ticks = static_cast<double>(clock_ticks);
  s.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  s.virtual_bytes = vsize;
  s.resident_bytes = rss * static_cast<std::uint64_t>(page_size);

  auto proc_stat = Slurp(procfs / "stat");
  if (!proc_stat) return tl::unexpected(proc_stat.error());
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
  s.start_time_seconds =
      static_cast<double>(btime) + static_cast<double>(starttime) / ticks;

  std::error_code ec;
  std::uint64_t fds = 0;
  for (auto it = std::filesystem::directory_iterator(dir / "fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  if (!ec) s.open_fds = fds;

  if (auto limits = Slurp(dir / "limits")) {
    std::istringstream in(*limits);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Max open files", 0) != 0) continue;
      std::istringstream words(line.substr(14));
      std::string soft;
      words >> soft;
      std::uint64_t n = 0;
      if (ParseU64(soft, n)) s.max_fds = n;
    }
  }
  return s;
}

Result<std::uint64_t> ReadHostMemory(const std::filesystem::path& procfs) {
  const std::filesystem::path path = procfs / "meminfo";
  auto text = Slurp(path);
  if (!text) return tl::unexpected(text.error());
  // "MemTotal:       24684084 kB", the first line on every kernel.
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemTotal:", 0) != 0) continue;
    std::istringstream words(line.substr(9));
    std::string number, unit;
    words >> number >> unit;
    std::uint64_t kb = 0;
    if (!ParseU64(number, kb) || unit != "kB" || kb == 0) break;
    return kb * 1024;
  }
  return MakeError(ErrorCode::kParse, path.string() + ": no MemTotal in kB");
}

}  // namespace leakwatch::exporter::detail
