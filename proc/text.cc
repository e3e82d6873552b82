#include "proc/detail/text.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace leakwatch::proc::detail {

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

}  // namespace leakwatch::proc::detail
