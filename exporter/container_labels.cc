#include "exporter/detail/container_labels.h"

#include "log/log.h"

namespace leakwatch::exporter::detail {

std::string SanitizeLabelName(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_';
    if (!ok) c = '_';
  }
  return out;
}

LabelAllowList::LabelAllowList(const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    const std::string name = "container_label_" + SanitizeLabelName(key);
    bool taken = false;
    for (const auto& [k, n] : keys_) {
      if (n != name) continue;
      taken = true;
      // The same key twice is a repetition, not a collision.
      if (k != key) collisions_.push_back(Collision{key, k, name});
      break;
    }
    if (!taken) keys_.emplace_back(key, name);
  }
}

void LabelAllowList::Apply(
    const std::map<std::string, std::string>& labels,
    std::vector<prometheus::ClientMetric::Label>& out) const {
  for (const auto& [key, name] : keys_) {
    auto it = labels.find(key);
    if (it != labels.end()) out.push_back({name, it->second});
  }
}

void LogLabelCollisions(const LabelAllowList& allow_list, log::Logger& logger) {
  for (const auto& c : allow_list.collisions()) {
    logger.Warn("Container label keys collide; the first listed is exported",
                {{"label", c.name}, {"kept", c.kept}, {"dropped", c.dropped}});
  }
}

void AppendMetadataLabels(const ContainerMetadata& metadata,
                          const LabelAllowList& allow_list,
                          std::vector<prometheus::ClientMetric::Label>& out) {
  // An empty value is the same as no label to Prometheus; leaving it out
  // keeps the exposition honest about what is unknown.
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string&>{"name", metadata.name},
        {"image", metadata.image},
        {"compose_project", metadata.compose_project},
        {"compose_service", metadata.compose_service}}) {
    if (!value.empty()) out.push_back({name, value});
  }
  allow_list.Apply(metadata.labels, out);
}

}  // namespace leakwatch::exporter::detail
