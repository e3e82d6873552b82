// A router shaped like the daemon's, for the server's tests: a text
// exposition at /metrics (gzipped whenever the client accepts it),
// /healthz, and a page at "/".
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "web/web.h"

namespace leakwatch::web::fixtures {

inline Router DaemonLikeRouter(std::function<std::string()> metrics,
                               std::string page = "<html></html>") {
  Router router;
  router.Handle("/metrics",
                [metrics = std::move(metrics)](const Request&) {
                  Response response;
                  response.content_type =
                      "text/plain; version=0.0.4; charset=utf-8";
                  response.body = metrics();
                  return response;
                },
                {.gzip_min_bytes = 0});
  router.Handle("/healthz",
                [](const Request&) { return TextResponse(200, "ok"); },
                {.gzip_min_bytes = std::nullopt});
  router.Handle("/", [page = std::move(page)](const Request&) {
    Response response;
    response.content_type = "text/html; charset=utf-8";
    response.body = page;
    return response;
  });
  return router;
}

}  // namespace leakwatch::web::fixtures
