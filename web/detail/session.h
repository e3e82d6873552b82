// One connection of the server: Beast's advanced server's session (and,
// for TLS, advanced_server_flex's), as a template over the stream so that
// plain and TLS connections share every step. The messages it sends are
// built by plain functions (session.cc), so the template holds only the
// cycle of reads and writes.
#pragma once

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "log/log.h"
#include "web/detail/shared.h"
#include "web/security.h"
#include "web/web.h"

namespace leakwatch::web::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
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

// The status that answers a request Beast refused to parse, or nullopt when
// the connection is simply gone (closed, reset, timed out).
std::optional<unsigned> RejectStatus(const beast::error_code& ec);

// A header's values; a repeated header is one comma-separated list (RFC
// 9110 5.3).
std::string HeaderValues(const http::request<http::string_body>& request,
                         http::field field);

// 401 for missing or wrong credentials alike, as exporter-toolkit answers;
// for HEAD, the length and no body, as the router does.
Response Unauthorized(const std::string& method);

// A router's answer as Beast's message, with Server and Content-Length.
http::response<http::string_body> ToMessage(Response out, unsigned version,
                                            bool keep_alive);

// The answer to a request that cannot be parsed; closes the connection.
http::response<http::string_body> Reject(unsigned status,
                                         const beast::error_code& ec);

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
          const std::shared_ptr<const Security>& security)
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

  static Stream MakeStream(tcp::socket&& socket, const Security& security) {
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
    std::shared_ptr<const Security> security = shared_->CurrentSecurity();
    std::string authorization =
        HeaderValues(request_, http::field::authorization);
    switch (security->auth().Quick(authorization)) {
      case BasicAuth::Verdict::kAllowed:
        return Answer(security, true);
      case BasicAuth::Verdict::kDenied:
        return Answer(security, false);
      case BasicAuth::Verdict::kNeedsCheck:
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
  void Answer(const std::shared_ptr<const Security>& security, bool allowed) {
    try {
      DoWrite(Respond(request_, *security, allowed));
    } catch (const std::exception& e) {
      // Only an allocation failure can get here; dropping this connection
      // is the most we can do, and the exception must not reach Asio.
      shared_->logger.Error("HTTP response failed", {{"err", e.what()}});
    }
  }

  http::response<http::string_body> Respond(
      const http::request<http::string_body>& request, const Security& security,
      bool allowed) {
    Request in;
    in.method = std::string(request.method_string());
    in.target = std::string(request.target());
    in.accept_encoding = HeaderValues(request, http::field::accept_encoding);
    Response out =
        allowed ? shared_->router.Serve(in) : Unauthorized(in.method);
    for (const auto& header : security.headers()) out.headers.push_back(header);
    if (out.status == 500) {
      std::string_view why = out.body;
      while (!why.empty() && why.back() == '\n') why.remove_suffix(1);
      shared_->logger.Warn("HTTP request failed", {{"path", in.target},
                                                   {"remote", remote_},
                                                   {"err", std::string(why)}});
    }
    return ToMessage(std::move(out), request.version(),
                     request.keep_alive() && !shared_->stopping.load());
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
  std::shared_ptr<const Security> tls_;
  Stream stream_;
  // Bounded so that a client cannot make us buffer more than one request.
  beast::flat_buffer buffer_{kRequestLimit};
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace leakwatch::web::detail
