// The web config applied: errors at the key concerned, the description,
// and basic auth served by a real server with bcrypt off its I/O thread.
#include "web/security.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "config/web_config.h"
#include "log/log.h"
#include "tests/web/auth_fixtures.h"
#include "tests/web/daemon_like_router.h"
#include "web/web.h"

namespace leakwatch::web {
namespace {

namespace fs = std::filesystem;
using fixtures::Header;
using fixtures::kAliceHash;

const std::string kWeb = std::string(LEAKWATCH_FIXTURES_DIR) + "/config/web";
using ::testing::StartsWith;

// A scratch directory for files the test writes.
class Scratch {
 public:
  Scratch() {
    dir_ = fs::temp_directory_path() /
           ("leakwatch-web-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~Scratch() { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }

 private:
  fs::path dir_;
};

TEST(Security, ACertificateThatDoesNotLoadIsAnErrorAtItsKey) {
  auto web = config::LoadWebConfig(kWeb + "/tls_minimal.yml");
  ASSERT_TRUE(web.has_value()) << web.error().message;
  auto missing = Security::Make(*web);
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message,
              StartsWith(kWeb + "/tls_minimal.yml:2:14: "
                                "tls_server_config.cert_file: cannot read"));

  Scratch scratch;
  scratch.Write("server.crt", "not a certificate\n");
  scratch.Write("server.key", "not a key\n");
  auto path = scratch.Write(
      "web.yml",
      "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
  auto garbage = config::LoadWebConfig(path);
  ASSERT_TRUE(garbage.has_value()) << garbage.error().message;
  auto r = Security::Make(*garbage);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message,
              StartsWith(path + ":2:14: tls_server_config.cert_file: cannot "
                                "load the certificate"));
}

TEST(Security, DescribesWhatItDoes) {
  auto web = config::LoadWebConfig(kWeb + "/users.yml");
  ASSERT_TRUE(web.has_value());
  auto security = Security::Make(*web);
  ASSERT_TRUE(security.has_value()) << security.error().message;
  EXPECT_EQ((*security)->tls(), nullptr);
  EXPECT_TRUE((*security)->auth().enabled());
  EXPECT_EQ((*security)->description(), "plain HTTP, basic auth for 3 users");
  EXPECT_FALSE(Security::None()->auth().enabled());
}

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

// GET / with an Authorization header; the status, or 0 on a timeout or a
// broken connection.
unsigned Get(unsigned short port, const std::string& authorization) {
  net::io_context io;
  beast::tcp_stream stream(io);
  unsigned status = 0;
  http::request<http::empty_body> req{http::verb::get, "/", 11};
  req.set(http::field::host, "test");
  if (!authorization.empty())
    req.set(http::field::authorization, authorization);
  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  stream.expires_after(std::chrono::seconds(5));
  stream.async_connect(
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
      [&](beast::error_code ec) {
        if (ec) return;
        http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
          if (wec) return;
          http::async_read(stream, buffer, res,
                           [&](beast::error_code rec, std::size_t) {
                             if (!rec) status = res.result_int();
                           });
        });
      });
  io.run();
  return status;
}

TEST(ServerAuth, BcryptRunsOffTheIoThread) {
  // A verifier that holds "slow" until the test lets go; "fast" passes at
  // once.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> slow_started{false};
  HashVerifier verify = [&](const std::string& password, const std::string&) {
    if (password == "slow") {
      slow_started = true;
      released.wait();
    }
    return true;
  };
  config::WebConfig web;
  web.users = {{"fast", kAliceHash}, {"slow", kAliceHash}};
  auto security = Security::Make(web, verify);
  ASSERT_TRUE(security.has_value());

  net::io_context io;
  log::Logger logger(log::Level::kError, log::Format::kLogfmt);
  auto server = std::make_unique<Server>(
      io, fixtures::DaemonLikeRouter([] { return std::string(); }), logger);
  server->Secure(*security);
  auto bound = server->Listen("127.0.0.1:0");
  ASSERT_TRUE(bound.has_value());
  const auto port = static_cast<unsigned short>(
      std::stoul(bound->substr(bound->rfind(':') + 1)));
  std::thread serving([&] { io.run(); });

  EXPECT_EQ(Get(port, ""), 401u);
  EXPECT_EQ(Get(port, Header("fast", "fast")), 200u);  // now cached
  auto slow = std::async(std::launch::async,
                         [&] { return Get(port, Header("slow", "slow")); });
  while (!slow_started)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // While bcrypt is busy with "slow", the I/O thread still serves.
  EXPECT_EQ(Get(port, Header("fast", "fast")), 200u);
  EXPECT_EQ(Get(port, ""), 401u);
  release.set_value();
  EXPECT_EQ(slow.get(), 200u);

  server.reset();
  io.stop();
  serving.join();
}

}  // namespace
}  // namespace leakwatch::web
