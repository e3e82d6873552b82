// What the daemon serves over HTTP: the exposition, /healthz, the page at
// "/" and the JSON API, registered with the generic server's router
// (web/web.h).
#pragma once

#include <functional>
#include <string>

#include "web/web.h"

namespace leakwatch::exporter::detail {

// The daemon's handlers. The callbacks run on the HTTP thread while the
// sampling loop runs on its own, so they must be thread-safe; they read an
// immutable snapshot, so a scrape never waits for a sampling pass.
struct Routes {
  std::string telemetry_path = "/metrics";
  std::function<std::string()> metrics;  // the text exposition
  std::function<bool()> healthy;         // /healthz: 200 "ok" or 503
  std::string landing_page;              // HTML served at "/"
  // The Content-Security-Policy header sent with the page; none if empty.
  std::string landing_page_policy;
  // The JSON API: answers every request whose path starts with "/api/",
  // status codes included (exporter/detail/api.h). Unset: 404.
  web::Handler api;
};

// The telemetry path, /healthz, / and /api/...; 404 for any other path;
// 405 with Allow for a method other than GET or HEAD on a path but the
// API's. The exposition is gzipped whenever the client accepts it, the
// page and the API when they are a kilobyte or more. The telemetry path
// is the operator's choice and wins over the others, even under /api/.
web::Router MakeRouter(const Routes& routes);

}  // namespace leakwatch::exporter::detail
