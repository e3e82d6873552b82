// SnapshotBox and SamplingCurrent.

#include "exporter/detail/snapshot.h"

namespace leakwatch::exporter::detail {

void SnapshotBox::Publish(std::shared_ptr<const Snapshot> snapshot) {
  std::lock_guard lock(mu_);
  snapshot_ = std::move(snapshot);
}

std::shared_ptr<const Snapshot> SnapshotBox::Get() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

bool SamplingCurrent(const Snapshot& snapshot, double now_seconds,
                     std::chrono::milliseconds interval) {
  if (snapshot.passes == 0) return false;
  const double allowed = 2 * std::chrono::duration<double>(interval).count();
  return now_seconds - snapshot.pass_end_seconds <= allowed;
}

}  // namespace leakwatch::exporter::detail
