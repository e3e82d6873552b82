// Server: Beast's asynchronous server (example/advanced/server and, for
// TLS, advanced_server_flex). A listener accepts on a strand and starts one
// session per connection, plain or TLS as the web config says; the session
// cycles DoRead/OnRead, DoWrite/OnWrite and DoClose and hands each request
// to the router once basic auth (if configured) lets it through.

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "web/detail/listener.h"
#include "web/detail/shared.h"
#include "web/security.h"
#include "web/web.h"

namespace leakwatch::web {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

auto ListenFailure(std::string_view address, std::string detail) {
  return MakeError(ErrorCode::kUnavailable, "cannot listen on \"" +
                                                std::string(address) +
                                                "\": " + std::move(detail));
}

// The endpoints a listen address may mean, in order of preference; the
// first that binds wins. A blocking lookup is fine here: Listen runs once,
// at startup.
Result<std::vector<tcp::endpoint>> Candidates(net::io_context& io,
                                              std::string_view address,
                                              const ListenAddress& parsed) {
  std::vector<tcp::endpoint> candidates;
  if (parsed.host.empty()) {
    candidates.emplace_back(tcp::v6(), parsed.port);
    candidates.emplace_back(tcp::v4(), parsed.port);
    return candidates;
  }
  beast::error_code ec;
  net::ip::address literal = net::ip::make_address(parsed.host, ec);
  if (!ec) {
    candidates.emplace_back(literal, parsed.port);
    return candidates;
  }
  tcp::resolver resolver(io);
  auto results = resolver.resolve(parsed.host, std::to_string(parsed.port),
                                  tcp::resolver::numeric_service, ec);
  if (ec) {
    return ListenFailure(
        address, "lookup " + parsed.host + ": " + detail::SystemMessage(ec));
  }
  for (const auto& entry : results) candidates.push_back(entry.endpoint());
  // Like Go's net.Listen, prefer IPv4 for a name with both families:
  // "localhost" then means 127.0.0.1 whatever the resolver's order.
  std::stable_partition(
      candidates.begin(), candidates.end(),
      [](const tcp::endpoint& e) { return e.address().is_v4(); });
  if (candidates.empty()) {
    return ListenFailure(address, "lookup " + parsed.host + ": no addresses");
  }
  return candidates;
}

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

struct Server::Impl {
  Impl(net::io_context& i, Router router, log::Logger& logger)
      : io(i),
        shared(std::make_shared<detail::Shared>(std::move(router), logger)) {}
  ~Impl() {
    // Checks still queued are dropped (their connections close unanswered);
    // the one running finishes first.
    if (checks) {
      checks->stop();
      checks->join();
    }
  }

  net::io_context& io;
  std::shared_ptr<detail::Shared> shared;
  std::vector<std::shared_ptr<detail::Listener>> listeners;
  // One thread for bcrypt, started with the first web config that has
  // users.
  std::shared_ptr<net::thread_pool> checks;
  std::mutex checks_mu;
};

Server::Server(net::io_context& io, Router router, log::Logger& logger)
    : impl_(std::make_unique<Impl>(io, std::move(router), logger)) {}

Server::~Server() { Stop(); }

Result<std::string> Server::Listen(std::string_view address) {
  Result<ListenAddress> parsed = ParseListenAddress(address);
  if (!parsed) return PassOn(parsed.error());
  auto candidates = Candidates(impl_->io, address, *parsed);
  if (!candidates) return PassOn(candidates.error());
  std::string error;
  for (const tcp::endpoint& endpoint : *candidates) {
    auto listener =
        std::make_shared<detail::Listener>(impl_->io, impl_->shared);
    const char* step = "";
    beast::error_code ec = listener->Open(endpoint, step);
    if (!ec) {
      std::string bound = detail::FormatEndpoint(listener->LocalEndpoint());
      impl_->shared->stopping = false;
      listener->Run();
      impl_->listeners.push_back(std::move(listener));
      return bound;
    }
    error = std::string(step) + " " + detail::FormatEndpoint(endpoint) + ": " +
            detail::SystemMessage(ec);
    if (!AddressUnusable(ec)) break;
  }
  return ListenFailure(address, error);
}

void Server::Secure(std::shared_ptr<const Security> security) {
  if (security == nullptr) security = Security::None();
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

void Server::Stop() {
  impl_->shared->stopping = true;
  for (const auto& listener : impl_->listeners) listener->Close();
  impl_->listeners.clear();
}

}  // namespace leakwatch::web
