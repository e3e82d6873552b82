// Parsers for the cgroup files ContainerReader samples. Private to the
// module; declared here so tests can feed them malformed content directly.
//
// Every parser works in place on the bytes read into the caller's scratch
// buffer and allocates nothing unless it builds an Error. The path argument
// is used only for error messages.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace leakwatch::cgroup::detail {

// v1 writes "unlimited" as the page counter's maximum rounded down to a page
// (9223372036854771712 since 3.19; RESOURCE_MAX 9223372036854775807 before).
// No real limit comes near 2^62 bytes, so anything at or above it is
// unlimited.
inline constexpr std::uint64_t kV1UnlimitedThreshold = std::uint64_t{1} << 62;

// A single-value file: one unsigned decimal and a newline (v1
// memory.usage_in_bytes, memory.limit_in_bytes, cpuacct.usage; v2
// memory.current, memory.max, memory.swap.current). When allow_max is set,
// the word "max" (v2's "no limit") gives std::nullopt.
Result<std::optional<std::uint64_t>> ParseSingleValue(std::string_view content,
                                                      std::string_view path,
                                                      bool allow_max);

// One key wanted from a flat-keyed file.
struct FlatKey {
  std::string_view key;
  std::optional<std::uint64_t>* value;  // set when the key is found
};

// A flat-keyed file: "<key> <u64>\n" lines (memory.stat, memory.events,
// memory.oom_control, cpu.stat). Sets the value of every wanted key that is
// present and leaves the others untouched, so the caller decides which keys
// are required. Lines of keys that are not wanted are not checked beyond
// having a key and a value: the kernel adds keys between releases.
Result<void> ParseFlatKeyed(std::string_view content, std::string_view path,
                            std::span<const FlatKey> keys);

// memory.pressure (Documentation/accounting/psi.rst):
//   some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
// total is the stall time in microseconds. The "some" line is required;
// "full" is optional (cpu.pressure lacked it before 5.13).
struct Pressure {
  std::uint64_t some_total_us = 0;
  std::optional<std::uint64_t> full_total_us;
};
Result<Pressure> ParsePressure(std::string_view content, std::string_view path);

// cgroup.procs: one PID per line, in the reader's PID namespace. v2 prints
// 0 for a process outside that namespace; such lines are skipped, as v1
// leaves them out.
Result<std::vector<std::int32_t>> ParsePidList(std::string_view content,
                                               std::string_view path);

}  // namespace leakwatch::cgroup::detail
