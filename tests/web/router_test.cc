// The generic router: exact paths, prefixes, methods, HEAD, errors and
// compression, on handlers that know nothing of the daemon.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "web/detail/gzip.h"
#include "web/web.h"

namespace leakwatch::web {
namespace {

using ::testing::HasSubstr;

Handler Says(std::string body) {
  return [body](const Request&) { return TextResponse(200, body); };
}

Response Serve(const Router& router, std::string target,
               std::string method = "GET", std::string accept_encoding = "") {
  return router.Serve(Request{std::move(method), std::move(target),
                              std::move(accept_encoding)});
}

std::optional<std::string> Header(const Response& response,
                                  std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

TEST(Router, AnExactPathBeatsAPrefixAndTheLongestPrefixWins) {
  Router router;
  router.HandlePrefix("/a/", Says("prefix a"));
  router.HandlePrefix("/a/b/", Says("prefix a/b"));
  router.Handle("/a/b/c", Says("exact"));
  EXPECT_EQ(Serve(router, "/a/b/c").body, "exact");
  EXPECT_EQ(Serve(router, "/a/b/c/d").body, "prefix a/b");
  EXPECT_EQ(Serve(router, "/a/x").body, "prefix a");
  EXPECT_EQ(Serve(router, "/a").status, 404u);
  EXPECT_EQ(Serve(router, "/b").body, "404 page not found\n");
}

TEST(Router, ALaterRegistrationReplacesAnEarlierOne) {
  Router router;
  router.Handle("/x", Says("first"));
  router.Handle("/x", Says("second"));
  EXPECT_EQ(Serve(router, "/x").body, "second");
}

TEST(Router, RoutesByThePathAloneAndHandsTheQueryOn) {
  Router router;
  router.Handle("/x", [](const Request& request) {
    return TextResponse(200, request.target);
  });
  EXPECT_EQ(Serve(router, "/x?y=/z").body, "/x?y=/z");
  EXPECT_EQ(Serve(router, "/z?y=/x").status, 404u);
}

TEST(Router, OnlyGetAndHeadReachAHandlerUnlessItTakesEveryMethod) {
  Router router;
  int calls = 0;
  router.Handle("/strict", [&calls](const Request&) {
    ++calls;
    return TextResponse(200, "ok");
  });
  router.Handle(
      "/any",
      [](const Request& request) { return TextResponse(200, request.method); },
      {.get_and_head_only = false});
  Response refused = Serve(router, "/strict", "POST");
  EXPECT_EQ(refused.status, 405u);
  EXPECT_EQ(Header(refused, "Allow"), "GET, HEAD");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(Serve(router, "/any", "DELETE").body, "DELETE");
  // An unknown path is 404 whatever the method, with no Allow.
  Response unknown = Serve(router, "/nope", "POST");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(Header(unknown, "Allow"), std::nullopt);
}

TEST(Router, HeadGetsGetsLengthAndNoBody) {
  Router router;
  router.Handle("/x", Says("twelve bytes"));
  Response head = Serve(router, "/x", "HEAD");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(Header(head, "Content-Length"), "12");
  EXPECT_EQ(Header(Serve(router, "/x"), "Content-Length"), std::nullopt);
}

TEST(Router, AThrowingHandlerIsA500ThatNamesTheError) {
  Router router;
  router.Handle("/x", [](const Request&) -> Response {
    throw std::runtime_error("disk on fire");
  });
  router.Handle("/y", [](const Request&) -> Response { throw 7; });
  Response response = Serve(router, "/x");
  EXPECT_EQ(response.status, 500u);
  EXPECT_THAT(response.body, HasSubstr("disk on fire"));
  EXPECT_EQ(Serve(router, "/y").status, 500u);
}

TEST(Router, CompressesA200AtTheRoutesThreshold) {
  const std::string big(2000, 'x');
  Router router;
  router.Handle("/default", Says(big));
  router.Handle("/small", Says("tiny"));
  router.Handle("/always", Says("tiny"), {.gzip_min_bytes = 0});
  router.Handle("/never", Says(big), {.gzip_min_bytes = std::nullopt});
  router.Handle("/missing",
                [&big](const Request&) { return TextResponse(404, big); });
  auto encoding = [&router](const char* path) {
    return Header(Serve(router, path, "GET", "gzip"), "Content-Encoding");
  };
  EXPECT_EQ(encoding("/default"), "gzip");
  EXPECT_EQ(encoding("/small"), std::nullopt);
  EXPECT_EQ(encoding("/always"), "gzip");
  EXPECT_EQ(encoding("/never"), std::nullopt);
  EXPECT_EQ(encoding("/missing"), std::nullopt);
  // Whichever encoding a compressible answer has, caches must key on it.
  EXPECT_EQ(Header(Serve(router, "/small"), "Vary"), "Accept-Encoding");
  EXPECT_EQ(Header(Serve(router, "/never"), "Vary"), std::nullopt);
  // Not asked for: plain.
  EXPECT_EQ(Serve(router, "/default").body, big);
}

TEST(Gzip, WritesTheGzipFormat) {
  const std::string out = detail::Gzip(std::string(5000, 'a'));
  ASSERT_GE(out.size(), 2u);
  // The gzip magic number (RFC 1952), not zlib's 0x78 header.
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x1fu);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 0x8bu);
  EXPECT_LT(out.size(), 5000u);
}

TEST(Gzip, ReadsAcceptEncodingWithItsWeightsAndWildcard) {
  EXPECT_TRUE(detail::AcceptsGzip("br;q=1.0, gzip ; q=0.8"));
  EXPECT_TRUE(detail::AcceptsGzip(" , gzip"));
  // An entry without weight takes none from the one before it.
  EXPECT_TRUE(detail::AcceptsGzip("x;q=0, gzip"));
  EXPECT_FALSE(detail::AcceptsGzip("gzip;q=0, *"));
  EXPECT_TRUE(detail::AcceptsGzip("*;q=0, gzip"));
  EXPECT_FALSE(detail::AcceptsGzip("x-gzip;q=0.0000"));
  EXPECT_FALSE(detail::AcceptsGzip("gzip;q=\"1\""));
}

}  // namespace
}  // namespace leakwatch::web
