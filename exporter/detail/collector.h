// prometheus-cpp collectables that turn the sampler's snapshot and the
// process' own statistics into metric families.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/detail/sampler.h"

namespace leakwatch::exporter::detail {

// What scrapes read of the configuration that a reload (SIGHUP, on the
// I/O thread) changes: the sample interval leakwatch_up and /healthz judge
// by, and the outcome of the last (re)load, exported as
// leakwatch_config_last_reload_successful and
// leakwatch_config_last_reload_success_timestamp_seconds.
//
// Thread-safety: every method may be called from any thread.
class ConfigStatus {
 public:
  // The configuration loaded at startup counts as a successful load.
  ConfigStatus(std::chrono::milliseconds interval, double loaded_at_seconds)
      : interval_(interval), success_seconds_(loaded_at_seconds) {}

  void ReloadSucceeded(std::chrono::milliseconds interval, double now_seconds) {
    std::lock_guard lock(mu_);
    interval_ = interval;
    successful_ = true;
    success_seconds_ = now_seconds;
  }
  // The old configuration stays in force: the interval does not change.
  void ReloadFailed() {
    std::lock_guard lock(mu_);
    successful_ = false;
  }

  std::chrono::milliseconds sample_interval() const {
    std::lock_guard lock(mu_);
    return interval_;
  }
  bool last_reload_successful() const {
    std::lock_guard lock(mu_);
    return successful_;
  }
  double last_reload_success_seconds() const {
    std::lock_guard lock(mu_);
    return success_seconds_;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::milliseconds interval_;
  bool successful_ = true;
  double success_seconds_;
};

// Facts about the exporter: fixed ones, and the live configuration status.
struct ExporterInfo {
  std::string version;
  std::string revision;
  std::shared_ptr<const ConfigStatus> config =
      std::make_shared<ConfigStatus>(std::chrono::seconds(5), 0.0);
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
