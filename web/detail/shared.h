// What the server's listeners and sessions share, and the text their log
// lines and errors are written in. Beast and Asio are fine here: only the
// server's own .cc files include this.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/error.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "web/security.h"
#include "web/web.h"

namespace leakwatch::log {
class Logger;
}

namespace leakwatch::web::detail {

// What the listener and every session share. Held by shared_ptr so that a
// session still serving after the Server is gone keeps it alive.
struct Shared {
  Shared(Router r, log::Logger& l) : router(std::move(r)), logger(l) {}
  const Router router;
  log::Logger& logger;
  // Set by Stop: responses then close their connection.
  std::atomic<bool> stopping{false};

  // The web config in force: a connection takes its TLS context when it
  // is accepted, a request its auth and headers when it is read, so a
  // reload reaches keep-alive connections at their next request.
  std::shared_ptr<const Security> CurrentSecurity() const {
    std::lock_guard lock(security_mu);
    return security;
  }
  std::shared_ptr<boost::asio::thread_pool> Checks() const {
    std::lock_guard lock(security_mu);
    return checks.lock();
  }
  mutable std::mutex security_mu;
  std::shared_ptr<const Security> security = Security::None();
  // Where bcrypt runs, off the I/O thread (owned by Server::Impl; a
  // session that outlives the server finds it gone and denies).
  std::weak_ptr<boost::asio::thread_pool> checks;
};

// Strerror's text with a lower-case initial, as Go prints system errors
// ("bind: address already in use"), which is what operators grep for.
std::string SystemMessage(const boost::beast::error_code& ec);

// A connection-level failure: the client went away, timed out or sent
// garbage. Normal traffic for a server, so debug.
void Fail(log::Logger& logger, const boost::beast::error_code& ec,
          const char* step, const std::string& remote);

// "127.0.0.1:9702", "[::1]:9702".
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace leakwatch::web::detail
