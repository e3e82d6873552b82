// The sampling loop's state: every watched container's reader and history,
// and the immutable snapshot each pass publishes for scrapes.
#pragma once

#include <chrono>
#include <cstdint>
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
#include "store/store.h"

namespace leakwatch::log {
class Logger;
}

namespace leakwatch::exporter::detail {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

// One leak window's verdict, as scrapes export it.
struct LeakVerdict {
  // The window holds enough history to judge (estimator::Verdict::ready).
  // Until it does, slope, r², baseline and time to limit are not
  // exported.
  bool ready = false;
  bool suspected = false;
  double score = 0;
  double slope_bytes_per_second = 0;
  double r_squared = 0;
  std::optional<double> time_to_limit_seconds;
  // The fitted line's value at baseline_at_ms (Unix ms): with the slope,
  // the trend line the estimator judged.
  double baseline_bytes = 0;
  std::int64_t baseline_at_ms = 0;
};

// One container's history, written by the sampling thread and read by the
// JSON API's series endpoint (exporter/detail/api.h) on the HTTP thread.
// Snapshots carry it by pointer, so a reader finds the history of the
// container it saw, even one the sampler has dropped since.
//
// Thread-safety: the sampling thread, the only writer, calls Push and
// Resize, and may read owned() without the lock. Any thread may call Copy.
// The lock is held for one Push, or for one copy of the rings (at most
// Geometry::BytesPerContainer(), 23 KiB with the default windows), so a
// reader holds up a pass by microseconds and never sees half a sample.
class SharedHistory {
 public:
  explicit SharedHistory(const store::Geometry& geometry)
      : history_(geometry) {}

  bool Push(const store::Point& point) {
    std::lock_guard lock(mu_);
    return history_.Push(point);
  }
  void Resize(const store::Geometry& geometry) {
    std::lock_guard lock(mu_);
    history_.Resize(geometry);
  }
  // The sampling thread's own view; no lock, as nothing else writes.
  const store::History& owned() const { return history_; }
  // A consistent copy, for any thread.
  store::History Copy() const {
    std::lock_guard lock(mu_);
    return history_;
  }

 private:
  mutable std::mutex mu_;
  store::History history_;
};

// One container as the last pass saw it.
struct ContainerSnapshot {
  std::string id;
  std::string cgroup_path;
  cgroup::Sample sample;
  double first_seen_seconds = 0;  // Unix time leakwatch first saw it
  // What the runtime knows (name, image, labels); nullptr when nothing.
  std::shared_ptr<const ContainerMetadata> metadata;
  // One per leak window, in the order of Snapshot::window_labels.
  std::vector<LeakVerdict> leak;
  // The container's ring buffers, live: copy them (SharedHistory::Copy)
  // rather than hold the lock. Null in snapshots built without a sampler.
  std::shared_ptr<const SharedHistory> history;
};

// What one sampling pass produced. Immutable once published, so a scrape
// reads it without locking out the next pass.
struct Snapshot {
  std::vector<ContainerSnapshot> containers;  // sorted by id
  double pass_end_seconds = 0;                // Unix time the pass finished
  double pass_duration_seconds = 0;           // wall time of the pass
  std::uint64_t passes = 0;                   // passes finished so far
  // The label allow-list (containers.labels) in force for this pass:
  // container_label_<key> is exported for these keys. Carried here so a
  // reload reaches scrapes with the pass that applied it.
  std::shared_ptr<const std::vector<std::string>> label_keys =
      std::make_shared<const std::vector<std::string>>();
  // The leak windows' labels as written in the configuration, in the order
  // of ContainerSnapshot::leak; carried here for the same reason.
  std::shared_ptr<const std::vector<std::string>> window_labels =
      std::make_shared<const std::vector<std::string>>();
  // The same windows' lengths, in the same order.
  std::shared_ptr<const std::vector<std::chrono::milliseconds>>
      window_durations =
          std::make_shared<const std::vector<std::chrono::milliseconds>>();
  // The sample interval in force for this pass.
  std::chrono::milliseconds sample_interval{0};
};

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
};

// Hands the newest snapshot from the sampling thread to scrapes.
//
// Thread-safety: Publish and Get may be called from any thread.
class SnapshotBox {
 public:
  void Publish(std::shared_ptr<const Snapshot> snapshot);
  // Never null: an empty snapshot before the first pass.
  std::shared_ptr<const Snapshot> Get() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ = std::make_shared<Snapshot>();
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
  // Found but filtered out in the last pass, so each change is logged once.
  std::set<std::string> excluded_;
  // Running per the runtime but missing from cgroups in the last pass.
  std::set<std::string> missing_;
  // Settings submitted from another thread, applied at the next pass.
  std::mutex pending_mu_;
  std::optional<SamplerSettings> pending_;
};

}  // namespace leakwatch::exporter::detail
