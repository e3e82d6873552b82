// SamplingThread: the pacing of passes.

#include "exporter/detail/sampling_thread.h"

#include <chrono>
#include <utility>

namespace leakwatch::exporter::detail {

void SamplingThread::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void SamplingThread::Reconfigure(SamplerSettings settings) {
  sampler_.Submit(std::move(settings));
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void SamplingThread::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SamplingThread::Loop() {
  auto next = std::chrono::steady_clock::now() + sampler_.interval();
  while (true) {
    bool woken = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next, [this] { return stopping_ || wake_; });
      if (stopping_) return;
      woken = std::exchange(wake_, false);
    }
    // RunPass applies submitted settings first, so the interval is read
    // after it.
    box_.Publish(sampler_.RunPass());
    const auto interval = sampler_.interval();
    const auto now = std::chrono::steady_clock::now();
    if (woken) {
      next = now + interval;
      continue;
    }
    // A pass that overran skips the ticks it missed rather than running
    // back to back: samples stay evenly spaced.
    next += interval;
    while (next <= now) next += interval;
  }
}

}  // namespace leakwatch::exporter::detail
