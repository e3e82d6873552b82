// The thread that runs the sampler: one pass per interval, published to the
// snapshot box.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "exporter/detail/sampler.h"
#include "exporter/detail/snapshot.h"

namespace leakwatch::exporter::detail {

// Runs sampling passes on its own thread, one per interval, so a slow
// scrape never delays a sample and a slow pass never blocks a scrape.
// Passes are paced on the steady clock.
//
// Thread-safety: Start and Stop on the owner's thread; Reconfigure from
// any thread.
class SamplingThread {
 public:
  SamplingThread(Sampler& sampler, SnapshotBox& box)
      : sampler_(sampler), box_(box) {}
  ~SamplingThread() { Stop(); }
  SamplingThread(const SamplingThread&) = delete;
  SamplingThread& operator=(const SamplingThread&) = delete;

  void Start();

  // A reload: the settings go through the sampler's slot, and the thread
  // wakes to apply them in a pass right away; the new interval counts
  // from that pass.
  void Reconfigure(SamplerSettings settings);

  // Ends the current pass's wait and joins the thread.
  void Stop();

 private:
  void Loop();

  Sampler& sampler_;
  SnapshotBox& box_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool wake_ = false;      // guarded by mu_
  std::thread thread_;
};

}  // namespace leakwatch::exporter::detail
