// Listener: Beast's advanced server's listener, with a backoff after a
// failed accept.

#include "web/detail/listener.h"

#include <algorithm>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/strand.hpp>

#include "web/detail/session.h"

namespace leakwatch::web::detail {
namespace {

// Backoff after a failed accept (EMFILE and the like): net/http's figures.
constexpr std::chrono::milliseconds kMinAcceptBackoff{5};
constexpr std::chrono::milliseconds kMaxAcceptBackoff{1000};

}  // namespace

Listener::Listener(net::io_context& io, std::shared_ptr<Shared> shared)
    : io_(io),
      acceptor_(net::make_strand(io)),
      retry_(acceptor_.get_executor()),
      shared_(std::move(shared)) {}

beast::error_code Listener::Open(const tcp::endpoint& endpoint,
                                 const char*& step) {
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

tcp::endpoint Listener::LocalEndpoint() {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Listener::Run() {
  net::dispatch(
      acceptor_.get_executor(),
      beast::bind_front_handler(&Listener::DoAccept, shared_from_this()));
}

void Listener::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  beast::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
}

void Listener::DoAccept() {
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

void Listener::OnAccept(beast::error_code ec, tcp::socket socket) {
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
  std::shared_ptr<const Security> security = shared_->CurrentSecurity();
  if (security->tls() != nullptr) {
    std::make_shared<Session<TlsStream>>(std::move(socket), shared_, security)
        ->Run();
  } else {
    std::make_shared<Session<PlainStream>>(std::move(socket), shared_, security)
        ->Run();
  }
  DoAccept();
}

void Listener::ScheduleRetry() {
  backoff_ = backoff_.count() == 0 ? kMinAcceptBackoff
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

}  // namespace leakwatch::web::detail
