// The server's accept loop on one bound socket.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <memory>
#include <mutex>

#include "web/detail/shared.h"

namespace leakwatch::web::detail {

// Accepts connections on one bound socket and starts a session for each,
// plain or TLS as the web config in force says.
//
// Thread-safety: the accept loop runs on the acceptor's strand; Close may
// be called from any thread.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& io, std::shared_ptr<Shared> shared);

  // Opens, binds and listens, before Run. On failure returns the error and
  // names the failing call in step.
  boost::beast::error_code Open(const boost::asio::ip::tcp::endpoint& endpoint,
                                const char*& step);
  boost::asio::ip::tcp::endpoint LocalEndpoint();

  void Run();
  void Close();

 private:
  void DoAccept();
  void OnAccept(boost::beast::error_code ec,
                boost::asio::ip::tcp::socket socket);
  void ScheduleRetry();

  boost::asio::io_context& io_;
  std::mutex mutex_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  std::chrono::milliseconds backoff_{0};
  std::shared_ptr<Shared> shared_;
};

}  // namespace leakwatch::web::detail
