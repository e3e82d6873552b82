#include <charconv>

#include "docker-api/docker.h"

namespace leakwatch::docker {
namespace {

constexpr std::uint16_t kDefaultTcpPort = 2375;  // the docker CLI's

Unexpected Invalid(std::string_view host, std::string_view why) {
  return MakeError(ErrorCode::kInvalid, "docker host \"" + std::string(host) +
                                            "\": " + std::string(why));
}

}  // namespace

std::string Endpoint::Describe() const {
  if (kind == Kind::kUnix) return "unix://" + path;
  if (host.find(':') != std::string::npos) {
    return "tcp://[" + host + "]:" + std::to_string(port);
  }
  return "tcp://" + host + ":" + std::to_string(port);
}

Result<Endpoint> ParseHost(std::string_view host) {
  Endpoint e;
  const std::size_t scheme_end = host.find("://");
  if (scheme_end == std::string_view::npos) {
    return Invalid(host, "want unix:///path or tcp://host:port");
  }
  const std::string_view scheme = host.substr(0, scheme_end);
  std::string_view rest = host.substr(scheme_end + 3);
  if (scheme == "unix") {
    if (rest.empty()) return Invalid(host, "no socket path");
    e.kind = Endpoint::Kind::kUnix;
    e.path = std::string(rest);
    return e;
  }
  if (scheme != "tcp" && scheme != "http") {
    // TODO(leakwatch): TLS (https://, DOCKER_TLS_VERIFY) and ssh:// are
    // not spoken yet; see docs/architecture.md.
    return Invalid(host, "scheme \"" + std::string(scheme) +
                             "\" is not supported (unix://, tcp://)");
  }
  e.kind = Endpoint::Kind::kTcp;
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    return Invalid(host, "a path after host:port is not supported");
  }
  std::string_view name = rest;
  std::string_view port;
  if (rest.starts_with('[')) {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return Invalid(host, "unclosed '['");
    name = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Invalid(host, "junk after ']'");
      port = after.substr(1);
    }
  } else if (const std::size_t colon = rest.rfind(':');
             colon != std::string_view::npos) {
    name = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  // The docker CLI reads an empty host as localhost.
  e.host = name.empty() ? "127.0.0.1" : std::string(name);
  e.port = kDefaultTcpPort;
  if (!port.empty()) {
    unsigned value = 0;
    auto [ptr, ec] =
        std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return Invalid(host, "bad port \"" + std::string(port) + "\"");
    }
    e.port = static_cast<std::uint16_t>(value);
  }
  return e;
}

}  // namespace leakwatch::docker
