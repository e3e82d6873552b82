// The HTTP layer (http.cc) against a scripted fake daemon
// (tests/docker/fake_docker.h): replies recorded from a real one, and the
// hostile replies a real daemon will not give on demand.
#include "docker-api/detail/http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "docker-api/docker.h"
#include "tests/docker/fake_docker.h"

namespace leakwatch::docker {
namespace {

using testing::FakeDocker;
using ::testing::HasSubstr;
using testing::JsonReply;
using testing::ReadFixture;
using testing::Reply;
using namespace std::chrono_literals;

Result<detail::Response> RunGet(const std::string& host,
                                const std::string& target,
                                std::chrono::milliseconds timeout = 2s,
                                std::size_t max_body = 1 << 20) {
  boost::asio::io_context io;
  Result<detail::Response> out = MakeError(ErrorCode::kIo, "not run");
  auto endpoint = *ParseHost(host);
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        out = co_await detail::Get(endpoint, target, timeout, max_body);
      },
      boost::asio::detached);
  io.run();
  return out;
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

TEST(DockerHttp, ReadsAContentLengthReplyAndItsApiVersion) {
  FakeDocker fake(
      [](const std::string&) { return Reply{ReadFixture("ping.http")}; });
  auto r = RunGet(fake.host(), "/_ping");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "OK");
  EXPECT_EQ(r->api_version, "1.41");
  ASSERT_EQ(fake.requests().size(), 1u);
  EXPECT_EQ(fake.requests()[0], "GET /_ping HTTP/1.1");
}

TEST(DockerHttp, ReadsAChunkedReply) {
  const std::string body = ReadFixture("inspect_web.json");
  std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t i = 0; i < body.size(); i += 1000) {
    const std::string piece = body.substr(i, 1000);
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", piece.size());
    chunked += std::string(size) + "\r\n" + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  FakeDocker fake([&](const std::string&) { return Reply{chunked}; });
  auto r = RunGet(fake.host(), "/v1.41/containers/x/json");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->body, body);
}

TEST(DockerHttp, TruncatedChunkedBodyIsAnError) {
  FakeDocker fake([](const std::string&) {
    return Reply{
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "40\r\n[{\"Id\":\"0123456789abcdef"};  // then EOF mid-chunk
  });
  auto r = RunGet(fake.host(), "/v1.41/containers/json");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message, HasSubstr("/v1.41/containers/json"));
}

TEST(DockerHttp, ASilentServerTimesOut) {
  FakeDocker fake([](const std::string&) { return Reply{"", true}; });
  const auto start = std::chrono::steady_clock::now();
  auto r = RunGet(fake.host(), "/_ping", 300ms);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message, HasSubstr("timed out"));
  EXPECT_LT(SecondsSince(start), 2.0);
}

TEST(DockerHttp, ASlowEndlessBodyHitsTheDeadline) {
  // Headers, then a body that never ends: the deadline covers the whole
  // exchange, not each read.
  FakeDocker fake([](const std::string&) {
    Reply r{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"};
    r.endless = true;
    r.filler = "1\r\nx\r\n";
    return r;
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = RunGet(fake.host(), "/v1.41/info", 500ms, 1u << 30);
  ASSERT_FALSE(r.has_value());
  EXPECT_LT(SecondsSince(start), 3.0);
}

TEST(DockerHttp, AnEndlessBodyIsCutAtTheCap) {
  FakeDocker fake([](const std::string&) {
    Reply r{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n["};
    r.endless = true;  // close-delimited, never closed
    return r;
  });
  auto r = RunGet(fake.host(), "/v1.41/containers/json", 5s, 64 * 1024);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
  EXPECT_THAT(r.error().message, HasSubstr("size cap"));
}

TEST(DockerHttp, ServerErrorsCarryDockersMessage) {
  FakeDocker fake([](const std::string&) {
    return Reply{JsonReply(R"({"message":"daemon on fire"})", 500)};
  });
  auto r = RunGet(fake.host(), "/v1.41/containers/json");
  ASSERT_TRUE(r.has_value());
  auto ok = detail::CheckStatus(*r, "/v1.41/containers/json");
  ASSERT_FALSE(ok.has_value());
  EXPECT_EQ(ok.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(ok.error().message, HasSubstr("HTTP 500: daemon on fire"));
  auto missing = detail::CheckStatus(
      detail::Response{404, R"({"message":"No such container"})", ""}, "/x");
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(DockerHttp, GarbageInsteadOfHttpIsAnError) {
  FakeDocker fake(
      [](const std::string&) { return Reply{"SSH-2.0-OpenSSH_9.2\r\n\r\n"}; });
  auto r = RunGet(fake.host(), "/_ping");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
}

TEST(DockerHttp, NoSocketIsUnavailable) {
  auto r = RunGet("unix:///nonexistent/leakwatch/docker.sock", "/_ping");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message, HasSubstr("connect"));
}

}  // namespace
}  // namespace leakwatch::docker
