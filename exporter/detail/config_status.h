// The outcome of the last configuration (re)load, as scrapes and /healthz
// read it.
#pragma once

#include <chrono>
#include <mutex>

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

}  // namespace leakwatch::exporter::detail
