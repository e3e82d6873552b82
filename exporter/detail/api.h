// The JSON API under /api/v1/ (docs/api.md): what the page at "/" draws,
// for anyone else who wants it too.
//
//   GET /api/v1/containers              every container, its memory and
//                                       its leak verdict per window
//   GET /api/v1/containers/{id}         one of them
//   GET /api/v1/containers/{id}/series  its ring buffers over one window
//       ?window=1h                      (default: the first configured
//                                       window), and the trend line the
//                                       estimator judged
//
// A plain function from request and snapshot to response, as the router's
// handlers are, so tests need no socket. nlohmann_json stays in api.cc.
#pragma once

#include "exporter/detail/snapshot.h"
#include "web/web.h"

namespace leakwatch::exporter::detail {

// Answers one request whose path starts with "/api/". Every answer is JSON:
// 200 with the data; 404 {"error": ...} for an unknown path or container
// id; 405 with Allow for a method other than GET or HEAD on a known path;
// 400 {"error": ...} for a query it cannot honour (an unknown parameter, a
// window that is not a duration or not configured).
//
// now_seconds (Unix time) judges whether sampling is current, as /healthz
// does; the browser's clock cannot, being another machine's.
//
// Thread-safety: reads the immutable snapshot and copies a container's
// history under its own short lock (SharedHistory::Copy); safe on any
// thread, never waits for a sampling pass.
web::Response ServeApi(const web::Request& request, const Snapshot& snapshot,
                       double now_seconds);

}  // namespace leakwatch::exporter::detail
