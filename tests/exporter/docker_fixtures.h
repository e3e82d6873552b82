// What the Docker side's tests share: a logger whose lines a test can
// read, and a container as Docker's watcher reports it.
#pragma once

#include <spdlog/sinks/ostream_sink.h>

#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "docker-api/docker.h"
#include "log/log.h"

namespace leakwatch::exporter::detail::fixtures {

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr double kNow = 1'800'000'000.0;

class Logged {
 protected:
  Logged()
      : logger_(log::Level::kDebug, log::Format::kLogfmt,
                std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)) {}
  std::string Log() const { return log_.str(); }
  int Count(const std::string& needle) const {
    const std::string text = log_.str();
    int n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }
  std::ostringstream log_;
  log::Logger logger_;
};

inline docker::Container Web(char fill = 'a') {
  docker::Container c;
  c.id = std::string(64, fill);
  c.name = "shop-web-1";
  c.image = "registry.example/shop/web:1.4";
  c.compose_project = "shop";
  c.compose_service = "web";
  c.labels = {{"com.docker.compose.project", "shop"},
              {"com.docker.compose.service", "web"},
              {"com.example.team", "payments"},
              {"com.example/team", "slash"},
              {"tier", "front"}};
  c.memory_limit_bytes = 512 * kMiB;
  c.started_at_seconds = kNow - 7200;
  c.state = "running";
  c.cgroup_path = "/docker/" + c.id;
  return c;
}

}  // namespace leakwatch::exporter::detail::fixtures
