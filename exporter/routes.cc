// MakeRouter: the daemon's paths on the generic router.

#include "exporter/detail/routes.h"

#include <exception>
#include <memory>
#include <string_view>

namespace leakwatch::exporter::detail {
namespace {

// The text exposition format's content type, as client_golang sends it.
constexpr std::string_view kMetricsContentType =
    "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kHtmlContentType = "text/html; charset=utf-8";

web::Response MetricsResponse(const Routes& routes) {
  if (!routes.metrics) {
    return web::TextResponse(500, "no metrics source configured\n");
  }
  web::Response response;
  try {
    response.body = routes.metrics();
  } catch (const std::exception& e) {
    return web::TextResponse(
        500, std::string("error gathering metrics: ") + e.what() + "\n");
  } catch (...) {
    return web::TextResponse(500,
                             "error gathering metrics: unknown exception\n");
  }
  response.content_type = kMetricsContentType;
  return response;
}

web::Response HealthResponse(const Routes& routes) {
  // No health callback means nothing can go stale.
  if (!routes.healthy || routes.healthy()) return web::TextResponse(200, "ok");
  return web::TextResponse(503, "unhealthy: sampling is not current\n");
}

web::Response PageResponse(const Routes& routes) {
  web::Response response;
  response.content_type = kHtmlContentType;
  response.body = routes.landing_page;
  if (!routes.landing_page_policy.empty()) {
    response.headers.emplace_back("Content-Security-Policy",
                                  routes.landing_page_policy);
  }
  // After an upgrade, a cached page's script would read the new daemon's
  // API; "no-cache" makes the browser fetch the page again each time.
  response.headers.emplace_back("Cache-Control", "no-cache");
  return response;
}

}  // namespace

web::Router MakeRouter(const Routes& routes) {
  // One copy of the handlers (and the page), shared by the paths.
  auto r = std::make_shared<const Routes>(routes);
  web::Router router;
  // /healthz answers no client that wants it compressed.
  router.Handle("/healthz",
                [r](const web::Request&) { return HealthResponse(*r); },
                {.gzip_min_bytes = std::nullopt});
  router.Handle("/", [r](const web::Request&) { return PageResponse(*r); });
  if (r->api) {
    // The API knows its own paths and methods, so it answers 404 and 405
    // itself, as JSON.
    router.HandlePrefix("/api/", r->api, {.get_and_head_only = false});
  }
  // Last, so that it replaces /healthz or / if the operator chose either.
  // Even a small exposition is gzipped: a scraper that asks for gzip
  // expects it.
  router.Handle(r->telemetry_path,
                [r](const web::Request&) { return MetricsResponse(*r); },
                {.gzip_min_bytes = 0});
  return router;
}

}  // namespace leakwatch::exporter::detail
