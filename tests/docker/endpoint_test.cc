// ParseHost (endpoint.cc): the DOCKER_HOST spellings the docker CLI takes.
#include <gtest/gtest.h>

#include "docker-api/docker.h"

namespace leakwatch::docker {
namespace {

TEST(DockerHost, ParsesUnixAndTcpAddresses) {
  auto unix_host = ParseHost("unix:///var/run/docker.sock");
  ASSERT_TRUE(unix_host.has_value());
  EXPECT_EQ(unix_host->kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(unix_host->path, "/var/run/docker.sock");
  EXPECT_EQ(unix_host->Describe(), "unix:///var/run/docker.sock");

  auto tcp = ParseHost("tcp://10.0.0.5:2376");
  ASSERT_TRUE(tcp.has_value());
  EXPECT_EQ(tcp->kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(tcp->host, "10.0.0.5");
  EXPECT_EQ(tcp->port, 2376);
  EXPECT_EQ(ParseHost("tcp://docker.local")->port, 2375);
  EXPECT_EQ(ParseHost("tcp://:2375")->host, "127.0.0.1");
  EXPECT_EQ(ParseHost("tcp://[::1]:2375")->host, "::1");
  EXPECT_EQ(ParseHost("tcp://[::1]:2375")->Describe(), "tcp://[::1]:2375");
  EXPECT_EQ(ParseHost("http://127.0.0.1:2375/")->port, 2375);

  for (const char* bad :
       {"/var/run/docker.sock", "ssh://me@host", "npipe:////./pipe/docker",
        "https://h:2376", "tcp://h:99999", "tcp://h:x", "unix://",
        "tcp://h:2375/v1.41"}) {
    auto r = ParseHost(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalid) << bad;
  }
}

}  // namespace
}  // namespace leakwatch::docker
