// HttpServer: Beast's asynchronous server (example/advanced/server and,
// for TLS, advanced_server_flex). A listener accepts on a strand and starts
// one Session per connection, plain or TLS as the web config says; the
// session cycles DoRead/OnRead, DoWrite/OnWrite and DoClose and hands each
// request to HandleRequest once basic auth (if configured) lets it through.

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/detail/web_config.h"
#include "exporter/http.h"
#include "log/log.h"

namespace leakwatch::exporter {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using detail::WebSecurity;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Go's net/http answer to plain HTTP on a TLS port, word for word.
constexpr std::string_view kPlainOnTls =
    "HTTP/1.0 400 Bad Request\r\n\r\n"
    "Client sent an HTTP request to an HTTPS server.\n";

// How long a client may take to send a request or to take a response. A
// scraper sends its request at once; a connection idle for this long
// (keep-alive between scrapes included) is closed.
constexpr std::chrono::seconds kTimeout{30};
// We serve GETs only, so a request is a request line and a few headers:
// this caps the header, the body and what one connection may buffer.
constexpr std::size_t kRequestLimit = 8 * 1024;
// Backoff after a failed accept (EMFILE and the like): net/http's figures.
constexpr std::chrono::milliseconds kMinAcceptBackoff{5};
constexpr std::chrono::milliseconds kMaxAcceptBackoff{1000};

// What the listener and every session share. Held by shared_ptr so that a
// session still serving after the HttpServer is gone keeps it alive.
struct Shared {
  Shared(Routes r, log::Logger& l) : routes(std::move(r)), logger(l) {}
  const Routes routes;
  log::Logger& logger;
  // Set by Stop: responses then close their connection.
  std::atomic<bool> stopping{false};

  // The web config in force: a connection takes its TLS context when it
  // is accepted, a request its auth and headers when it is read, so a
  // reload reaches keep-alive connections at their next request.
  std::shared_ptr<const WebSecurity> Security() const {
    std::lock_guard lock(security_mu);
    return security;
  }
  std::shared_ptr<net::thread_pool> Checks() const {
    std::lock_guard lock(security_mu);
    return checks.lock();
  }
  mutable std::mutex security_mu;
  std::shared_ptr<const WebSecurity> security = WebSecurity::None();
  // Where bcrypt runs, off the I/O thread (owned by HttpServer::Impl; a
  // session that outlives the server finds it gone and denies).
  std::weak_ptr<net::thread_pool> checks;
};

// Strerror's text with a lower-case initial, as Go prints system errors
// ("bind: address already in use"), which is what operators grep for.
std::string SystemMessage(const beast::error_code& ec) {
  std::string message = ec.message();
  if (!message.empty()) {
    message.front() = static_cast<char>(
        std::tolower(static_cast<unsigned char>(message.front())));
  }
  return message;
}

// A connection-level failure: the client went away, timed out or sent
// garbage. Normal traffic for a server, so debug.
void Fail(log::Logger& logger, const beast::error_code& ec, const char* step,
          const std::string& remote) {
  logger.Debug(
      "HTTP connection error",
      {{"step", step}, {"remote", remote}, {"err", SystemMessage(ec)}});
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  std::string host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

// The status that answers a request Beast refused to parse, or nullopt when
// the connection is simply gone (closed, reset, timed out).
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

bool IsContentLength(std::string_view name) {
  constexpr std::string_view kName = "content-length";
  return std::equal(name.begin(), name.end(), kName.begin(), kName.end(),
                    [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a)) == b;
                    });
}

std::string HeaderValues(const http::request<http::string_body>& request,
                         http::field field) {
  // A repeated header is one comma-separated list (RFC 9110 5.3).
  std::string out;
  for (auto it = request.find(field);
       it != request.end() && it->name() == field; ++it) {
    if (!out.empty()) out += ", ";
    out += std::string(it->value());
  }
  return out;
}

// One connection: reads a request, answers it, and reads the next while
// the client keeps the connection alive. Stream is PlainStream, or
// TlsStream, which first does the TLS handshake and ends with a TLS
// shutdown.
//
// Thread-safety: every handler runs on the connection's own strand.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared,
          const std::shared_ptr<const WebSecurity>& security)
      : remote_(RemoteOf(socket)),
        tls_(kTls ? security : nullptr),
        stream_(MakeStream(std::move(socket), *security)),
        shared_(std::move(shared)) {}

  void Run() {
    // The socket's executor is this connection's strand (see
    // Listener::DoAccept); start there so no handler of this session ever
    // runs concurrently with another, whatever the number of threads.
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::Start, Self()));
  }

 private:
  std::shared_ptr<Session> Self() { return this->shared_from_this(); }

  static Stream MakeStream(tcp::socket&& socket, const WebSecurity& security) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *security.tls());
    } else {
      return Stream(std::move(socket));
    }
  }

  void Start() {
    if constexpr (kTls) {
      // Look at the first bytes before the handshake: a plain-HTTP client
      // (a scrape config still saying http://) gets a readable 400, as Go's
      // net/http and so every exporter-toolkit exporter answers, instead
      // of a connection closed without a word.
      beast::get_lowest_layer(stream_).expires_after(kTimeout);
      beast::async_detect_ssl(
          beast::get_lowest_layer(stream_), buffer_,
          beast::bind_front_handler(&Session::OnDetect, Self()));
    } else {
      DoRead();
    }
  }

  void OnDetect(beast::error_code ec, bool tls) {
    if constexpr (kTls) {
      if (ec) return Fail(shared_->logger, ec, "detect", remote_);
      if (!tls) {
        shared_->logger.Debug("Plain HTTP on the TLS port",
                              {{"remote", remote_}});
        net::async_write(beast::get_lowest_layer(stream_),
                         net::buffer(kPlainOnTls),
                         [self = Self()](beast::error_code, std::size_t) {
                           beast::error_code ignored;
                           beast::get_lowest_layer(self->stream_)
                               .socket()
                               .shutdown(tcp::socket::shutdown_both, ignored);
                         });
        return;
      }
      // The bytes detect_ssl read are the start of the handshake.
      stream_.async_handshake(
          net::ssl::stream_base::server, buffer_.data(),
          beast::bind_front_handler(&Session::OnHandshake, Self()));
    }
  }

  void OnHandshake(beast::error_code ec, std::size_t used) {
    // A client that does not speak our TLS (a TLS version below
    // min_version, a missing client certificate).
    if (ec) return Fail(shared_->logger, ec, "handshake", remote_);
    buffer_.consume(used);
    DoRead();
  }

  void DoRead() {
    // A parser reads one message; a fresh one per request also resets the
    // limits, which count per message.
    parser_.emplace();
    parser_->header_limit(kRequestLimit);
    parser_->body_limit(kRequestLimit);
    beast::get_lowest_layer(stream_).expires_after(kTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, Self()));
  }

  void OnRead(beast::error_code ec, std::size_t /*bytes_transferred*/) {
    // The client closed the connection between requests.
    if (ec == http::error::end_of_stream) return DoClose();
    if (ec) {
      Fail(shared_->logger, ec, "read", remote_);
      // A request too large or malformed gets an answer saying so before
      // the connection closes; a broken connection gets nothing.
      if (std::optional<unsigned> status = RejectStatus(ec)) {
        return DoWrite(Reject(*status, ec));
      }
      return;
    }
    request_ = parser_->release();
    std::shared_ptr<const WebSecurity> security = shared_->Security();
    std::string authorization =
        HeaderValues(request_, http::field::authorization);
    switch (security->auth().Quick(authorization)) {
      case detail::BasicAuth::Verdict::kAllowed:
        return Answer(security, true);
      case detail::BasicAuth::Verdict::kDenied:
        return Answer(security, false);
      case detail::BasicAuth::Verdict::kNeedsCheck:
        break;
    }
    // bcrypt takes tens of milliseconds: on the checks thread, so that
    // other connections are served meanwhile (and guesses queue up there,
    // one at a time, as exporter-toolkit serializes them).
    std::shared_ptr<net::thread_pool> checks = shared_->Checks();
    if (!checks) return Answer(security, false);
    net::post(*checks,
              [self = Self(), security, executor = stream_.get_executor(),
               authorization = std::move(authorization)]() mutable {
                const bool ok = security->auth().Check(authorization);
                net::post(executor, [self = std::move(self), security, ok] {
                  self->Answer(security, ok);
                });
              });
  }

  // Answers the request read last, once auth has decided.
  void Answer(const std::shared_ptr<const WebSecurity>& security,
              bool allowed) {
    try {
      DoWrite(Respond(request_, *security, allowed));
    } catch (const std::exception& e) {
      // Only an allocation failure can get here; dropping this connection
      // is the most we can do, and the exception must not reach Asio.
      shared_->logger.Error("HTTP response failed", {{"err", e.what()}});
    }
  }

  http::response<http::string_body> Respond(
      const http::request<http::string_body>& request,
      const WebSecurity& security, bool allowed) {
    HttpRequest in;
    in.method = std::string(request.method_string());
    in.target = std::string(request.target());
    in.accept_encoding = HeaderValues(request, http::field::accept_encoding);
    HttpResponse out;
    if (allowed) {
      out = HandleRequest(in, shared_->routes);
    } else {
      // Missing or wrong credentials alike, as exporter-toolkit answers.
      out.status = 401;
      out.content_type = "text/plain; charset=utf-8";
      out.body = "Unauthorized\n";
      out.headers.emplace_back("WWW-Authenticate", "Basic");
      if (in.method == "HEAD") {
        // As HandleRequest does for HEAD: the length, not the body.
        out.headers.emplace_back("Content-Length",
                                 std::to_string(out.body.size()));
        out.body.clear();
      }
    }
    for (const auto& header : security.headers()) out.headers.push_back(header);
    if (out.status == 500) {
      std::string_view why = out.body;
      while (!why.empty() && why.back() == '\n') why.remove_suffix(1);
      shared_->logger.Warn("HTTP request failed", {{"path", in.target},
                                                   {"remote", remote_},
                                                   {"err", std::string(why)}});
    }

    http::response<http::string_body> response;
    response.version(request.version());
    response.result(out.status);
    response.set(http::field::server, "leakwatch");
    if (!out.content_type.empty()) {
      response.set(http::field::content_type, out.content_type);
    }
    // HandleRequest sets Content-Length itself only for HEAD, where it is
    // the length of the body a GET would get; keep that one.
    bool has_length = false;
    for (const auto& [name, value] : out.headers) {
      has_length = has_length || IsContentLength(name);
      response.insert(name, value);
    }
    response.body() = std::move(out.body);
    if (!has_length) response.content_length(response.body().size());
    response.keep_alive(request.keep_alive() && !shared_->stopping.load());
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
                      std::string(response.reason()) + ": " +
                      SystemMessage(ec) + "\n";
    response.content_length(response.body().size());
    // What follows in the stream cannot be parsed: close after answering.
    response.keep_alive(false);
    return response;
  }

  void DoWrite(http::response<http::string_body> response) {
    response_ = std::move(response);
    beast::get_lowest_layer(stream_).expires_after(kTimeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::OnWrite, Self(),
                                                response_.need_eof()));
  }

  void OnWrite(bool close, beast::error_code ec,
               std::size_t /*bytes_transferred*/) {
    if (ec) return Fail(shared_->logger, ec, "write", remote_);
    // The response said "Connection: close" (or was HTTP/1.0 without
    // keep-alive): the next read would only wait for the peer's close.
    if (close) return DoClose();
    response_ = {};
    request_ = {};
    DoRead();
  }

  void DoClose() {
    if constexpr (kTls) {
      // close_notify first, so the client knows the response is complete.
      beast::get_lowest_layer(stream_).expires_after(kTimeout);
      stream_.async_shutdown(
          [self = Self()](beast::error_code) { self->CloseSocket(); });
    } else {
      CloseSocket();
    }
  }

  void CloseSocket() {
    // Send a TCP FIN rather than a reset, so the client reads the whole
    // response; the socket closes when the last handler lets go of us.
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(
        tcp::socket::shutdown_send, ec);
  }

  static std::string RemoteOf(const tcp::socket& socket) {
    beast::error_code ec;
    tcp::endpoint endpoint = socket.remote_endpoint(ec);
    return ec ? "unknown" : FormatEndpoint(endpoint);
  }

  // The peer, for log lines; kept as text because the socket can no longer
  // tell once the peer has gone.
  const std::string remote_;
  // Keeps the TLS context the stream was made with alive (TLS only);
  // declared first so that it outlives the stream.
  std::shared_ptr<const WebSecurity> tls_;
  Stream stream_;
  // Bounded so that a client cannot make us buffer more than one request.
  beast::flat_buffer buffer_{kRequestLimit};
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::shared_ptr<Shared> shared_;
};

// Accepts connections on one bound socket and starts a Session for each.
//
// Thread-safety: the accept loop runs on the acceptor's strand; Close may
// be called from any thread.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& io, std::shared_ptr<Shared> shared)
      : io_(io),
        acceptor_(net::make_strand(io)),
        retry_(acceptor_.get_executor()),
        shared_(std::move(shared)) {}

  // Opens, binds and listens, before Run. On failure returns the error and
  // names the failing call in step.
  beast::error_code Open(const tcp::endpoint& endpoint, const char*& step) {
    beast::error_code ec;
    step = "socket";
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return ec;
    if (endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
      // "::" takes IPv4 too (as v4-mapped addresses), whatever the host's
      // net.ipv6.bindv6only says, as Go's listeners do.
      step = "setsockopt";
      acceptor_.set_option(net::ip::v6_only(false), ec);
      if (ec) return ec;
    }
    // A restarted daemon can bind while its predecessor's connections sit
    // in TIME_WAIT. (On Linux this does not let two listeners share a
    // port: that would be SO_REUSEPORT.)
    step = "setsockopt";
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) return ec;
    step = "bind";
    acceptor_.bind(endpoint, ec);
    if (ec) return ec;
    step = "listen";
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    return ec;
  }

  tcp::endpoint LocalEndpoint() {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec);
  }

  void Run() {
    net::dispatch(
        acceptor_.get_executor(),
        beast::bind_front_handler(&Listener::DoAccept, shared_from_this()));
  }

  void Close() {
    std::lock_guard<std::mutex> lock(mutex_);
    beast::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  }

 private:
  void DoAccept() {
    // Asio objects are not thread-safe and Close comes from the owner's
    // thread, so every use of the acceptor and timer holds mutex_. (An
    // initiating function never runs its handler inline, so holding the
    // lock across async_accept cannot deadlock.)
    std::lock_guard<std::mutex> lock(mutex_);
    if (!acceptor_.is_open()) return;
    // The new connection gets its own strand.
    acceptor_.async_accept(
        net::make_strand(io_),
        beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    // Close cancelled the pending accept: the loop ends here.
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      // Unlike a session's errors this one is the server's own trouble
      // (out of file descriptors, out of memory), so it is a warning.
      shared_->logger.Warn("HTTP accept failed",
                           {{"step", "accept"}, {"err", SystemMessage(ec)}});
      // The condition usually lasts until some connection closes;
      // accepting again at once would spin.
      return ScheduleRetry();
    }
    backoff_ = std::chrono::milliseconds(0);
    std::shared_ptr<const WebSecurity> security = shared_->Security();
    if (security->tls() != nullptr) {
      std::make_shared<Session<TlsStream>>(std::move(socket), shared_, security)
          ->Run();
    } else {
      std::make_shared<Session<PlainStream>>(std::move(socket), shared_,
                                             security)
          ->Run();
    }
    DoAccept();
  }

  void ScheduleRetry() {
    backoff_ = backoff_.count() == 0
                   ? kMinAcceptBackoff
                   : std::min(backoff_ * 2, kMaxAcceptBackoff);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!acceptor_.is_open()) return;
    retry_.expires_after(backoff_);
    retry_.async_wait(
        [self = shared_from_this()](const beast::error_code& wait_ec) {
          if (wait_ec) return;  // cancelled by Close
          self->DoAccept();
        });
  }

  net::io_context& io_;
  std::mutex mutex_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  std::chrono::milliseconds backoff_{0};
  std::shared_ptr<Shared> shared_;
};

// Whether binding failed because this address (family) cannot be used on
// this host, such as "::" where IPv6 is disabled, so that the next
// candidate may be tried; a taken port or a denied one must be reported
// instead, not dodged by listening somewhere else.
bool AddressUnusable(const beast::error_code& ec) {
  return ec == net::error::address_family_not_supported ||
         ec == beast::errc::address_not_available ||
         ec == beast::errc::protocol_not_supported;
}

}  // namespace

struct HttpServer::Impl {
  Impl(net::io_context& i, Routes routes, log::Logger& logger)
      : io(i), shared(std::make_shared<Shared>(std::move(routes), logger)) {}
  ~Impl() {
    // Checks still queued are dropped (their connections close unanswered);
    // the one running finishes first.
    if (checks) {
      checks->stop();
      checks->join();
    }
  }

  net::io_context& io;
  std::shared_ptr<Shared> shared;
  std::vector<std::shared_ptr<Listener>> listeners;
  // One thread for bcrypt, started with the first web config that has
  // users.
  std::shared_ptr<net::thread_pool> checks;
  std::mutex checks_mu;
};

HttpServer::HttpServer(net::io_context& io, Routes routes, log::Logger& logger)
    : impl_(std::make_unique<Impl>(io, std::move(routes), logger)) {}

HttpServer::~HttpServer() { Stop(); }

Result<std::string> HttpServer::Listen(std::string_view address) {
  Result<ListenAddress> parsed = ParseListenAddress(address);
  if (!parsed) return MakeError(parsed.error().code, parsed.error().message);
  const std::string& host = parsed->host;
  const unsigned short port = parsed->port;
  auto failure = [address](std::string detail) {
    return MakeError(ErrorCode::kUnavailable, "cannot listen on \"" +
                                                  std::string(address) +
                                                  "\": " + std::move(detail));
  };

  // Candidates in order of preference; the first that binds wins.
  std::vector<tcp::endpoint> candidates;
  bool every_interface = host.empty();
  if (every_interface) {
    candidates.emplace_back(tcp::v6(), port);
    candidates.emplace_back(tcp::v4(), port);
  } else {
    beast::error_code ec;
    net::ip::address literal = net::ip::make_address(host, ec);
    if (!ec) {
      candidates.emplace_back(literal, port);
    } else {
      // A blocking lookup is fine here: Listen runs once, at startup.
      tcp::resolver resolver(impl_->io);
      auto results = resolver.resolve(host, std::to_string(port),
                                      tcp::resolver::numeric_service, ec);
      if (ec) {
        return failure("lookup " + host + ": " + SystemMessage(ec));
      }
      for (const auto& entry : results) {
        candidates.push_back(entry.endpoint());
      }
      // Like Go's net.Listen, prefer IPv4 for a name with both families:
      // "localhost" then means 127.0.0.1 whatever the resolver's order.
      std::stable_partition(
          candidates.begin(), candidates.end(),
          [](const tcp::endpoint& e) { return e.address().is_v4(); });
      if (candidates.empty()) {
        return failure("lookup " + host + ": no addresses");
      }
    }
  }

  std::string error;
  for (const tcp::endpoint& endpoint : candidates) {
    auto listener = std::make_shared<Listener>(impl_->io, impl_->shared);
    const char* step = "";
    beast::error_code ec = listener->Open(endpoint, step);
    if (!ec) {
      std::string bound = FormatEndpoint(listener->LocalEndpoint());
      impl_->shared->stopping = false;
      listener->Run();
      impl_->listeners.push_back(std::move(listener));
      return bound;
    }
    error = std::string(step) + " " + FormatEndpoint(endpoint) + ": " +
            SystemMessage(ec);
    if (!AddressUnusable(ec)) break;
  }
  return failure(error);
}

void HttpServer::Secure(std::shared_ptr<const detail::WebSecurity> security) {
  if (security == nullptr) security = WebSecurity::None();
  std::shared_ptr<net::thread_pool> checks;
  {
    std::lock_guard lock(impl_->checks_mu);
    if (security->auth().enabled() && !impl_->checks) {
      impl_->checks = std::make_shared<net::thread_pool>(1);
    }
    checks = impl_->checks;
  }
  std::lock_guard lock(impl_->shared->security_mu);
  impl_->shared->checks = checks;
  impl_->shared->security = std::move(security);
}

void HttpServer::Stop() {
  impl_->shared->stopping = true;
  for (const auto& listener : impl_->listeners) listener->Close();
  impl_->listeners.clear();
}

}  // namespace leakwatch::exporter
