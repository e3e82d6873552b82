// prometheus-cpp collectables that turn the sampler's snapshot and the
// process' own statistics into metric families.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "exporter/detail/sampler.h"

namespace leakwatch::exporter::detail {

// Facts about the exporter that do not change between passes.
struct ExporterInfo {
  std::string version;
  std::string revision;
  std::chrono::milliseconds sample_interval{5000};
  bool config_reload_successful = true;
  double config_reload_success_seconds = 0;
};

// True while the last pass finished within two intervals of now.
bool SamplingCurrent(const Snapshot& snapshot, double now_seconds,
                     std::chrono::milliseconds interval);

// The per-container series and the exporter's own gauges.
//
// Thread-safety: Collect may run on any thread; it reads the newest
// snapshot from the box and never blocks a sampling pass.
class SnapshotCollector : public prometheus::Collectable {
 public:
  SnapshotCollector(const SnapshotBox& box, ExporterInfo info, WallClock clock);
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

// Collects from every collectable and writes the text exposition with
// families sorted by name and series by labels (prometheus-cpp keeps
// registration order otherwise), leaving out families without series.
std::string Render(
    const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables);

}  // namespace leakwatch::exporter::detail
