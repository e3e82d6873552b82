// ParseListenAddress: the address forms exporters take.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "web/web.h"

namespace leakwatch::web {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ParseListenAddress, AcceptsExporterStyleAddresses) {
  struct Case {
    std::string text;
    std::string host;
    unsigned short port;
  };
  const Case cases[] = {
      {":9702", "", 9702},
      {"127.0.0.1:0", "127.0.0.1", 0},
      {"[::1]:9702", "::1", 9702},
      {"[::]:65535", "::", 65535},
      {"localhost:9702", "localhost", 9702},
      {"0.0.0.0:80", "0.0.0.0", 80},
      {"[fe80::1%eth0]:9702", "fe80::1%eth0", 9702},
  };
  for (const Case& c : cases) {
    Result<ListenAddress> parsed = ParseListenAddress(c.text);
    ASSERT_TRUE(parsed.has_value()) << c.text << ": " << parsed.error().message;
    EXPECT_EQ(parsed->host, c.host) << c.text;
    EXPECT_EQ(parsed->port, c.port) << c.text;
  }
}

TEST(ParseListenAddress, RejectsMalformedAddressesQuotingThem) {
  struct Case {
    std::string text;
    std::string why;
  };
  const Case cases[] = {
      {"127.0.0.1", "missing port"},
      {"localhost", "missing port"},
      {"", "missing port"},
      {"127.0.0.1:", "missing port"},
      {"[::1]", "missing port"},
      {"[::1]:", "missing port"},
      {":65536", "out of range"},
      {"localhost:99999999999999999999", "out of range"},
      {":http", "not a number"},
      {":-1", "not a number"},
      {":+80", "not a number"},
      {":80a", "not a number"},
      {": 80", "not a number"},
      {"[::1:9702", "missing ']'"},
      {"[::1]9702", "after ']'"},
      {"::1:9702", "too many colons"},
      {"a]:80", "unexpected"},
  };
  for (const Case& c : cases) {
    Result<ListenAddress> parsed = ParseListenAddress(c.text);
    ASSERT_FALSE(parsed.has_value()) << c.text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalid) << c.text;
    EXPECT_THAT(parsed.error().message, HasSubstr("\"" + c.text + "\""));
    EXPECT_THAT(parsed.error().message, HasSubstr(c.why)) << c.text;
  }
}

}  // namespace
}  // namespace leakwatch::web
