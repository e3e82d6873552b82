// The sampling loop's state: every watched container's reader, history and
// leak estimator. Each pass publishes what it saw as a Snapshot
// (snapshot.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "config/config.h"
#include "estimator/estimator.h"
#include "exporter/detail/filter.h"
#include "exporter/detail/metadata.h"
#include "exporter/detail/snapshot.h"
#include "store/store.h"

namespace leakwatch::log {
class Logger;
}

namespace leakwatch::exporter::detail {

// What a configuration reload may change in the sampler.
struct SamplerSettings {
  std::chrono::milliseconds interval{5000};
  // The leak windows, labels as written; with the interval they set the
  // store geometry.
  std::vector<config::Window> windows;
  // Which containers are watched; null watches every one.
  std::shared_ptr<const ContainerFilter> filter;
  // containers.labels, handed on to snapshots.
  std::vector<std::string> label_keys;
  // The leak estimator's thresholds (leak.healthy-growth, ...).
  estimator::Params leak_params;
  // MemTotal, the limit a container without a cgroup limit runs into; NaN
  // when unknown. Read once at startup (--path.procfs), so the daemon sets
  // it on every settings object it hands over.
  double host_memory_bytes = estimator::kUnknown;
  // Attribution by process: how often each container's processes are
  // read (at least every 1/8 of the shortest window), through which
  // procfs, and whether its PIDs are the host's (the daemon checks once
  // at startup and sets it on every settings object, as host memory).
  std::chrono::milliseconds process_interval{30000};
  std::filesystem::path procfs = "/proc";
  bool processes_visible = false;
};

// Thread-safety: none, except Submit. Owned and driven by the sampling
// thread; others see its results only through the snapshots it returns.
class Sampler {
 public:
  // metadata may be null (--docker.host none): containers then carry only
  // their IDs.
  Sampler(cgroup::Layout layout, store::Geometry geometry, WallClock clock,
          log::Logger& logger, const MetadataSource* metadata = nullptr);

  // Discovers containers, reads every one, appends to their histories and
  // returns the pass's snapshot. Never throws; a vanished container ends
  // its series, a broken file keeps the container's last good sample.
  std::shared_ptr<const Snapshot> RunPass();

  // A watched container's history, or nullptr. Sampling thread only.
  const store::History* HistoryOf(const std::string& id) const;
  std::size_t size() const { return containers_.size(); }

  // Applies new settings, on the sampling thread, between passes: the one
  // place a reload reaches the sampler's state. Containers the filter now
  // excludes are dropped with their history; every kept container's
  // History is re-sized to the new geometry, keeping each sample still
  // inside the new spans with its timestamp and value. Each kept
  // container's leak estimator keeps the state of every window still
  // listed, and new thresholds (leak_params) apply without losing it.
  void Reconfigure(const SamplerSettings& settings);

  // Hands settings over from any thread: the next RunPass applies them
  // through Reconfigure before it samples. The newest submission wins.
  void Submit(SamplerSettings settings);

  // The sample interval in force (the geometry's).
  std::chrono::milliseconds interval() const {
    return std::chrono::milliseconds(geometry_.interval_ms);
  }

 private:
  struct Watched {
    cgroup::Container container;
    std::optional<cgroup::ContainerReader> reader;
    // Never null; shared with the snapshots that show this container.
    std::shared_ptr<SharedHistory> history;
    // Fed in Record, beside the history; built in NewWatched.
    estimator::Estimator estimator{
        std::span<const std::chrono::milliseconds>{}};
    // Its largest processes' trends, fed every process interval.
    estimator::ProcessTrends processes{
        std::span<const std::chrono::milliseconds>{}};
    store::Millis next_process_read_ms = 0;
    std::optional<cgroup::Sample> last;
    double first_seen_seconds = 0;
    bool reported_error = false;
    // Still listed by discovery but its files read as gone (a dying cgroup,
    // or a `docker restart` between rmdir and mkdir): its series are ended
    // and it is retried quietly each pass until it reads again or leaves
    // the listing.
    bool vanished = false;
    // Sampled through the runtime's stats endpoint (MetadataSource::
    // FallbackSample): discovery does not find its cgroup, or cannot read
    // it.
    bool stats_fallback = false;
  };

  // A newly watched container, its history and estimator sized to the
  // settings in force.
  Watched NewWatched(cgroup::Container container, double now) const;
  // Opens (if needed) and reads one container; false when it vanished.
  bool Sample(Watched& w, store::Millis t_ms);
  // Keeps a good reading: the snapshot's latest sample, the history and
  // the leak estimator.
  void Record(Watched& w, const cgroup::Sample& sample, store::Millis t_ms);
  // Reads the container's processes when the process interval is up.
  void ReadProcesses(Watched& w, store::Millis t_ms);
  // The verdicts scrapes export, each suspected one with what leaks.
  std::vector<LeakVerdict> LeakVerdicts(const Watched& w) const;

  void Reconcile(const std::vector<cgroup::Container>& found, double now);
  // Adds what the runtime runs and discovery missed twice in a row; drops
  // such containers once the runtime no longer lists them.
  void ReconcileFallback(double now);
  bool SampleFallback(Watched& w, store::Millis t_ms);

  // Whether the filter lets a container in, by its runtime name or its id.
  bool Selected(const std::string& id) const;

  cgroup::Layout layout_;
  store::Geometry geometry_;
  WallClock clock_;
  log::Logger& logger_;
  const MetadataSource* metadata_;
  std::map<std::string, Watched> containers_;
  std::vector<char> scratch_;
  std::uint64_t passes_ = 0;
  bool discovery_failing_ = false;
  std::shared_ptr<const ContainerFilter> filter_;
  std::shared_ptr<const std::vector<std::string>> label_keys_ =
      std::make_shared<const std::vector<std::string>>();
  std::vector<config::Window> windows_;
  std::vector<std::chrono::milliseconds> window_durations_;
  std::shared_ptr<const std::vector<std::string>> window_labels_ =
      std::make_shared<const std::vector<std::string>>();
  std::shared_ptr<const std::vector<std::chrono::milliseconds>>
      window_durations_shared_ =
          std::make_shared<const std::vector<std::chrono::milliseconds>>();
  estimator::Params leak_params_;
  double host_memory_bytes_ = estimator::kUnknown;
  std::chrono::milliseconds process_interval_{30000};
  std::filesystem::path procfs_ = "/proc";
  bool processes_visible_ = false;
  // Scratch for reading processes, kept between reads.
  std::vector<estimator::ProcessObservation> process_scratch_;
  // Found but filtered out in the last pass, so each change is logged once.
  std::set<std::string> excluded_;
  // Running per the runtime but missing from cgroups in the last pass.
  std::set<std::string> missing_;
  // Settings submitted from another thread, applied at the next pass.
  std::mutex pending_mu_;
  std::optional<SamplerSettings> pending_;
};

}  // namespace leakwatch::exporter::detail
