// The daemon's paths on the router (MakeRouter), without sockets.

#include "exporter/detail/routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <climits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace leakwatch::exporter::detail {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kExposition =
    "# HELP leakwatch_up Whether the last sampling pass is current.\n"
    "# TYPE leakwatch_up gauge\n"
    "leakwatch_up 1\n";

Routes TestRoutes() {
  Routes routes;
  routes.telemetry_path = "/metrics";
  routes.metrics = [] {
    // Repeated so that gzip has something to gain.
    std::string text;
    for (int i = 0; i < 50; ++i) text += kExposition;
    return text;
  };
  routes.healthy = [] { return true; };
  routes.landing_page = "<html><body>leakwatch</body></html>";
  return routes;
}

web::Response Get(std::string target, const Routes& routes,
                  std::string accept_encoding = "",
                  std::string method = "GET") {
  return MakeRouter(routes).Serve(web::Request{
      std::move(method), std::move(target), std::move(accept_encoding)});
}

std::optional<std::string> Header(const web::Response& response,
                                  std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

// Decodes a gzip member with zlib (windowBits 15 + 16: gzip framing only,
// so a zlib- or raw-deflate body would fail here).
std::optional<std::string> Gunzip(const std::string& compressed) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return std::nullopt;
  stream.next_in =
      reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char chunk[4096];
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    rc = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - stream.avail_out);
  }
  inflateEnd(&stream);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

TEST(Routes, ServesMetricsAsTextExposition) {
  Routes routes = TestRoutes();
  web::Response response = Get("/metrics", routes);
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response.body, routes.metrics());
  EXPECT_EQ(Header(response, "Content-Encoding"), std::nullopt);
  EXPECT_EQ(Header(response, "Vary"), "Accept-Encoding");
}

TEST(Routes, ServesMetricsOnAConfiguredTelemetryPath) {
  Routes routes = TestRoutes();
  routes.telemetry_path = "/custom/path";
  EXPECT_EQ(Get("/custom/path", routes).status, 200u);
  EXPECT_EQ(Get("/custom/path", routes).body, routes.metrics());
  EXPECT_EQ(Get("/metrics", routes).status, 404u);
}

TEST(Routes, GzipsMetricsWhenTheClientAcceptsGzip) {
  Routes routes = TestRoutes();
  web::Response response = Get("/metrics", routes, "gzip");
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(Header(response, "Content-Encoding"), "gzip");
  EXPECT_EQ(Header(response, "Vary"), "Accept-Encoding");
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  ASSERT_GE(response.body.size(), 2u);
  // The gzip magic number (RFC 1952), not zlib's 0x78 header.
  EXPECT_EQ(static_cast<unsigned char>(response.body[0]), 0x1fu);
  EXPECT_EQ(static_cast<unsigned char>(response.body[1]), 0x8bu);
  EXPECT_LT(response.body.size(), routes.metrics().size());
  EXPECT_EQ(Gunzip(response.body), routes.metrics());
}

TEST(Routes, GzipsAnEmptyExposition) {
  Routes routes = TestRoutes();
  routes.metrics = [] { return std::string(); };
  web::Response response = Get("/metrics", routes, "gzip");
  EXPECT_EQ(Header(response, "Content-Encoding"), "gzip");
  EXPECT_EQ(Gunzip(response.body), "");
}

TEST(Routes, ParsesAcceptEncodingLists) {
  Routes routes = TestRoutes();
  struct Case {
    std::string header;
    bool gzip;
  };
  const Case cases[] = {
      {"gzip", true},
      {"GZIP", true},
      {"x-gzip", true},
      {"deflate, gzip;q=1.0, *;q=0.5", true},
      {"br;q=1.0, gzip ; q=0.8", true},
      {"gzip;q=0.001", true},
      {"*", true},
      {"identity, *;q=0.1", true},
      {"", false},
      {"identity", false},
      {"deflate, br", false},
      {"gzip;q=0", false},
      {"gzip;q=0.000", false},
      {"gzip; q=0, *", false},  // the explicit refusal beats the wildcard
      {"*;q=0", false},
      {"*;q=0, gzip", true},  // the explicit acceptance beats the wildcard
      {"gzip;q=bogus", false},
      {"gzipfoo", false},
      {"notgzip", false},
  };
  for (const Case& c : cases) {
    web::Response response = Get("/metrics", routes, c.header);
    EXPECT_EQ(Header(response, "Content-Encoding").has_value(), c.gzip)
        << "Accept-Encoding: " << c.header;
  }
}

TEST(Routes, HealthzIsOkWhileHealthy) {
  Routes routes = TestRoutes();
  web::Response response = Get("/healthz", routes);
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(response.body, "ok");
  EXPECT_THAT(response.content_type, StartsWith("text/plain"));
}

TEST(Routes, HealthzIs503WhenSamplingIsNotCurrent) {
  Routes routes = TestRoutes();
  routes.healthy = [] { return false; };
  web::Response response = Get("/healthz", routes);
  EXPECT_EQ(response.status, 503u);
  EXPECT_FALSE(response.body.empty());
  EXPECT_NE(response.body, "ok");
}

TEST(Routes, ServesTheLandingPageAsHtml) {
  Routes routes = TestRoutes();
  web::Response response = Get("/", routes);
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(response.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(response.body, routes.landing_page);
}

TEST(Routes, SendsThePagesSecurityPolicyWithIt) {
  Routes routes = TestRoutes();
  EXPECT_EQ(Header(Get("/", routes), "Content-Security-Policy"), std::nullopt);
  routes.landing_page_policy = "default-src 'none'";
  EXPECT_EQ(Header(Get("/", routes), "Content-Security-Policy"),
            "default-src 'none'");
  EXPECT_EQ(Header(Get("/metrics", routes), "Content-Security-Policy"),
            std::nullopt);
}

TEST(Routes, HandsEveryApiPathToTheApiWhateverTheMethod) {
  Routes routes = TestRoutes();
  std::vector<std::string> seen;
  routes.api = [&seen](const web::Request& request) {
    seen.push_back(request.method + " " + request.target);
    web::Response response;
    response.status = request.target == "/api/v1/x?y=1" ? 200 : 404;
    response.content_type = "application/json";
    response.body = "{}";
    return response;
  };
  EXPECT_EQ(Get("/api/v1/x?y=1", routes).status, 200u);
  EXPECT_EQ(Get("/api/other", routes, "", "POST").status, 404u);
  web::Response head = Get("/api/v1/x?y=1", routes, "", "HEAD");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(Header(head, "Content-Length"), "2");
  EXPECT_EQ(seen,
            (std::vector<std::string>{"GET /api/v1/x?y=1", "POST /api/other",
                                      "HEAD /api/v1/x?y=1"}));
  // Not the API's: "/api" itself and look-alikes.
  EXPECT_EQ(Get("/api", routes).status, 404u);
  EXPECT_EQ(Get("/apix/v1", routes).status, 404u);
  EXPECT_EQ(seen.size(), 3u);
}

TEST(Routes, ATelemetryPathUnderApiStillServesMetrics) {
  Routes routes = TestRoutes();
  routes.telemetry_path = "/api/metrics";
  routes.api = [](const web::Request&) {
    web::Response response;
    response.status = 404;
    return response;
  };
  EXPECT_EQ(Get("/api/metrics", routes).body, routes.metrics());
  EXPECT_EQ(Get("/api/v1/containers", routes).status, 404u);
}

TEST(Routes, WithoutAnApiItsPathsAre404) {
  Routes routes = TestRoutes();
  EXPECT_EQ(Get("/api/v1/containers", routes).status, 404u);
}

TEST(Routes, GzipsThePageAndTheApiWhenAccepted) {
  Routes routes = TestRoutes();
  routes.landing_page = "<html>" + std::string(4000, 'x') + "</html>";
  const std::string json = "[" + std::string(3000, '1') + "]";
  routes.api = [&json](const web::Request&) {
    web::Response response;
    response.content_type = "application/json";
    response.body = json;
    return response;
  };
  web::Response page = Get("/", routes, "gzip");
  EXPECT_EQ(Header(page, "Content-Encoding"), "gzip");
  EXPECT_EQ(Header(page, "Vary"), "Accept-Encoding");
  EXPECT_EQ(Gunzip(page.body), routes.landing_page);
  web::Response api = Get("/api/v1/containers", routes, "gzip");
  EXPECT_EQ(Header(api, "Content-Encoding"), "gzip");
  EXPECT_EQ(Gunzip(api.body), json);
  // Not asked for: plain.
  EXPECT_EQ(Get("/", routes).body, routes.landing_page);
  EXPECT_EQ(Header(Get("/", routes), "Content-Encoding"), std::nullopt);
  // A small body is not worth it.
  routes.landing_page = "<html></html>";
  EXPECT_EQ(Get("/", routes, "gzip").body, routes.landing_page);
}

TEST(Routes, UnknownPathIs404) {
  Routes routes = TestRoutes();
  for (const char* target :
       {"/nope", "/metrics/", "/metricsx", "/healthz/x", "", "*", "//"}) {
    web::Response response = Get(target, routes);
    EXPECT_EQ(response.status, 404u) << target;
    EXPECT_EQ(Header(response, "Allow"), std::nullopt) << target;
  }
  // An unknown path is 404 whatever the method.
  EXPECT_EQ(Get("/nope", routes, "", "POST").status, 404u);
}

TEST(Routes, IgnoresTheQueryStringForRouting) {
  Routes routes = TestRoutes();
  EXPECT_EQ(Get("/metrics?name[]=leakwatch_up", routes).body, routes.metrics());
  EXPECT_EQ(Get("/healthz?verbose=1", routes).body, "ok");
  EXPECT_EQ(Get("/?", routes).body, routes.landing_page);
  EXPECT_EQ(Get("/nope?x=/metrics", routes).status, 404u);
}

TEST(Routes, OtherMethodsOnKnownPathsAre405WithAllow) {
  Routes routes = TestRoutes();
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
    for (const char* target : {"/metrics", "/healthz", "/", "/metrics?x=1"}) {
      web::Response response = Get(target, routes, "", method);
      EXPECT_EQ(response.status, 405u) << method << " " << target;
      EXPECT_EQ(Header(response, "Allow"), "GET, HEAD")
          << method << " " << target;
    }
  }
}

TEST(Routes, HeadHasGetsHeadersAndNoBody) {
  Routes routes = TestRoutes();
  for (const char* encoding : {"", "gzip"}) {
    web::Response get = Get("/metrics", routes, encoding);
    web::Response head = Get("/metrics", routes, encoding, "HEAD");
    EXPECT_EQ(head.status, 200u);
    EXPECT_EQ(head.content_type, get.content_type);
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(Header(head, "Content-Length"), std::to_string(get.body.size()))
        << encoding;
    EXPECT_EQ(Header(head, "Content-Encoding"),
              Header(get, "Content-Encoding"));
    EXPECT_EQ(Header(head, "Vary"), Header(get, "Vary"));
  }
  web::Response head = Get("/", routes, "", "HEAD");
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(Header(head, "Content-Length"),
            std::to_string(routes.landing_page.size()));
  EXPECT_EQ(Get("/healthz", routes, "", "HEAD").status, 200u);
  EXPECT_EQ(Get("/nope", routes, "", "HEAD").status, 404u);
}

TEST(Routes, GetCarriesNoContentLengthOfItsOwn) {
  // The server derives Content-Length from the body; a second one from the
  // handler would make two.
  web::Response response = Get("/metrics", TestRoutes());
  EXPECT_EQ(Header(response, "Content-Length"), std::nullopt);
}

TEST(Routes, ThrowingMetricsCallbackIs500) {
  Routes routes = TestRoutes();
  routes.metrics = []() -> std::string {
    throw std::runtime_error("registry is gone");
  };
  web::Response response = Get("/metrics", routes, "gzip");
  EXPECT_EQ(response.status, 500u);
  EXPECT_THAT(response.body, HasSubstr("registry is gone"));
  EXPECT_EQ(Header(response, "Content-Encoding"), std::nullopt);
  routes.metrics = []() -> std::string { throw 42; };
  EXPECT_EQ(Get("/metrics", routes).status, 500u);
}

TEST(Routes, ThrowingHealthCallbackIs500) {
  Routes routes = TestRoutes();
  routes.healthy = []() -> bool { throw std::runtime_error("no clock"); };
  web::Response response = Get("/healthz", routes);
  EXPECT_EQ(response.status, 500u);
  EXPECT_THAT(response.body, HasSubstr("no clock"));
}

TEST(Routes, MissingMetricsCallbackIs500) {
  Routes routes = TestRoutes();
  routes.metrics = nullptr;
  EXPECT_EQ(Get("/metrics", routes).status, 500u);
}

}  // namespace
}  // namespace leakwatch::exporter::detail
