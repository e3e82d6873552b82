#include "docker-api/detail/http.h"

#include <vector>

#include "docker-api/detail/decode.h"

namespace leakwatch::docker::detail {
namespace {

namespace http = beast::http;
using boost::system::error_code;

constexpr std::size_t kHeaderLimit = 16 * 1024;

auto WithEc(error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

// Names the step and the target, like Beast's fail(ec, "read").
Unexpected Fail(std::string_view step, std::string_view target,
                const error_code& ec) {
  if (ec == beast::error::timeout) {
    return MakeError(
        ErrorCode::kUnavailable,
        std::string(step) + " " + std::string(target) + ": timed out");
  }
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    return MakeError(ErrorCode::kParse, std::string(step) + " " +
                                            std::string(target) +
                                            ": reply over the size cap");
  }
  if (ec == http::error::partial_message || ec == http::error::end_of_stream) {
    return MakeError(ErrorCode::kUnavailable,
                     std::string(step) + " " + std::string(target) +
                         ": connection closed before the reply ended");
  }
  if (ec.category() ==
      http::make_error_code(http::error::end_of_stream).category()) {
    // Every other Beast HTTP error is a malformed message.
    return MakeError(
        ErrorCode::kParse,
        std::string(step) + " " + std::string(target) + ": " + ec.message());
  }
  return MakeError(
      ErrorCode::kUnavailable,
      std::string(step) + " " + std::string(target) + ": " + ec.message());
}

std::string HostHeader(const Endpoint& endpoint) {
  // Go's server wants a Host header on HTTP/1.1; over a unix socket any
  // name will do, and the docker CLI sends this one.
  if (endpoint.kind == Endpoint::Kind::kUnix) return "docker";
  if (endpoint.host.find(':') != std::string::npos) {
    return "[" + endpoint.host + "]:" + std::to_string(endpoint.port);
  }
  return endpoint.host + ":" + std::to_string(endpoint.port);
}

http::request<http::empty_body> MakeRequest(const Endpoint& endpoint,
                                            const std::string& target) {
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, HostHeader(endpoint));
  req.set(http::field::user_agent, "leakwatch");
  return req;
}

}  // namespace

asio::awaitable<Result<void>> Connect(Stream& stream,
                                      const Endpoint& endpoint) {
  error_code ec;
  if (endpoint.kind == Endpoint::Kind::kUnix) {
    const asio::local::stream_protocol::endpoint local(endpoint.path);
    co_await stream.async_connect(
        asio::generic::stream_protocol::endpoint(local), WithEc(ec));
    if (ec) co_return Fail("connect", endpoint.Describe(), ec);
    co_return Result<void>();
  }

  std::vector<asio::ip::tcp::endpoint> candidates;
  error_code parse_ec;
  const auto address = asio::ip::make_address(endpoint.host, parse_ec);
  if (!parse_ec) {
    candidates.emplace_back(address, endpoint.port);
  } else {
    // TODO(leakwatch): getaddrinfo cannot be interrupted, so the deadline
    // does not bound a hung resolver; Docker hosts are nearly always
    // literal addresses or localhost.
    asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
    auto results = co_await resolver.async_resolve(
        endpoint.host, std::to_string(endpoint.port), WithEc(ec));
    if (ec) co_return Fail("resolve", endpoint.Describe(), ec);
    for (const auto& r : results) candidates.push_back(r.endpoint());
  }
  for (const auto& candidate : candidates) {
    error_code close_ec;
    stream.socket().close(close_ec);  // a failed attempt leaves it open
    co_await stream.async_connect(
        asio::generic::stream_protocol::endpoint(candidate), WithEc(ec));
    if (!ec || ec == beast::error::timeout) break;
  }
  if (candidates.empty()) ec = asio::error::host_not_found;
  if (ec) co_return Fail("connect", endpoint.Describe(), ec);
  co_return Result<void>();
}

asio::awaitable<Result<Response>> Get(const Endpoint& endpoint,
                                      std::string target,
                                      std::chrono::milliseconds timeout,
                                      std::size_t max_body) {
  Stream stream(co_await asio::this_coro::executor);
  // One deadline for the whole exchange, so a server that trickles an
  // endless body a byte at a time is cut off as surely as a silent one.
  stream.expires_after(timeout);
  auto connected = co_await Connect(stream, endpoint);
  if (!connected) co_return PassOn(connected.error());

  error_code ec;
  auto req = MakeRequest(endpoint, target);
  co_await http::async_write(stream, req, WithEc(ec));
  if (ec) co_return Fail("write", target, ec);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(max_body);
  co_await http::async_read(stream, buffer, parser, WithEc(ec));
  if (ec) co_return Fail("GET", target, ec);

  auto message = parser.release();
  Response response;
  response.status = message.result_int();
  response.api_version = std::string(message["Api-Version"]);
  response.body = std::move(message.body());
  co_return response;
}

Result<void> CheckStatus(const Response& response, const std::string& target) {
  if (response.status == 200) return {};
  const std::string what = "GET " + target + ": HTTP " +
                           std::to_string(response.status) + ": " +
                           ErrorMessage(response.body);
  if (response.status == 404) return MakeError(ErrorCode::kNotFound, what);
  return MakeError(ErrorCode::kUnavailable, what);
}

struct LineStream::State {
  explicit State(asio::any_io_executor executor)
      : stream(std::move(executor)) {}
  Stream stream;
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  std::string target;
  std::string pending;  // bytes read past the last complete line
  bool closed = false;
  char chunk[8192];
};

LineStream::LineStream(asio::any_io_executor executor)
    : state_(std::make_shared<State>(std::move(executor))) {}

asio::awaitable<Result<void>> LineStream::Open(
    const Endpoint& endpoint, std::string target,
    std::chrono::milliseconds timeout) {
  auto s = state_;  // the state outlives a Close() from another coroutine
  s->target = target;
  s->stream.expires_after(timeout);
  auto connected = co_await Connect(s->stream, endpoint);
  if (!connected) co_return PassOn(connected.error());

  error_code ec;
  auto req = MakeRequest(endpoint, target);
  co_await http::async_write(s->stream, req, WithEc(ec));
  if (ec) co_return Fail("write", target, ec);

  s->parser.header_limit(kHeaderLimit);
  // The stream is endless by design; NextLine caps each line instead.
  s->parser.body_limit(boost::none);
  co_await http::async_read_header(s->stream, s->buffer, s->parser, WithEc(ec));
  if (ec) co_return Fail("GET", target, ec);
  const unsigned status = s->parser.get().result_int();
  if (status != 200) {
    co_return MakeError(ErrorCode::kUnavailable,
                        "GET " + target + ": HTTP " + std::to_string(status));
  }
  // Docker says nothing while nothing happens: no deadline from here on.
  // A hung daemon is caught by the watcher's health checks instead.
  s->stream.expires_never();
  co_return Result<void>();
}

asio::awaitable<Result<std::string>> LineStream::NextLine() {
  auto s = state_;
  while (true) {
    const std::size_t newline = s->pending.find('\n');
    if (newline != std::string::npos) {
      std::string line = s->pending.substr(0, newline);
      s->pending.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      co_return line;
    }
    if (s->pending.size() > kMaxEventLine) {
      co_return MakeError(ErrorCode::kParse,
                          "GET " + s->target + ": a line over " +
                              std::to_string(kMaxEventLine) + " bytes");
    }
    if (s->closed) {
      co_return MakeError(ErrorCode::kUnavailable,
                          "GET " + s->target + ": stream closed");
    }
    if (s->parser.is_done()) {
      co_return MakeError(ErrorCode::kUnavailable,
                          "GET " + s->target + ": stream ended");
    }
    auto& body = s->parser.get().body();
    body.data = s->chunk;
    body.size = sizeof(s->chunk);
    error_code ec;
    // read_some, not read: read would wait to fill the whole buffer, and an
    // event must be handled when it arrives.
    co_await http::async_read_some(s->stream, s->buffer, s->parser, WithEc(ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return Fail("GET", s->target, ec);
    const std::size_t n = sizeof(s->chunk) - s->parser.get().body().size;
    s->pending.append(s->chunk, n);
  }
}

void LineStream::Close() {
  state_->closed = true;
  state_->stream.close();
}

}  // namespace leakwatch::docker::detail
