// Basic auth (bcrypt through libcrypt, the verified-credentials cache, the
// dummy hash for unknown users) and the web config's errors, without
// sockets; the server tests below use real ones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "config/web_config.h"
#include "exporter/detail/web_config.h"
#include "exporter/http.h"
#include "log/log.h"

namespace leakwatch::exporter::detail {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kWeb = std::string(LEAKWATCH_FIXTURES_DIR) + "/config/web";

// "Basic base64(user:password)", as curl -u sends it.
std::string Header(const std::string& user, const std::string& password) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return "Basic " + out;
}

// A verifier that records the hashes it was asked about.
struct CountingVerifier {
  std::shared_ptr<std::vector<std::string>> hashes =
      std::make_shared<std::vector<std::string>>();
  std::string good_password = "right";
  HashVerifier Fn() const {
    return [hashes = hashes, good = good_password](const std::string& password,
                                                   const std::string& hash) {
      hashes->push_back(hash);
      return password == good;
    };
  }
};

const std::string kAliceHash =
    "$2a$10$Ikkqr.CSgMqHC.bSUhyoSeVttoeqm6ZX/efwS6iocODOp7FbudTSK";

TEST(Bcrypt, VerifiesEveryFlavourThroughLibcrypt) {
  auto web = config::LoadWebConfig(kWeb + "/users.yml");
  ASSERT_TRUE(web.has_value()) << web.error().message;
  EXPECT_TRUE(BcryptMatches("hunter2-a", web->users.at("alice")));  // $2a$
  EXPECT_TRUE(BcryptMatches("hunter2-b", web->users.at("bob")));    // $2b$
  EXPECT_TRUE(BcryptMatches("hunter2-y", web->users.at("carol")));  // $2y$
  EXPECT_FALSE(BcryptMatches("hunter2-b", web->users.at("alice")));
  EXPECT_FALSE(BcryptMatches("", web->users.at("alice")));
  // Published vectors: Openwall's crypt_blowfish test suite, and the hash
  // of "fakepassword" exporter-toolkit uses as its dummy.
  EXPECT_TRUE(BcryptMatches(
      "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
  EXPECT_TRUE(BcryptMatches(
      "fakepassword",
      "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"));
  EXPECT_FALSE(BcryptMatches("anything", "not a hash"));
}

TEST(Bcrypt, RefusesWhatBcryptWouldTruncate) {
  // bcrypt reads 72 bytes; a longer password must not match on its
  // prefix, nor one cut short by a NUL.
  EXPECT_FALSE(BcryptMatches(std::string(73, 'x'), kAliceHash));
  EXPECT_FALSE(BcryptMatches(std::string("hunter2-a\0tail", 14), kAliceHash));
}

TEST(BasicAuthHeader, ParsesWhatCurlSends) {
  auto c = ParseBasicAuth(Header("alice", "pa:ss word"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->first, "alice");
  EXPECT_EQ(c->second, "pa:ss word");  // the first colon splits
  EXPECT_TRUE(ParseBasicAuth("basic " + Header("a", "b").substr(6)));
  EXPECT_FALSE(ParseBasicAuth(""));
  EXPECT_FALSE(ParseBasicAuth("Bearer abc"));
  EXPECT_FALSE(ParseBasicAuth("Basic !!!!"));
  EXPECT_FALSE(ParseBasicAuth("Basic YWxpY2U="));  // "alice", no colon
}

TEST(BasicAuth, OffWithoutUsers) {
  BasicAuth auth({});
  EXPECT_FALSE(auth.enabled());
  EXPECT_EQ(auth.Quick(""), BasicAuth::Verdict::kAllowed);
}

TEST(BasicAuth, MissingCredentialsAreDeniedWithoutBcrypt) {
  CountingVerifier v;
  BasicAuth auth({{"alice", kAliceHash}}, v.Fn());
  EXPECT_EQ(auth.Quick(""), BasicAuth::Verdict::kDenied);
  EXPECT_EQ(auth.Quick("Basic garbage"), BasicAuth::Verdict::kDenied);
  EXPECT_FALSE(auth.Check(""));
  EXPECT_TRUE(v.hashes->empty());
}

TEST(BasicAuth, VerifiedCredentialsAreCachedWrongOnesNever) {
  CountingVerifier v;
  BasicAuth auth({{"alice", kAliceHash}}, v.Fn());
  const std::string right = Header("alice", "right");
  const std::string wrong = Header("alice", "wrong");
  EXPECT_EQ(auth.Quick(right), BasicAuth::Verdict::kNeedsCheck);
  EXPECT_TRUE(auth.Check(right));
  ASSERT_EQ(v.hashes->size(), 1u);
  EXPECT_EQ(v.hashes->front(), kAliceHash);
  // The next scrape pays nothing.
  EXPECT_EQ(auth.Quick(right), BasicAuth::Verdict::kAllowed);
  // A wrong password is never taken from the cache as right...
  EXPECT_EQ(auth.Quick(wrong), BasicAuth::Verdict::kNeedsCheck);
  EXPECT_FALSE(auth.Check(wrong));
  // ...and not cached as anything: it costs a check every time.
  EXPECT_EQ(auth.Quick(wrong), BasicAuth::Verdict::kNeedsCheck);
  EXPECT_FALSE(auth.Check(wrong));
  EXPECT_EQ(v.hashes->size(), 3u);
}

TEST(BasicAuth, UnknownUsersCostACheckAgainstTheDummyHash) {
  CountingVerifier v;
  BasicAuth auth({{"alice", kAliceHash}}, v.Fn());
  // Even a verifier that says yes cannot let an unknown user in.
  EXPECT_EQ(auth.Quick(Header("mallory", "right")),
            BasicAuth::Verdict::kNeedsCheck);
  EXPECT_FALSE(auth.Check(Header("mallory", "right")));
  ASSERT_EQ(v.hashes->size(), 1u);
  EXPECT_EQ(v.hashes->front(), BasicAuth::DummyHash());
  EXPECT_TRUE(config::IsBcryptHash(BasicAuth::DummyHash()));
  EXPECT_EQ(auth.Quick(Header("mallory", "right")),
            BasicAuth::Verdict::kNeedsCheck);
}

TEST(BasicAuth, TheDummyCostsWhatARealCheckCosts) {
  // With the real bcrypt: an unknown user must not answer measurably
  // faster than a known one with a wrong password (both are cost 10).
  BasicAuth auth({{"alice", kAliceHash}});
  // The fastest of three, so that a descheduled run does not count.
  auto time = [&](const std::string& header) {
    auto best = std::chrono::steady_clock::duration::max();
    for (int i = 0; i < 3; ++i) {
      auto start = std::chrono::steady_clock::now();
      EXPECT_FALSE(auth.Check(header));
      best = std::min(best, std::chrono::steady_clock::now() - start);
    }
    return best;
  };
  auto known = time(Header("alice", "wrong"));
  auto unknown = time(Header("nobody", "wrong"));
  EXPECT_GT(unknown, known / 3);
  EXPECT_GT(unknown, std::chrono::milliseconds(5));
}

TEST(BasicAuth, TheCacheIsBounded) {
  std::map<std::string, std::string> users;
  for (int i = 0; i <= static_cast<int>(BasicAuth::kCacheSize); ++i) {
    users["u" + std::to_string(i)] = kAliceHash;
  }
  CountingVerifier v;
  BasicAuth auth(users, v.Fn());
  for (const auto& [user, hash] : users) {
    ASSERT_TRUE(auth.Check(Header(user, "right")));
  }
  // One more than fits: the oldest (u0) went.
  EXPECT_EQ(auth.Quick(Header("u0", "right")), BasicAuth::Verdict::kNeedsCheck);
  EXPECT_EQ(auth.Quick(Header("u99", "right")), BasicAuth::Verdict::kAllowed);
}

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

TEST(WebSecurity, ACertificateThatDoesNotLoadIsAnErrorAtItsKey) {
  auto web = config::LoadWebConfig(kWeb + "/tls_minimal.yml");
  ASSERT_TRUE(web.has_value()) << web.error().message;
  auto missing = WebSecurity::Make(*web);
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
  auto r = WebSecurity::Make(*garbage);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message,
              StartsWith(path + ":2:14: tls_server_config.cert_file: cannot "
                                "load the certificate"));
}

TEST(WebSecurity, DescribesWhatItDoes) {
  auto web = config::LoadWebConfig(kWeb + "/users.yml");
  ASSERT_TRUE(web.has_value());
  auto security = WebSecurity::Make(*web);
  ASSERT_TRUE(security.has_value()) << security.error().message;
  EXPECT_EQ((*security)->tls(), nullptr);
  EXPECT_TRUE((*security)->auth().enabled());
  EXPECT_EQ((*security)->description(), "plain HTTP, basic auth for 3 users");
  EXPECT_FALSE(WebSecurity::None()->auth().enabled());
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

TEST(HttpServerAuth, BcryptRunsOffTheIoThread) {
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
  auto security = WebSecurity::Make(web, verify);
  ASSERT_TRUE(security.has_value());

  net::io_context io;
  log::Logger logger(log::Level::kError, log::Format::kLogfmt);
  Routes routes;
  routes.metrics = [] { return std::string(); };
  routes.healthy = [] { return true; };
  routes.landing_page = "<html></html>";
  auto server = std::make_unique<HttpServer>(io, routes, logger);
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
}  // namespace leakwatch::exporter::detail
