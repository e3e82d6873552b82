// The HTTP side of the daemon: a request handler that is a plain function
// (tests call it without a socket) and a Beast server that feeds it.
//
// Beast and Asio stay in http_server.cc; this header forward-declares the
// io_context that travels by reference.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace boost::asio {
class io_context;
}

namespace leakwatch::log {
class Logger;
}

namespace leakwatch::exporter::detail {
class WebSecurity;
}

namespace leakwatch::exporter {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // path and query, as sent
  std::string accept_encoding;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  // Extra headers (Allow, Content-Encoding, Vary, ...).
  std::vector<std::pair<std::string, std::string>> headers;
};

// What the server serves. The callbacks run on the HTTP thread while the
// sampling loop runs on its own, so they must be thread-safe; they read an
// immutable snapshot, so a scrape never waits for a sampling pass.
struct Routes {
  std::string telemetry_path = "/metrics";
  std::function<std::string()> metrics;  // the text exposition
  std::function<bool()> healthy;         // /healthz: 200 "ok" or 503
  std::string landing_page;              // HTML served at "/"
  // The Content-Security-Policy header sent with the page; none if empty.
  std::string landing_page_policy;
  // The JSON API: answers every request whose path starts with "/api/",
  // status codes included (exporter/detail/api.h). Unset: 404.
  std::function<HttpResponse(const HttpRequest&)> api;
};

// Routes one request: the telemetry path, /healthz, / and /api/...; 404 for
// any other path; 405 with Allow for a method other than GET or HEAD on a
// known path. The exposition, the page and the API are gzipped when the
// client accepts it. HEAD gets GET's headers and no body.
HttpResponse HandleRequest(const HttpRequest& request, const Routes& routes);

// Splits a listen address as exporters take it: ":9702" (every
// interface), "127.0.0.1:0", "[::1]:9702", "localhost:9702".
struct ListenAddress {
  std::string host;  // empty means every interface
  unsigned short port = 0;
};
Result<ListenAddress> ParseListenAddress(std::string_view text);

// Beast's asynchronous server: a listener accepting on a strand, one
// session object per connection with read/write timeouts and a request
// size limit.
//
// Thread-safety: construct, Listen and Stop on one thread; the server then
// runs on the io_context's thread(s).
class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, Routes routes, log::Logger& logger);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Returns the bound address as "host:port"
  // with the actual port (so a caller that asked for port 0 learns it).
  // kUnavailable with the address in the message when the bind fails.
  Result<std::string> Listen(std::string_view address);

  // Applies a web config (exporter/detail/web_config.h): connections
  // accepted from now on use its TLS context, every request read from now
  // on its basic auth and headers. nullptr is plain HTTP without auth, the
  // default. May be called before or after Listen, from any thread.
  void Secure(std::shared_ptr<const detail::WebSecurity> security);

  // Stops accepting; requests already being served finish.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leakwatch::exporter
