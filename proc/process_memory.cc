// ReadProcessMemory and InHostPidNamespace: what attribution by process
// reads of a container's processes.

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "proc/detail/text.h"
#include "proc/proc.h"

namespace leakwatch::proc {
namespace {

using detail::ParseU64;
using detail::Slurp;

// "RssAnon:	    1234 kB" -> bytes; false when not that shape.
bool ParseKb(std::string_view value, std::uint64_t& bytes) {
  const std::size_t start = value.find_first_not_of(" \t");
  if (start == std::string_view::npos) return false;
  value.remove_prefix(start);
  if (!value.ends_with(" kB")) return false;
  value.remove_suffix(3);
  std::uint64_t kb = 0;
  if (!ParseU64(value, kb) || kb > (UINT64_MAX >> 10)) return false;
  bytes = kb * 1024;
  return true;
}

}  // namespace

Result<ProcessMemory> ReadProcessMemory(const std::filesystem::path& procfs,
                                        std::int32_t pid) {
  const std::filesystem::path path = procfs / std::to_string(pid) / "status";
  auto text = Slurp(path);
  if (!text) return PassOn(text.error());
  ProcessMemory memory;
  bool has_anon = false;
  bool has_shmem = false;
  std::string_view rest = *text;
  for (int line_number = 1; !rest.empty(); ++line_number) {
    const std::size_t eol = rest.find('\n');
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = line.substr(colon + 1);
    auto bad = [&] {
      return MakeError(ErrorCode::kParse,
                       path.string() + ":" + std::to_string(line_number) +
                           ": malformed " + std::string(key) + " line");
    };
    if (key == "Name") {
      const std::size_t start = value.find_first_not_of('\t');
      memory.comm = std::string(
          start == std::string_view::npos ? "" : value.substr(start));
    } else if (key == "RssAnon") {
      if (!ParseKb(value, memory.anon_bytes)) return bad();
      has_anon = true;
    } else if (key == "RssShmem") {
      if (!ParseKb(value, memory.shmem_bytes)) return bad();
      has_shmem = true;
    }
  }
  if (!has_anon || !has_shmem) {
    return MakeError(ErrorCode::kNotFound,
                     path.string() + ": no RssAnon/RssShmem (a kernel thread)");
  }
  return memory;
}

Result<bool> InHostPidNamespace(const std::filesystem::path& procfs) {
  const std::filesystem::path link = procfs / "self" / "ns" / "pid";
  std::error_code ec;
  const std::filesystem::path target = std::filesystem::read_symlink(link, ec);
  if (ec) {
    return MakeError(ErrorCode::kNotFound, link.string() + ": " + ec.message());
  }
  // PROC_PID_INIT_INO in include/linux/proc_ns.h.
  return target.native() == "pid:[4026531836]";
}

}  // namespace leakwatch::proc
