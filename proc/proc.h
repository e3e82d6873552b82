// What leakwatch reads of procfs, always through a root (--path.procfs,
// /proc by default, a fixture tree in tests): a process's own statistics,
// for the process_* series as client_golang's process collector reads
// them, and the host's memory. Parsers name the file they read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

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

// A process's own resident memory, as <procfs>/<pid>/status shows it
// (proc(5); the Rss* lines are in kB).
struct ProcessMemory {
  std::string comm;  // Name: the command name, as the kernel escapes it
  std::uint64_t anon_bytes = 0;   // RssAnon
  std::uint64_t shmem_bytes = 0;  // RssShmem: shmem and tmpfs pages mapped
};

// Reads <procfs>/<pid>/status. kNotFound when the process is gone (it may
// exit between cgroup.procs and here), and for a kernel thread, which has
// no memory of its own (no RssAnon line). kParse naming the file and the
// line when a line leakwatch reads is malformed.
Result<ProcessMemory> ReadProcessMemory(const std::filesystem::path& procfs,
                                        std::int32_t pid);

// Whether processes read through procfs are the host's: the reader runs
// in the initial PID namespace (<procfs>/self/ns/pid names inode
// 0xEFFFFFFC, the kernel's PROC_PID_INIT_INO), so the PIDs in every
// container's cgroup.procs are there to read. An error names the link
// when it cannot be read.
Result<bool> InHostPidNamespace(const std::filesystem::path& procfs);

// The host's memory, MemTotal in <procfs>/meminfo (proc(5), in kB), in
// bytes: the limit a container without a cgroup limit runs into.
Result<std::uint64_t> ReadHostMemory(const std::filesystem::path& procfs);

}  // namespace leakwatch::proc
