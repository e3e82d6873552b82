// The exporter-toolkit web config file: what it holds and how a bad one
// is reported.
#include "config/web_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace leakwatch::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kWeb = std::string(LEAKWATCH_FIXTURES_DIR) + "/config/web";

std::string Fixture(const std::string& name) { return kWeb + "/" + name; }

std::string ErrorOf(const std::string& name) {
  auto r = LoadWebConfig(Fixture(name));
  EXPECT_FALSE(r.has_value()) << name << " loaded";
  return r ? std::string() : r.error().message;
}

TEST(WebConfig, ReadsUsersOfEveryBcryptFlavour) {
  auto web = LoadWebConfig(Fixture("users.yml"));
  ASSERT_TRUE(web.has_value()) << web.error().message;
  EXPECT_FALSE(web->tls.has_value());
  ASSERT_EQ(web->users.size(), 3u);
  EXPECT_THAT(web->users.at("alice"), StartsWith("$2a$10$"));
  EXPECT_THAT(web->users.at("bob"), StartsWith("$2b$10$"));
  EXPECT_THAT(web->users.at("carol"), StartsWith("$2y$10$"));
}

TEST(WebConfig, ReadsEveryTlsKeyAndResolvesPathsAgainstItsDirectory) {
  auto web = LoadWebConfig(Fixture("tls_full.yml"));
  ASSERT_TRUE(web.has_value()) << web.error().message;
  ASSERT_TRUE(web->tls.has_value());
  const TlsServerConfig& tls = *web->tls;
  EXPECT_EQ(tls.cert_file, kWeb + "/tls/server.crt");
  EXPECT_EQ(tls.key_file, "/abs/server.key");
  EXPECT_EQ(tls.client_ca_file, kWeb + "/tls/ca.crt");
  EXPECT_EQ(tls.client_auth, ClientAuth::kRequireAndVerify);
  EXPECT_EQ(tls.min_version, TlsVersion::kTls13);
  EXPECT_EQ(tls.max_version, TlsVersion::kTls13);
  EXPECT_EQ(
      tls.cipher_suites,
      (std::vector<std::string>{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}));
  EXPECT_EQ(tls.curve_preferences,
            (std::vector<std::string>{"X25519", "CurveP256"}));
  EXPECT_FALSE(tls.prefer_server_cipher_suites);
  EXPECT_EQ(tls.client_allowed_sans,
            (std::vector<std::string>{"scraper.example"}));
  ASSERT_EQ(web->headers.size(), 2u);
  EXPECT_EQ(web->Where("tls_server_config.cert_file"),
            Fixture("tls_full.yml") + ":2:14");
}

TEST(WebConfig, TlsDefaultsToTls12AsExporterToolkitDoes) {
  auto web = LoadWebConfig(Fixture("tls_minimal.yml"));
  ASSERT_TRUE(web.has_value()) << web.error().message;
  ASSERT_TRUE(web->tls.has_value());
  EXPECT_EQ(web->tls->min_version, TlsVersion::kTls12);
  EXPECT_EQ(web->tls->max_version, TlsVersion::kTls13);
  EXPECT_EQ(web->tls->client_auth, ClientAuth::kNone);
  EXPECT_TRUE(web->users.empty());
}

TEST(WebConfig, APlaintextPasswordIsRefusedWithoutEchoingIt) {
  std::string e = ErrorOf("plaintext_password.yml");
  EXPECT_THAT(e, StartsWith(Fixture("plaintext_password.yml") + ":2:10: "));
  EXPECT_THAT(e, HasSubstr("basic_auth_users.alice: not a bcrypt hash"));
  EXPECT_THAT(e, Not(HasSubstr("hunter2")));
}

TEST(WebConfig, UnknownKeysGetAHint) {
  std::string e = ErrorOf("unknown_key.yml");
  EXPECT_THAT(e, StartsWith(Fixture("unknown_key.yml") + ":3:3: "));
  EXPECT_THAT(e, HasSubstr("did you mean \"key_file\"?"));
}

TEST(WebConfig, ToolkitRulesAreChecked) {
  EXPECT_THAT(ErrorOf("missing_key.yml"),
              HasSubstr("missing one of key or key_file"));
  std::string version = ErrorOf("bad_version.yml");
  EXPECT_THAT(version, StartsWith(Fixture("bad_version.yml") + ":4:16: "));
  EXPECT_THAT(version,
              HasSubstr("unknown value \"TLSv1.2\" (did you mean \"TLS12\"?)"));
  EXPECT_THAT(ErrorOf("ca_without_auth.yml"),
              HasSubstr("client CA is configured without a client auth"));
  EXPECT_THAT(ErrorOf("users_list.yml"),
              HasSubstr("basic_auth_users: expected a mapping of user names"));
  std::string header = ErrorOf("bad_header.yml");
  EXPECT_THAT(header, StartsWith(Fixture("bad_header.yml") + ":3:5: "));
  EXPECT_THAT(header, HasSubstr("\"X-Powered-By\" cannot be configured"));
  EXPECT_THAT(ErrorOf("rate_limit.yml"), HasSubstr("rate limiting"));
}

TEST(WebConfig, AMissingFileNamesIt) {
  auto r = LoadWebConfig("/nonexistent/web.yml");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("/nonexistent/web.yml"));
}

TEST(WebConfig, RecognisesBcryptHashes) {
  EXPECT_TRUE(IsBcryptHash(
      "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"));
  EXPECT_TRUE(IsBcryptHash(
      "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
  // $2x$ (the buggy pre-2011 flavour), a cost out of range, a short hash,
  // an MD5 crypt hash.
  EXPECT_FALSE(IsBcryptHash(
      "$2x$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"));
  EXPECT_FALSE(IsBcryptHash(
      "$2y$03$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"));
  EXPECT_FALSE(IsBcryptHash("$2y$10$QOauhQNbBCuQDKes6eFzPe"));
  EXPECT_FALSE(IsBcryptHash("$1$abcdefgh$abcdefghijklmnopqrstuv"));
}

}  // namespace
}  // namespace leakwatch::config
