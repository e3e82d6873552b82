// A generic HTTP server for an exporter: a router from paths to handlers the
// caller registers (a handler is a plain function, so tests need no
// socket), and Beast's asynchronous server that feeds it, with limits,
// timeouts, gzip, TLS and basic auth (web/security.h). It knows nothing of
// what it serves.
//
// Beast and Asio stay in the .cc files; this header forward-declares the
// io_context that travels by reference.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
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

namespace leakwatch::web {

class Security;

struct Request {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // path and query, as sent
  std::string accept_encoding;
};

struct Response {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  // Extra headers (Allow, Content-Encoding, Vary, ...).
  std::vector<std::pair<std::string, std::string>> headers;
};

// A plain-text answer ("text/plain; charset=utf-8").
Response TextResponse(unsigned status, std::string body);

// "'sha256-<base64>'": a Content-Security-Policy hash source (CSP 3) that
// lets a page run the inline script or style whose text this is, and
// nothing else inline.
std::string CspHashSource(std::string_view text);

// Handlers run on the server's I/O thread while the caller's other threads
// run on, so they must be thread-safe. An exception becomes a 500 that
// names it.
using Handler = std::function<Response(const Request&)>;

// How the router serves one route.
struct RouteOptions {
  // Only GET and HEAD reach the handler; any other method gets 405 with
  // "Allow: GET, HEAD". Off: the handler answers every method itself.
  bool get_and_head_only = true;
  // A 200 answer of at least this many bytes is gzipped when the client
  // accepts it, and says "Vary: Accept-Encoding" either way; nullopt never
  // compresses. Under a kilobyte the gzip framing eats the gain.
  std::optional<std::size_t> gzip_min_bytes = 1024;
};

// Paths to handlers. Routing looks at the path alone (the query string is
// the handler's): an exact path first, then the longest registered prefix;
// anything else is 404. HEAD gets GET's headers, Content-Length included,
// and no body.
//
// Thread-safety: register on one thread before serving; Serve may then run
// on any thread.
class Router {
 public:
  // A later registration of the same path replaces the earlier one.
  void Handle(std::string path, Handler handler, RouteOptions options = {});
  // Every path that starts with prefix, unless an exact path matches.
  void HandlePrefix(std::string prefix, Handler handler,
                    RouteOptions options = {});

  Response Serve(const Request& request) const;

 private:
  struct Route {
    Handler handler;
    RouteOptions options;
  };
  const Route* Find(std::string_view path) const;
  static Response Answer(const Route& route, const Request& request);

  std::map<std::string, Route, std::less<>> exact_;
  std::map<std::string, Route, std::less<>> prefixes_;
};

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
class Server {
 public:
  Server(boost::asio::io_context& io, Router router, log::Logger& logger);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Returns the bound address as "host:port"
  // with the actual port (so a caller that asked for port 0 learns it).
  // kUnavailable with the address in the message when the bind fails.
  Result<std::string> Listen(std::string_view address);

  // Applies a web config (web/security.h): connections accepted from now
  // on use its TLS context, every request read from now on its basic auth
  // and headers. nullptr is plain HTTP without auth, the default. May be
  // called before or after Listen, from any thread.
  void Secure(std::shared_ptr<const Security> security);

  // Stops accepting; requests already being served finish.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leakwatch::web
