// The messages a session sends, apart from the template that cycles reads
// and writes: the router's answer as Beast's message, 401, and the answer
// to a request that cannot be parsed.

#include "web/detail/session.h"

#include <boost/beast/core/string.hpp>

namespace leakwatch::web::detail {

std::optional<unsigned> RejectStatus(const beast::error_code& ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return 431;  // Request Header Fields Too Large
  }
  if (ec == http::error::body_limit) return 413;  // Content Too Large
  if (ec.category() == beast::error_code(http::error::bad_method).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return 400;
  }
  return std::nullopt;
}

std::string HeaderValues(const http::request<http::string_body>& request,
                         http::field field) {
  std::string out;
  for (auto it = request.find(field);
       it != request.end() && it->name() == field; ++it) {
    if (!out.empty()) out += ", ";
    out += std::string(it->value());
  }
  return out;
}

Response Unauthorized(const std::string& method) {
  Response out = TextResponse(401, "Unauthorized\n");
  out.headers.emplace_back("WWW-Authenticate", "Basic");
  if (method == "HEAD") {
    out.headers.emplace_back("Content-Length", std::to_string(out.body.size()));
    out.body.clear();
  }
  return out;
}

http::response<http::string_body> ToMessage(Response out, unsigned version,
                                            bool keep_alive) {
  http::response<http::string_body> response;
  response.version(version);
  response.result(out.status);
  response.set(http::field::server, "leakwatch");
  if (!out.content_type.empty()) {
    response.set(http::field::content_type, out.content_type);
  }
  // The router sets Content-Length itself only for HEAD, where it is the
  // length of the body a GET would get; keep that one.
  bool has_length = false;
  for (const auto& [name, value] : out.headers) {
    has_length = has_length || beast::iequals(name, "content-length");
    response.insert(name, value);
  }
  response.body() = std::move(out.body);
  if (!has_length) response.content_length(response.body().size());
  response.keep_alive(keep_alive);
  return response;
}

http::response<http::string_body> Reject(unsigned status,
                                         const beast::error_code& ec) {
  http::response<http::string_body> response;
  response.version(11);
  response.result(status);
  response.set(http::field::server, "leakwatch");
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.body() = std::to_string(status) + " " +
                    std::string(response.reason()) + ": " + SystemMessage(ec) +
                    "\n";
  response.content_length(response.body().size());
  // What follows in the stream cannot be parsed: close after answering.
  response.keep_alive(false);
  return response;
}

}  // namespace leakwatch::web::detail
