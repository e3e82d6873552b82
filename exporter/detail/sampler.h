// The sampling loop's state: every watched container's reader and history,
// and the immutable snapshot each pass publishes for scrapes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "exporter/detail/metadata.h"
#include "store/store.h"

namespace leakwatch::log {
class Logger;
}

namespace leakwatch::exporter::detail {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

// One container as the last pass saw it.
struct ContainerSnapshot {
  std::string id;
  std::string cgroup_path;
  cgroup::Sample sample;
  double first_seen_seconds = 0;  // Unix time leakwatch first saw it
  // What the runtime knows (name, image, labels); nullptr when nothing.
  std::shared_ptr<const ContainerMetadata> metadata;
};

// What one sampling pass produced. Immutable once published, so a scrape
// reads it without locking out the next pass.
struct Snapshot {
  std::vector<ContainerSnapshot> containers;  // sorted by id
  double pass_end_seconds = 0;                // Unix time the pass finished
  double pass_duration_seconds = 0;           // wall time of the pass
  std::uint64_t passes = 0;                   // passes finished so far
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

// Thread-safety: none. Owned and driven by the sampling thread; others see
// its results only through the snapshots it returns.
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

  // A watched container's history, or nullptr.
  const store::History* HistoryOf(const std::string& id) const;
  std::size_t size() const { return containers_.size(); }

 private:
  struct Watched {
    cgroup::Container container;
    std::optional<cgroup::ContainerReader> reader;
    store::History history;
    std::optional<cgroup::Sample> last;
    double first_seen_seconds = 0;
    bool reported_error = false;
    // Still listed by discovery but its files read as gone (a dying cgroup,
    // or a `docker restart` between rmdir and mkdir): its series are ended
    // and it is retried quietly each pass until it reads again or leaves
    // the listing.
    bool vanished = false;
  };

  // Opens (if needed) and reads one container; false when it vanished.
  bool Sample(Watched& w, store::Millis t_ms);

  void Reconcile(const std::vector<cgroup::Container>& found, double now);

  cgroup::Layout layout_;
  store::Geometry geometry_;
  WallClock clock_;
  log::Logger& logger_;
  const MetadataSource* metadata_;
  std::map<std::string, Watched> containers_;
  std::vector<char> scratch_;
  std::uint64_t passes_ = 0;
  bool discovery_failing_ = false;
};

}  // namespace leakwatch::exporter::detail
