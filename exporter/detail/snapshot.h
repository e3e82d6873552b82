// What one sampling pass saw, as the sampling thread hands it to scrapes,
// the JSON API and /healthz: immutable snapshots, and the box that passes
// the newest one across threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "estimator/estimator.h"
#include "exporter/detail/metadata.h"
#include "store/store.h"

namespace leakwatch::exporter::detail {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

// One leak window's verdict, as scrapes export it.
struct LeakVerdict {
  // The window holds enough history to judge (estimator::Verdict::ready).
  // Until it does, slope, r², baseline and time to limit are not
  // exported.
  bool ready = false;
  // Its bucket minima are GC troughs (estimator::Verdict::troughs_seen): a
  // covered window whose quarters do not each hold a collection sees an
  // allocation ramp, not the baseline, and cannot judge.
  bool troughs_seen = false;
  bool suspected = false;
  double score = 0;
  double slope_bytes_per_second = 0;
  double r_squared = 0;
  std::optional<double> time_to_limit_seconds;
  // The fitted line's value at baseline_at_ms (Unix ms): with the slope,
  // the trend line the estimator judged.
  double baseline_bytes = 0;
  std::int64_t baseline_at_ms = 0;
  // What leaks, for a suspected window only: the leak kind whose baseline
  // grows fastest, every kind's growth (NaN where unknown), and the
  // process whose own memory accounts for it, when one does.
  std::optional<estimator::Kind> kind;
  estimator::KindValues kind_slopes = estimator::kUnknownKinds;
  std::optional<estimator::Attribution> process;

  // The window judges: it has its history and sees its troughs. While it
  // does not, its score is 0 and means "can't tell", not "fine".
  bool judges() const { return ready && troughs_seen; }
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

// True while the last pass finished within two intervals of now: what
// leakwatch_up, /healthz and the API call current.
bool SamplingCurrent(const Snapshot& snapshot, double now_seconds,
                     std::chrono::milliseconds interval);

}  // namespace leakwatch::exporter::detail
