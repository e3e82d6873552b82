// The prometheus-cpp collectables behind /metrics, one per source, each in
// a file of its own: the containers (container_collector.cc), leakwatch's
// own gauges (exporter_collector.cc), the process (process_collector.cc)
// and Docker (docker_collector.cc); and Render, which writes them all.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "exporter/detail/config_status.h"
#include "exporter/detail/snapshot.h"

namespace leakwatch::exporter::detail {

class DockerMetadata;

// The per-container series of the newest snapshot: memory, CPU, and one
// leak verdict per window.
//
// Thread-safety: Collect may run on any thread; it reads the newest
// snapshot from the box and never blocks a sampling pass.
class ContainerCollector : public prometheus::Collectable {
 public:
  explicit ContainerCollector(const SnapshotBox& box) : box_(box) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const SnapshotBox& box_;
};

// Facts about the exporter: fixed ones, and the live configuration status.
struct ExporterInfo {
  std::string version;
  std::string revision;
  std::shared_ptr<const ConfigStatus> config =
      std::make_shared<ConfigStatus>(std::chrono::seconds(5), 0.0);
};

// leakwatch's own gauges: build info, whether sampling is current, how
// many containers it watches, the last pass's duration, the last reload.
//
// Thread-safety: Collect may run on any thread.
class ExporterCollector : public prometheus::Collectable {
 public:
  ExporterCollector(const SnapshotBox& box, ExporterInfo info, WallClock clock);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const SnapshotBox& box_;
  ExporterInfo info_;
  WallClock clock_;
};

// process_cpu_seconds_total, process_resident_memory_bytes, ... for the
// daemon itself. A failed read leaves the series out.
//
// Thread-safety: Collect may run on any thread.
class ProcessCollector : public prometheus::Collectable {
 public:
  explicit ProcessCollector(std::filesystem::path procfs,
                            std::string pid = "self");
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::filesystem::path procfs_;
  std::string pid_;
  long clock_ticks_;
  long page_size_;
};

// leakwatch_docker_up: 1 while the Docker inventory is current (synced,
// events stream open), else 0. Registered only when Docker is configured,
// so the series is absent with --docker.host none.
//
// Thread-safety: Collect may run on any thread.
class DockerCollector : public prometheus::Collectable {
 public:
  explicit DockerCollector(const DockerMetadata& metadata);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const DockerMetadata& metadata_;
};

// Collects from every collectable and writes the text exposition with
// families sorted by name and series by labels (prometheus-cpp keeps
// registration order otherwise), leaving out families without series.
std::string Render(
    const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables);

}  // namespace leakwatch::exporter::detail
