// What leakwatch reads of procfs, always through a root (--path.procfs,
// /proc by default, a fixture tree in tests): a process's own statistics,
// for the process_* series as client_golang's process collector reads
// them, and the host's memory. Parsers name the file they read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "common/result.h"

namespace leakwatch::proc {

struct ProcessStats {
  double cpu_seconds = 0;         // utime + stime
  double start_time_seconds = 0;  // Unix time
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::optional<std::uint64_t> open_fds;
  std::optional<std::uint64_t> max_fds;
};

// Reads <procfs>/<pid>/stat, <procfs>/stat (btime), <procfs>/<pid>/fd and
// <procfs>/<pid>/limits. clock_ticks and page_size come from sysconf in
// the daemon and are fixed in tests.
Result<ProcessStats> ReadProcessStats(const std::filesystem::path& procfs,
                                      const std::string& pid, long clock_ticks,
                                      long page_size);

// The host's memory, MemTotal in <procfs>/meminfo (proc(5), in kB), in
// bytes: the limit a container without a cgroup limit runs into.
Result<std::uint64_t> ReadHostMemory(const std::filesystem::path& procfs);

}  // namespace leakwatch::proc
