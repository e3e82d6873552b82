// HTTP/1.1 GETs to the Engine API over a unix socket or TCP, as Asio
// coroutines. One connection per call: a keep-alive pool would save a
// unix-socket connect (tens of microseconds) at the price of state a hostile
// daemon could poison.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/result.h"
#include "docker-api/detail/asio.h"
#include "docker-api/docker.h"

namespace leakwatch::docker::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;

// A unix socket and a TCP socket behind one type, so the HTTP code is
// written once.
using Stream = beast::basic_stream<asio::generic::stream_protocol>;

// Body caps per endpoint: a list of a thousand containers is about 2 MiB; an
// inspect reply a few KiB unless labels are huge.
inline constexpr std::size_t kSmallBody = 64 * 1024;     // ping, version
inline constexpr std::size_t kInspectBody = 4 << 20;     // info, inspect
inline constexpr std::size_t kListBody = 32 << 20;       // containers/json
inline constexpr std::size_t kStatsBody = 1 << 20;       // stats
inline constexpr std::size_t kMaxEventLine = 64 * 1024;  // one event

struct Response {
  unsigned status = 0;
  std::string body;
  std::string api_version;  // the Api-Version header, if any
};

// Connects with a deadline (the stream's expiry, set by the caller). TCP
// names are resolved first; a literal address skips the resolver.
asio::awaitable<Result<void>> Connect(Stream& stream, const Endpoint& endpoint);

// GET target, with `timeout` covering connect, request and the whole reply
// and `max_body` capping the body. Any status is returned; a transport or
// protocol failure (timeout, reset, truncated chunked body, body over the
// cap) is kUnavailable or kParse naming the target.
asio::awaitable<Result<Response>> Get(const Endpoint& endpoint,
                                      std::string target,
                                      std::chrono::milliseconds timeout,
                                      std::size_t max_body);

// Ok for 200, kNotFound for 404, kUnavailable for any other status, with
// Docker's error message.
Result<void> CheckStatus(const Response& response, const std::string& target);

// A streaming GET (the events stream): headers under a deadline, then the
// body line by line with no deadline, since Docker sends nothing while
// nothing happens.
class LineStream {
 public:
  explicit LineStream(asio::any_io_executor executor);
  // Connects, sends the request and reads the headers; a status other than
  // 200 is an error.
  asio::awaitable<Result<void>> Open(const Endpoint& endpoint,
                                     std::string target,
                                     std::chrono::milliseconds timeout);
  // The next complete line (without '\n'). kUnavailable when the stream
  // ends or fails, kParse for a line over kMaxEventLine.
  asio::awaitable<Result<std::string>> NextLine();
  // Ends a pending NextLine with an error (from the same thread).
  void Close();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace leakwatch::docker::detail
