// ReadHostMemory: MemTotal from meminfo.

#include <sstream>
#include <string>

#include "proc/detail/text.h"
#include "proc/proc.h"

namespace leakwatch::proc {

using detail::ParseU64;
using detail::Slurp;

Result<std::uint64_t> ReadHostMemory(const std::filesystem::path& procfs) {
  const std::filesystem::path path = procfs / "meminfo";
  auto text = Slurp(path);
  if (!text) return PassOn(text.error());
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

}  // namespace leakwatch::proc
