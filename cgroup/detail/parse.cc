#include "cgroup/detail/parse.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

namespace leakwatch::cgroup::detail {
namespace {

// Parses all of text as an unsigned decimal. from_chars accepts no sign, no
// spaces and no base prefix, which is what the kernel's "%llu" produces.
std::optional<std::uint64_t> ParseU64(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::string_view TrimTrailing(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  return text;
}

// Quotes at most 80 bytes of a line for an error message.
std::string Quote(std::string_view text) {
  constexpr std::size_t kMax = 80;
  std::string out = "'";
  out.append(text.substr(0, kMax));
  if (text.size() > kMax) out.append("...");
  out.append("'");
  return out;
}

// Splits off the next '\n'-terminated line (the last may lack the newline).
std::string_view NextLine(std::string_view& rest) {
  const std::size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  return line;
}

}  // namespace

Result<std::optional<std::uint64_t>> ParseSingleValue(std::string_view content,
                                                      std::string_view path,
                                                      bool allow_max) {
  const std::string_view text = TrimTrailing(content);
  if (allow_max && text == "max") return std::optional<std::uint64_t>();
  if (auto value = ParseU64(text)) return value;
  return MakeError(ErrorCode::kParse,
                   std::string(path) + ": not a number: " + Quote(text));
}

Result<void> ParseFlatKeyed(std::string_view content, std::string_view path,
                            std::span<const FlatKey> keys) {
  std::string_view rest = content;
  while (!rest.empty()) {
    const std::string_view line = NextLine(rest);
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    if (space == 0 || space == std::string_view::npos ||
        space + 1 == line.size()) {
      return MakeError(ErrorCode::kParse,
                       std::string(path) + ": malformed line " + Quote(line));
    }
    const std::string_view key = line.substr(0, space);
    for (const FlatKey& wanted : keys) {
      if (key != wanted.key) continue;
      const std::optional<std::uint64_t> value =
          ParseU64(line.substr(space + 1));
      if (!value) {
        return MakeError(ErrorCode::kParse,
                         std::string(path) + ": key " + std::string(key) +
                             ": bad value in line " + Quote(line));
      }
      *wanted.value = value;
      break;
    }
  }
  return {};
}

Result<Pressure> ParsePressure(std::string_view content,
                               std::string_view path) {
  constexpr std::string_view kTotal = " total=";
  std::optional<std::uint64_t> some;
  std::optional<std::uint64_t> full;
  std::string_view rest = content;
  while (!rest.empty()) {
    const std::string_view line = NextLine(rest);
    if (line.empty()) continue;
    std::optional<std::uint64_t>* target = nullptr;
    if (line.starts_with("some ")) {
      target = &some;
    } else if (line.starts_with("full ")) {
      target = &full;
    } else {
      return MakeError(ErrorCode::kParse,
                       std::string(path) + ": malformed line " + Quote(line));
    }
    const std::size_t at = line.find(kTotal);
    std::string_view total;
    if (at != std::string_view::npos) {
      total = line.substr(at + kTotal.size());
      total = total.substr(0, total.find(' '));
    }
    *target = ParseU64(total);
    if (!*target) {
      return MakeError(ErrorCode::kParse, std::string(path) +
                                              ": key total: bad value in "
                                              "line " +
                                              Quote(line));
    }
  }
  if (!some) {
    return MakeError(ErrorCode::kParse, std::string(path) +
                                            ": no \"some\" line in " +
                                            Quote(TrimTrailing(content)));
  }
  return Pressure{*some, full};
}

Result<std::vector<std::int32_t>> ParsePidList(std::string_view content,
                                               std::string_view path) {
  std::vector<std::int32_t> pids;
  std::string_view rest = content;
  while (!rest.empty()) {
    const std::string_view line = NextLine(rest);
    const auto value = ParseU64(line);
    if (!value || *value > static_cast<std::uint64_t>(
                               std::numeric_limits<std::int32_t>::max())) {
      return MakeError(ErrorCode::kParse,
                       std::string(path) + ": not a PID: " + Quote(line));
    }
    if (*value != 0) pids.push_back(static_cast<std::int32_t>(*value));
  }
  return pids;
}

}  // namespace leakwatch::cgroup::detail
