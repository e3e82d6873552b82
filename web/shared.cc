// How the server writes sockets and their errors in log lines.

#include "web/detail/shared.h"

#include <cctype>

#include "log/log.h"

namespace leakwatch::web::detail {

std::string SystemMessage(const boost::beast::error_code& ec) {
  std::string message = ec.message();
  if (!message.empty()) {
    message.front() = static_cast<char>(
        std::tolower(static_cast<unsigned char>(message.front())));
  }
  return message;
}

void Fail(log::Logger& logger, const boost::beast::error_code& ec,
          const char* step, const std::string& remote) {
  logger.Debug(
      "HTTP connection error",
      {{"step", step}, {"remote", remote}, {"err", SystemMessage(ec)}});
}

std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint) {
  std::string host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace leakwatch::web::detail
