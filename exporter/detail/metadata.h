// What a container runtime (Docker) knows about a container beyond its
// cgroup: the names people search by.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cgroup/cgroup.h"

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
  // OOM kills the runtime reported (Docker's `oom` events) since leakwatch
  // has known the container; exported only where the kernel keeps no
  // counter. nullopt when the runtime does not count them.
  std::optional<std::uint64_t> oom_events;
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

  // Containers the runtime says are running, as (id, cgroup path), so the
  // sampler can find those cgroup discovery does not (rootless Docker,
  // Docker Desktop). None by default.
  virtual std::vector<std::pair<std::string, std::string>> Running() const {
    return {};
  }

  // The newest reading the runtime gave for a container whose cgroup is
  // not readable, and a request for the next one: never blocks, so a pass
  // uses the reading fetched since the last pass. nullopt until one has
  // arrived, or once it is stale.
  virtual std::optional<cgroup::Sample> FallbackSample(
      std::string_view /*id*/) const {
    return std::nullopt;
  }
};

}  // namespace leakwatch::exporter::detail
