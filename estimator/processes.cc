// ProcessTrends: which of a container's processes a leak is in.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "estimator/detail/trend.h"
#include "estimator/estimator.h"

namespace leakwatch::estimator {
namespace {

constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// One bucket of a process's history in one window: the minima of its
// readings there (the troughs its collector leaves).
struct ProcessBucket {
  std::int64_t index = kNone;
  float anon = 0;
  float shmem = 0;
};

// One followed process.
struct Slot {
  bool used = false;
  std::int32_t pid = 0;
  std::string comm;
  double size = 0;  // anon + shmem at the last reading
  // Per window, a ring of kProcessBuckets buckets.
  std::vector<std::vector<ProcessBucket>> rings;
};

}  // namespace

struct ProcessTrends::State {
  std::vector<std::int64_t> window_ms;
  std::vector<std::int64_t> bucket_ms;
  std::vector<Slot> slots;
  std::int64_t last_t_ms = kNone;
  // Scratch for fits and for ranking, kept to avoid allocating per call.
  mutable std::vector<double> times, bytes, work;
  std::vector<const ProcessObservation*> ranked;

  void Reset(Slot& slot, const ProcessObservation& p) const {
    slot.used = true;
    slot.pid = p.pid;
    slot.comm = p.comm;
    slot.rings.assign(window_ms.size(),
                      std::vector<ProcessBucket>(kProcessBuckets));
  }

  void Record(Slot& slot, std::int64_t t_ms,
              const ProcessObservation& p) const {
    slot.size = p.anon + p.shmem;
    for (std::size_t w = 0; w < window_ms.size(); ++w) {
      const std::int64_t index = FloorDiv(t_ms, bucket_ms[w]);
      ProcessBucket& b =
          slot.rings[w][static_cast<std::size_t>(index % kProcessBuckets)];
      if (b.index != index) {
        b = ProcessBucket{index, static_cast<float>(p.anon),
                          static_cast<float>(p.shmem)};
      }
      b.anon = std::min(b.anon, static_cast<float>(p.anon));
      b.shmem = std::min(b.shmem, static_cast<float>(p.shmem));
    }
  }

  // The slot's slope of `kind` over window w, or NaN with too little
  // history: buckets reaching back at least half the window.
  double Slope(const Slot& slot, std::size_t w, Kind kind) const {
    times.clear();
    bytes.clear();
    const std::int64_t newest = FloorDiv(last_t_ms, bucket_ms[w]);
    std::int64_t oldest = newest;
    for (const ProcessBucket& b : slot.rings[w]) {
      if (b.index == kNone ||
          b.index <= newest - static_cast<std::int64_t>(kProcessBuckets)) {
        continue;
      }
      oldest = std::min(oldest, b.index);
      times.push_back((static_cast<double>(b.index) + 0.5) *
                      static_cast<double>(bucket_ms[w]) / 1000.0);
      bytes.push_back(kind == Kind::kAnon ? b.anon : b.shmem);
    }
    const bool half_window =
        (newest - oldest + 1) * 2 >= static_cast<std::int64_t>(kProcessBuckets);
    if (times.size() < 4 || !half_window) return kUnknown;
    return detail::MedianSlope(times, bytes, work);
  }
};

ProcessTrends::ProcessTrends(std::span<const std::chrono::milliseconds> windows,
                             std::size_t slots)
    : state_(std::make_unique<State>()) {
  state_->slots.resize(std::max<std::size_t>(1, slots));
  SetWindows(windows);
}

ProcessTrends::ProcessTrends(ProcessTrends&&) noexcept = default;
ProcessTrends& ProcessTrends::operator=(ProcessTrends&&) noexcept = default;
ProcessTrends::~ProcessTrends() = default;

void ProcessTrends::SetWindows(
    std::span<const std::chrono::milliseconds> windows) {
  State& s = *state_;
  s.window_ms.clear();
  s.bucket_ms.clear();
  for (auto w : windows) {
    const std::int64_t ms = std::max<std::int64_t>(1, w.count());
    s.window_ms.push_back(ms);
    s.bucket_ms.push_back(std::max<std::int64_t>(
        1, ms / static_cast<std::int64_t>(kProcessBuckets)));
  }
  Clear();
}

void ProcessTrends::Clear() {
  for (Slot& slot : state_->slots) slot = Slot{};
}

void ProcessTrends::Update(std::int64_t t_ms,
                           std::span<const ProcessObservation> processes) {
  State& s = *state_;
  if (s.last_t_ms != kNone && t_ms <= s.last_t_ms) return;
  s.last_t_ms = t_ms;
  // A followed process that is gone, or whose PID now runs another
  // command, ends its history.
  for (Slot& slot : s.slots) {
    if (!slot.used) continue;
    auto it = std::find_if(processes.begin(), processes.end(),
                           [&](const ProcessObservation& p) {
                             return p.pid == slot.pid && p.comm == slot.comm;
                           });
    if (it == processes.end()) slot = Slot{};
  }
  s.ranked.clear();
  for (const ProcessObservation& p : processes) s.ranked.push_back(&p);
  std::sort(s.ranked.begin(), s.ranked.end(),
            [](const ProcessObservation* a, const ProcessObservation* b) {
              return a->anon + a->shmem > b->anon + b->shmem;
            });
  const std::size_t top = std::min(s.ranked.size(), s.slots.size());
  for (std::size_t r = 0; r < s.ranked.size(); ++r) {
    const ProcessObservation& p = *s.ranked[r];
    auto followed = std::find_if(
        s.slots.begin(), s.slots.end(),
        [&](const Slot& slot) { return slot.used && slot.pid == p.pid; });
    if (followed != s.slots.end()) {
      s.Record(*followed, t_ms, p);
      continue;
    }
    if (r >= top) continue;
    // One of the largest, not followed yet: a free slot, else the slot of
    // the smallest followed process that is no longer among the largest.
    auto free = std::find_if(s.slots.begin(), s.slots.end(),
                             [](const Slot& slot) { return !slot.used; });
    if (free == s.slots.end()) {
      free = std::min_element(
          s.slots.begin(), s.slots.end(),
          [](const Slot& a, const Slot& b) { return a.size < b.size; });
      if (free->size >= p.anon + p.shmem) continue;
    }
    s.Reset(*free, p);
    s.Record(*free, t_ms, p);
  }
}

std::optional<Attribution> ProcessTrends::Attribute(
    std::size_t window, Kind kind, double container_slope) const {
  const State& s = *state_;
  if (window >= s.window_ms.size() || s.last_t_ms == kNone ||
      !(container_slope > 0) || (kind != Kind::kAnon && kind != Kind::kShmem)) {
    return std::nullopt;
  }
  std::optional<Attribution> best;
  for (const Slot& slot : s.slots) {
    if (!slot.used) continue;
    const double slope = s.Slope(slot, window, kind);
    if (!(slope >= kShareOfGrowth * container_slope)) continue;
    if (!best || slope > best->slope_bytes_per_second) {
      best = Attribution{slot.pid, slot.comm, slope};
    }
  }
  return best;
}

}  // namespace leakwatch::estimator
