// Router: the socket-free half of the server, so every route can be tested
// without a network.

#include <exception>
#include <string>
#include <string_view>

#include "web/detail/gzip.h"
#include "web/web.h"

namespace leakwatch::web {
namespace {

constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";

// Compresses a 200 answer when the route wants it and the client takes
// gzip.
void CompressIfAccepted(const RouteOptions& options, const Request& request,
                        Response& response) {
  if (!options.gzip_min_bytes || response.status != 200) return;
  // The body depends on Accept-Encoding, so caches must key on it whichever
  // encoding this answer has.
  response.headers.emplace_back("Vary", "Accept-Encoding");
  if (response.body.size() < *options.gzip_min_bytes ||
      !detail::AcceptsGzip(request.accept_encoding)) {
    return;
  }
  response.body = detail::Gzip(response.body);
  response.headers.emplace_back("Content-Encoding", "gzip");
}

}  // namespace

Response TextResponse(unsigned status, std::string body) {
  Response response;
  response.status = status;
  response.content_type = kTextContentType;
  response.body = std::move(body);
  return response;
}

void Router::Handle(std::string path, Handler handler, RouteOptions options) {
  exact_.insert_or_assign(std::move(path), Route{std::move(handler), options});
}

void Router::HandlePrefix(std::string prefix, Handler handler,
                          RouteOptions options) {
  prefixes_.insert_or_assign(std::move(prefix),
                             Route{std::move(handler), options});
}

const Router::Route* Router::Find(std::string_view path) const {
  if (auto it = exact_.find(path); it != exact_.end()) return &it->second;
  const Route* found = nullptr;
  std::size_t longest = 0;
  for (const auto& [prefix, route] : prefixes_) {
    if (path.starts_with(prefix) &&
        (found == nullptr || prefix.size() > longest)) {
      found = &route;
      longest = prefix.size();
    }
  }
  return found;
}

Response Router::Answer(const Route& route, const Request& request) {
  if (route.options.get_and_head_only && request.method != "GET" &&
      request.method != "HEAD") {
    Response response = TextResponse(405, "405 method not allowed\n");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  Response response = route.handler(request);
  CompressIfAccepted(route.options, request, response);
  return response;
}

Response Router::Serve(const Request& request) const {
  // Routing looks at the path alone; the query string is the handler's.
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  Response response;
  try {
    const Route* route = Find(path);
    response = route == nullptr ? TextResponse(404, "404 page not found\n")
                                : Answer(*route, request);
  } catch (const std::exception& e) {
    // Gzip's or a handler's failure, or an allocation: an answer that says
    // so beats a dropped connection.
    response =
        TextResponse(500, std::string("internal error: ") + e.what() + "\n");
  } catch (...) {
    response = TextResponse(500, "internal error\n");
  }
  if (request.method == "HEAD") {
    // HEAD answers with GET's headers, Content-Length included (RFC 9110
    // section 9.3.2), and no body; the server keeps this Content-Length.
    response.headers.emplace_back("Content-Length",
                                  std::to_string(response.body.size()));
    response.body.clear();
  }
  return response;
}

}  // namespace leakwatch::web
