// The labels a container's series carry beyond `id`: what the runtime knows
// (name, image, compose project and service) and the allow-listed container
// labels, as docs/interface.md names them.
#pragma once

#include <prometheus/client_metric.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/detail/metadata.h"

namespace leakwatch::log {
class Logger;
}

namespace leakwatch::exporter::detail {

// "com.example/team" -> "com_example_team": every character outside
// [a-zA-Z0-9_] becomes '_'.
std::string SanitizeLabelName(std::string_view key);

// The allow-list of container label keys (containers.labels), resolved to
// Prometheus label names once: container_label_<sanitized key>. Two keys
// that sanitize to the same name collide; the first listed wins.
//
// Thread-safety: immutable after construction.
class LabelAllowList {
 public:
  LabelAllowList() = default;
  explicit LabelAllowList(const std::vector<std::string>& keys);

  struct Collision {
    std::string dropped;  // the later key, not exported
    std::string kept;     // the earlier key that owns the name
    std::string name;     // the Prometheus label name both map to
  };
  const std::vector<Collision>& collisions() const { return collisions_; }

  // Appends (name, value) for each allow-listed key the container has.
  void Apply(const std::map<std::string, std::string>& labels,
             std::vector<prometheus::ClientMetric::Label>& out) const;

 private:
  std::vector<std::pair<std::string, std::string>> keys_;  // key, name
  std::vector<Collision> collisions_;
};

// Logs one warning per collision in an allow-list. Called where an
// allow-list is loaded (startup, reload), so each is logged once, not per
// scrape.
void LogLabelCollisions(const LabelAllowList& allow_list, log::Logger& logger);

// name, image, compose_project, compose_service (each left out when empty)
// and the allow-listed container_label_* of a container the runtime knows.
void AppendMetadataLabels(const ContainerMetadata& metadata,
                          const LabelAllowList& allow_list,
                          std::vector<prometheus::ClientMetric::Label>& out);

}  // namespace leakwatch::exporter::detail
