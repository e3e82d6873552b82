// ParseListenAddress: the address forms exporters take, checked before
// anything is bound, so a typo is named in the operator's words.

#include <charconv>
#include <string>
#include <string_view>
#include <system_error>

#include "web/web.h"

namespace leakwatch::web {

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  auto invalid = [text](std::string_view why) {
    return MakeError(ErrorCode::kInvalid, "invalid listen address \"" +
                                              std::string(text) +
                                              "\": " + std::string(why));
  };
  std::string_view host;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return invalid("missing ']'");
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (rest.empty()) return invalid("missing port");
    if (rest.front() != ':') return invalid("unexpected text after ']'");
    rest.remove_prefix(1);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return invalid("missing port");
    host = text.substr(0, colon);
    rest = text.substr(colon + 1);
    // An IPv6 address needs brackets to be told apart from its port.
    if (host.find(':') != std::string_view::npos) {
      return invalid("too many colons (write an IPv6 address as [addr]:port)");
    }
  }
  if (host.find_first_of("[]") != std::string_view::npos) {
    return invalid("unexpected '[' or ']'");
  }
  if (rest.empty()) return invalid("missing port");
  unsigned value = 0;
  const char* end = rest.data() + rest.size();
  auto [ptr, ec] = std::from_chars(rest.data(), end, value);
  // from_chars takes no sign or spaces but accepts a numeric prefix; the
  // whole port must be digits.
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && ptr == end && value > 65535)) {
    return invalid("port out of range (0-65535)");
  }
  if (ec != std::errc() || ptr != end) return invalid("port is not a number");
  return ListenAddress{std::string(host), static_cast<unsigned short>(value)};
}

}  // namespace leakwatch::web
