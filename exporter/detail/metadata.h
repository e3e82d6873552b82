// What a container runtime (Docker, issue 5) knows about a container beyond
// its cgroup: the names people search by.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace leakwatch::exporter::detail {

// Thread-safety: immutable once published; shared by pointer.
struct ContainerMetadata {
  std::string name;             // without Docker's leading '/'
  std::string image;            // inspect's Config.Image
  std::string compose_project;  // com.docker.compose.project
  std::string compose_service;  // com.docker.compose.service
  // Every label the runtime reports; the collector exports only the
  // allow-listed ones.
  std::map<std::string, std::string> labels;
  std::optional<double> started_at_seconds;  // Unix time
};

// Looks up a container's metadata by its 64-hex ID; nullptr when the
// runtime does not know it (or is not configured, or is down and never
// knew it).
//
// Thread-safety: Lookup is called from the sampling thread while the
// source updates itself on another; implementations must be thread-safe.
class MetadataSource {
 public:
  virtual ~MetadataSource() = default;
  virtual std::shared_ptr<const ContainerMetadata> Lookup(
      std::string_view id) const = 0;
};

}  // namespace leakwatch::exporter::detail
