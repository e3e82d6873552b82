// Basic auth: bcrypt through libcrypt, the Authorization header, the
// verified-credentials cache, the dummy hash for unknown users; no sockets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/web_config.h"
#include "tests/web/auth_fixtures.h"
#include "web/security.h"

namespace leakwatch::web {
namespace {

using fixtures::CountingVerifier;
using fixtures::Header;
using fixtures::kAliceHash;

const std::string kWeb = std::string(LEAKWATCH_FIXTURES_DIR) + "/config/web";

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

TEST(BasicAuthHeader, TakesOnlyStrictBase64) {
  // "alice:pw" is YWxpY2U6cHc=; OpenSSL's decoder alone would accept each
  // of these variants, a credential must not.
  ASSERT_TRUE(ParseBasicAuth("Basic YWxpY2U6cHc="));
  EXPECT_EQ(ParseBasicAuth("Basic YWxpY2U6cHc=")->second, "pw");
  EXPECT_FALSE(ParseBasicAuth("Basic \tYWxpY2U6cHc="));
  EXPECT_FALSE(ParseBasicAuth("Basic YWxpY2U6cHc=\n"));
  EXPECT_FALSE(ParseBasicAuth("Basic YWxp=2U6cHc="));
  EXPECT_FALSE(ParseBasicAuth("Basic =WxpY2U6cHc="));
  EXPECT_FALSE(
      ParseBasicAuth("Basic YWxpY2U6cA=="
                     "YWxp"));  // data after padding
  EXPECT_FALSE(ParseBasicAuth("Basic YWxpY2U6c==="));
  EXPECT_FALSE(ParseBasicAuth("Basic YWxpY2U6cHc"));  // not whole quads
  // One and two padding characters are taken off the decoded bytes.
  EXPECT_EQ(ParseBasicAuth("Basic YTpi")->second, "b");
  EXPECT_EQ(ParseBasicAuth("Basic YTpiYw==")->second, "bc");
  EXPECT_EQ(ParseBasicAuth("Basic YTpiY2Q=")->second, "bcd");
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

}  // namespace
}  // namespace leakwatch::web
