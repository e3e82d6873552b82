// Server over real loopback sockets: a server io_context on its own
// thread, clients with their own io_context and deadlines so that a hung
// server fails a test instead of hanging it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "log/log.h"
#include "tests/web/daemon_like_router.h"
#include "web/web.h"

// Beast's templates must be configured as in leakwatch_exporter (the
// top-level CMakeLists.txt sets the macros for every target), or the two
// builds of them break the one-definition rule and the server crashes at
// its first request.
#if !defined(BOOST_BEAST_USE_STD_STRING_VIEW) || \
    !defined(BOOST_ASIO_NO_DEPRECATED)
#error "build with the Beast macros of the top-level CMakeLists.txt"
#endif

namespace leakwatch::web {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::chrono::seconds kClientTimeout{5};
constexpr std::string_view kMetrics =
    "# TYPE leakwatch_up gauge\nleakwatch_up 1\n";

unsigned short PortOf(const std::string& address) {
  return static_cast<unsigned short>(
      std::stoul(address.substr(address.rfind(':') + 1)));
}

// A blocking HTTP client with a deadline on every step.
class Client {
 public:
  // Connects to host:port; check Connected() or error().
  Client(std::string_view host, unsigned short port) : stream_(io_) {
    tcp::endpoint endpoint(net::ip::make_address(host), port);
    stream_.expires_after(kClientTimeout);
    stream_.async_connect(endpoint,
                          [this](beast::error_code ec) { error_ = ec; });
    Run();
  }

  bool Connected() const { return !error_; }
  beast::error_code error() const { return error_; }

  beast::error_code Send(std::string_view bytes) {
    stream_.expires_after(kClientTimeout);
    net::async_write(
        stream_, net::buffer(bytes.data(), bytes.size()),
        [this](beast::error_code ec, std::size_t) { error_ = ec; });
    Run();
    return error_;
  }

  // Reads one response; for the answer to a HEAD pass head = true, since
  // its Content-Length announces a body that does not follow.
  std::optional<http::response<http::string_body>> Read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    parser.skip(head);
    stream_.expires_after(kClientTimeout);
    http::async_read(
        stream_, buffer_, parser,
        [this](beast::error_code ec, std::size_t) { error_ = ec; });
    Run();
    if (error_) return std::nullopt;
    return parser.release();
  }

  std::optional<http::response<http::string_body>> Request(
      std::string_view method, std::string_view target,
      std::string_view extra_headers = "") {
    std::string request = std::string(method) + " " + std::string(target) +
                          " HTTP/1.1\r\nHost: test\r\n" +
                          std::string(extra_headers) + "\r\n";
    if (Send(request)) return std::nullopt;
    return Read(method == "HEAD");
  }

  // Waits for the server to close: true on a clean end of stream.
  bool ReadsEof() {
    std::array<char, 64> scratch;
    stream_.expires_after(kClientTimeout);
    stream_.async_read_some(
        net::buffer(scratch),
        [this](beast::error_code ec, std::size_t) { error_ = ec; });
    Run();
    return error_ == net::error::eof;
  }

 private:
  void Run() {
    io_.restart();
    io_.run();
  }

  net::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code error_;
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    server_ = std::make_unique<Server>(
        io_,
        fixtures::DaemonLikeRouter([] { return std::string(kMetrics); },
                                   "<html>leakwatch</html>"),
        logger_);
  }

  ~ServerTest() override {
    server_.reset();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Listens on address and starts the server's thread; returns the bound
  // address.
  std::string Start(std::string_view address = "127.0.0.1:0") {
    Result<std::string> bound = server_->Listen(address);
    EXPECT_TRUE(bound.has_value()) << bound.error().message;
    if (!bound) return "";
    if (!thread_.joinable()) thread_ = std::thread([this] { io_.run(); });
    return *bound;
  }

  net::io_context io_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{
      io_.get_executor()};
  log::Logger logger_{log::Level::kWarn, log::Format::kLogfmt};
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(ServerTest, ServesMetricsOverLoopback) {
  std::string address = Start();
  EXPECT_THAT(address, StartsWith("127.0.0.1:"));
  ASSERT_NE(PortOf(address), 0);
  Client client("127.0.0.1", PortOf(address));
  ASSERT_TRUE(client.Connected()) << client.error().message();
  auto response = client.Request("GET", "/metrics");
  ASSERT_TRUE(response) << client.error().message();
  EXPECT_EQ(response->result_int(), 200u);
  EXPECT_EQ(response->body(), kMetrics);
  EXPECT_EQ((*response)[http::field::content_type],
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ((*response)[http::field::server], "leakwatch");
  EXPECT_EQ((*response)[http::field::content_length],
            std::to_string(kMetrics.size()));
}

TEST_F(ServerTest, ServesSeveralRequestsOnOneKeptAliveConnection) {
  std::string address = Start();
  Client client("127.0.0.1", PortOf(address));
  ASSERT_TRUE(client.Connected()) << client.error().message();
  auto first = client.Request("GET", "/metrics");
  ASSERT_TRUE(first) << client.error().message();
  EXPECT_EQ(first->result_int(), 200u);
  EXPECT_TRUE(first->keep_alive());
  auto second = client.Request("GET", "/healthz");
  ASSERT_TRUE(second) << client.error().message();
  EXPECT_EQ(second->result_int(), 200u);
  EXPECT_EQ(second->body(), "ok");
  // A HEAD response carries GET's Content-Length but no body: if the server
  // sent one anyway, the next response on this connection would not parse.
  auto head = client.Request("HEAD", "/metrics");
  ASSERT_TRUE(head) << client.error().message();
  EXPECT_EQ((*head)[http::field::content_length],
            std::to_string(kMetrics.size()));
  auto after_head = client.Request("GET", "/");
  ASSERT_TRUE(after_head) << client.error().message();
  EXPECT_EQ(after_head->body(), "<html>leakwatch</html>");
}

TEST_F(ServerTest, AnswersPipelinedRequestsInOrder) {
  std::string address = Start();
  Client client("127.0.0.1", PortOf(address));
  ASSERT_TRUE(client.Connected());
  ASSERT_FALSE(
      client.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                  "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto first = client.Read();
  auto second = client.Read();
  ASSERT_TRUE(first && second) << client.error().message();
  EXPECT_EQ(first->result_int(), 200u);
  EXPECT_EQ(second->result_int(), 404u);
}

TEST_F(ServerTest, ClosesAfterAnsweringConnectionClose) {
  std::string address = Start();
  Client client("127.0.0.1", PortOf(address));
  ASSERT_TRUE(client.Connected());
  auto response = client.Request("GET", "/healthz", "Connection: close\r\n");
  ASSERT_TRUE(response) << client.error().message();
  EXPECT_FALSE(response->keep_alive());
  EXPECT_TRUE(client.ReadsEof()) << client.error().message();
}

TEST_F(ServerTest, SendsGzipAndStatusCodesOverTheWire) {
  std::string address = Start();
  Client client("127.0.0.1", PortOf(address));
  ASSERT_TRUE(client.Connected());
  auto gzip = client.Request("GET", "/metrics", "Accept-Encoding: gzip\r\n");
  ASSERT_TRUE(gzip) << client.error().message();
  EXPECT_EQ((*gzip)[http::field::content_encoding], "gzip");
  EXPECT_EQ((*gzip)[http::field::vary], "Accept-Encoding");
  ASSERT_GE(gzip->body().size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gzip->body()[0]), 0x1fu);
  auto post = client.Request("POST", "/metrics", "Content-Length: 0\r\n");
  ASSERT_TRUE(post) << client.error().message();
  EXPECT_EQ(post->result_int(), 405u);
  EXPECT_EQ((*post)[http::field::allow], "GET, HEAD");
  auto missing = client.Request("GET", "/missing");
  ASSERT_TRUE(missing) << client.error().message();
  EXPECT_EQ(missing->result_int(), 404u);
}

TEST_F(ServerTest, CurlDecodesTheGzippedExposition) {
  if (access("/usr/bin/curl", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/curl";
  std::string address = Start();
  std::string command = "/usr/bin/curl -sS --max-time 5 --compressed -D - " +
                        std::string("http://") + address + "/metrics 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char chunk[4096];
  std::size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, n);
  EXPECT_EQ(pclose(pipe), 0) << output;
  EXPECT_THAT(output, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(output, HasSubstr("Content-Encoding: gzip\r\n"));
  // curl --compressed decoded the body back to the exposition.
  EXPECT_THAT(output, HasSubstr("\r\n\r\n" + std::string(kMetrics)));
}

TEST_F(ServerTest, BindToATakenPortIsUnavailable) {
  std::string address = Start();
  Server other(io_, Router{}, logger_);
  std::string taken = "127.0.0.1:" + std::to_string(PortOf(address));
  Result<std::string> bound = other.Listen(taken);
  ASSERT_FALSE(bound.has_value());
  EXPECT_EQ(bound.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(bound.error().message, HasSubstr(taken));
  EXPECT_THAT(bound.error().message, HasSubstr("address already in use"));
  // The first server is unharmed.
  Client client("127.0.0.1", PortOf(address));
  ASSERT_TRUE(client.Connected());
  auto response = client.Request("GET", "/healthz");
  ASSERT_TRUE(response) << client.error().message();
  EXPECT_EQ(response->result_int(), 200u);
}

TEST_F(ServerTest, BindToAnAddressNotOnThisHostIsUnavailable) {
  // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): assigned to no host.
  Result<std::string> bound = server_->Listen("192.0.2.1:0");
  ASSERT_FALSE(bound.has_value());
  EXPECT_EQ(bound.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(bound.error().message, HasSubstr("\"192.0.2.1:0\""));
  EXPECT_THAT(bound.error().message,
              HasSubstr("bind 192.0.2.1:0: cannot assign requested address"));
}

TEST_F(ServerTest, ListenRejectsAMalformedAddress) {
  Result<std::string> bound = server_->Listen("127.0.0.1");
  ASSERT_FALSE(bound.has_value());
  EXPECT_EQ(bound.error().code, ErrorCode::kInvalid);
}

TEST_F(ServerTest, RejectsOversizedHeadersAndKeepsServing) {
  std::string address = Start();
  {
    Client client("127.0.0.1", PortOf(address));
    ASSERT_TRUE(client.Connected());
    std::string big(16 * 1024, 'a');
    ASSERT_FALSE(client.Send(
        "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Big: " + big + "\r\n\r\n"));
    auto response = client.Read();
    ASSERT_TRUE(response) << client.error().message();
    EXPECT_EQ(response->result_int(), 431u);
    EXPECT_FALSE(response->keep_alive());
  }
  Client next("127.0.0.1", PortOf(address));
  ASSERT_TRUE(next.Connected());
  auto response = next.Request("GET", "/metrics");
  ASSERT_TRUE(response) << next.error().message();
  EXPECT_EQ(response->body(), kMetrics);
}

TEST_F(ServerTest, RejectsAnOversizedBodyBeforeReadingIt) {
  std::string address = Start();
  Client client("127.0.0.1", PortOf(address));
  ASSERT_TRUE(client.Connected());
  // Only the header is sent: the limit is enforced from Content-Length.
  auto response =
      client.Request("POST", "/metrics", "Content-Length: 1000000\r\n");
  ASSERT_TRUE(response) << client.error().message();
  EXPECT_EQ(response->result_int(), 413u);
  Client next("127.0.0.1", PortOf(address));
  auto ok = next.Request("GET", "/healthz");
  ASSERT_TRUE(ok) << next.error().message();
  EXPECT_EQ(ok->result_int(), 200u);
}

TEST_F(ServerTest, MalformedRequestIs400) {
  std::string address = Start();
  Client client("127.0.0.1", PortOf(address));
  ASSERT_TRUE(client.Connected());
  ASSERT_FALSE(client.Send("GET /metrics HTTP/9.9\r\n\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response) << client.error().message();
  EXPECT_EQ(response->result_int(), 400u);
}

TEST_F(ServerTest, SilentClientDoesNotBlockOthers) {
  std::string address = Start();
  // Connected, and never sends a byte: its session waits in async_read.
  Client silent("127.0.0.1", PortOf(address));
  ASSERT_TRUE(silent.Connected());
  // A partial request, too.
  Client partial("127.0.0.1", PortOf(address));
  ASSERT_TRUE(partial.Connected());
  ASSERT_FALSE(partial.Send("GET /metr"));
  Client client("127.0.0.1", PortOf(address));
  ASSERT_TRUE(client.Connected());
  auto started = std::chrono::steady_clock::now();
  auto response = client.Request("GET", "/metrics");
  ASSERT_TRUE(response) << client.error().message();
  EXPECT_EQ(response->body(), kMetrics);
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(2));
}

TEST_F(ServerTest, StopRefusesNewConnectionsAndFinishesOpenOnes) {
  std::string address = Start();
  Client open("127.0.0.1", PortOf(address));
  ASSERT_TRUE(open.Connected());
  auto before = open.Request("GET", "/healthz");
  ASSERT_TRUE(before) << open.error().message();
  EXPECT_TRUE(before->keep_alive());

  server_->Stop();

  Client refused("127.0.0.1", PortOf(address));
  EXPECT_EQ(refused.error(), net::error::connection_refused)
      << refused.error().message();
  // The connection opened before Stop gets its answer, and is then closed.
  auto after = open.Request("GET", "/metrics");
  ASSERT_TRUE(after) << open.error().message();
  EXPECT_EQ(after->body(), kMetrics);
  EXPECT_FALSE(after->keep_alive());
  EXPECT_TRUE(open.ReadsEof()) << open.error().message();
}

TEST_F(ServerTest, EmptyHostListensOnEveryInterface) {
  std::string address = Start(":0");
  // "[::]" (dual-stack) where the host has IPv6, "0.0.0.0" where not.
  EXPECT_TRUE(address.rfind("[::]:", 0) == 0 ||
              address.rfind("0.0.0.0:", 0) == 0)
      << address;
  ASSERT_NE(PortOf(address), 0);
  // IPv4 reaches it either way.
  Client client("127.0.0.1", PortOf(address));
  ASSERT_TRUE(client.Connected()) << client.error().message();
  auto response = client.Request("GET", "/healthz");
  ASSERT_TRUE(response) << client.error().message();
  EXPECT_EQ(response->body(), "ok");
}

TEST_F(ServerTest, ListensOnIpv6Loopback) {
  std::string address = Start("[::1]:0");
  if (address.empty()) return;  // Start has recorded the failure.
  EXPECT_THAT(address, StartsWith("[::1]:"));
  Client client("::1", PortOf(address));
  ASSERT_TRUE(client.Connected()) << client.error().message();
  auto response = client.Request("GET", "/metrics");
  ASSERT_TRUE(response) << client.error().message();
  EXPECT_EQ(response->body(), kMetrics);
}

TEST_F(ServerTest, ResolvesLocalhost) {
  std::string address = Start("localhost:0");
  // Resolved and bound: the address is the numeric one actually bound.
  EXPECT_TRUE(address.rfind("127.0.0.1:", 0) == 0 ||
              address.rfind("[::1]:", 0) == 0)
      << address;
  std::string host = address.rfind("[", 0) == 0 ? "::1" : "127.0.0.1";
  Client client(host, PortOf(address));
  ASSERT_TRUE(client.Connected()) << client.error().message();
  auto response = client.Request("GET", "/healthz");
  ASSERT_TRUE(response) << client.error().message();
  EXPECT_EQ(response->result_int(), 200u);
}

TEST_F(ServerTest, ServerErrorsReachTheClient) {
  Server failing(io_, fixtures::DaemonLikeRouter([]() -> std::string {
                   throw std::runtime_error("boom");
                 }),
                 logger_);
  Result<std::string> bound = failing.Listen("127.0.0.1:0");
  ASSERT_TRUE(bound.has_value()) << bound.error().message;
  Start();
  Client client("127.0.0.1", PortOf(*bound));
  ASSERT_TRUE(client.Connected());
  auto response = client.Request("GET", "/metrics");
  ASSERT_TRUE(response) << client.error().message();
  EXPECT_EQ(response->result_int(), 500u);
  EXPECT_THAT(response->body(), HasSubstr("boom"));
  // The connection survives a 500 (no health callback: always healthy).
  auto again = client.Request("GET", "/healthz");
  ASSERT_TRUE(again) << client.error().message();
  EXPECT_EQ(again->result_int(), 200u);
}

}  // namespace
}  // namespace leakwatch::web
