#include "estimator/estimator.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "estimator/detail/evaluate.h"
#include "estimator/detail/kinds.h"
#include "estimator/detail/window.h"

namespace leakwatch::estimator {
namespace {

using detail::Bucket;
using detail::kNoBucket;
using detail::Window;

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// The memory that a leak fills and a garbage collector does not give back:
// where the samples say what memory is made of, every kind the kernel
// cannot reclaim (anonymous memory, shmem, kernel memory), so page cache
// (file-backed, reclaimable) never counts; else anonymous memory; else
// usage without cache; else the working set.
double Signal(const Observation& o, const KindValues& kinds) {
  if (detail::HasKinds(kinds)) return detail::LeakKindsSum(kinds);
  if (std::isfinite(o.rss)) return o.rss;
  if (std::isfinite(o.usage) && std::isfinite(o.cache)) {
    return std::max(0.0, o.usage - o.cache);
  }
  return o.working_set;
}

}  // namespace

double SignalOf(const Observation& observation) {
  return Signal(observation, KindsOf(observation));
}

struct Estimator::State {
  Params params;
  std::vector<Window> windows;
  std::vector<Verdict> verdicts;
  double limit = kUnknown;  // the latest known limit
  double peak = 0;          // the highest signal seen, the scale without one
  std::int64_t last_t_ms = kNoBucket;
  double last_x = kUnknown;  // the previous sample's signal
  // Where the current run of falling (or flat) samples began: a collection's
  // fall in the signal can span two samples (the kernel sees the pages freed as
  // the sweeper returns them), and is measured from there.
  double fall_top = kUnknown;
  std::uint64_t restarts = 0;
  // Out-of-memory cycles: restarts from the limit in a row, and when the
  // current cycle began (the first sample, or the last restart).
  int oom_cycles = 0;
  std::int64_t cycle_start_ms = kNoBucket;
  // Scratch for evaluations, kept to avoid allocating per bucket.
  detail::WindowMinima minima;

  const Window* Shortest() const { return detail::Shortest(windows); }

  Window MakeWindow(std::chrono::milliseconds duration) const {
    Window w;
    w.window_ms = std::max<std::int64_t>(1, duration.count());
    const int buckets = std::max(params.buckets, 2 * params.segments);
    w.bucket_ms = std::max<std::int64_t>(1, w.window_ms / buckets);
    w.ring.resize(static_cast<std::size_t>(buckets) + 1);
    return w;
  }

  double Scale() const { return std::isfinite(limit) ? limit : peak; }

  // The highest sample the shortest window holds (the ring is emptied as
  // it moves, so these are all recent): where memory stood before now.
  double RecentPeak() const {
    const Window* shortest = Shortest();
    double peak_here = 0;
    if (shortest == nullptr) return peak_here;
    for (const Bucket& b : shortest->ring) {
      if (b.count > 0) peak_here = std::max(peak_here, b.max);
    }
    return peak_here;
  }

  std::int64_t ShortestWindowMs() const {
    return detail::ShortestWindowMs(windows);
  }

  // What a window's evaluation reads besides the window.
  detail::EvaluationContext Context() const {
    return {params, windows, limit, Scale()};
  }

  // A restart at t_ms, seen in the samples or told by the caller: every
  // window starts over. Killed at the limit after growing into it for at
  // least the shortest window is what a leak does when nothing stops it;
  // one such death could be a load spike, two in a row are a leak however
  // the memory grew (steadily, or in steps too far apart for a window to
  // see).
  void Restart(std::int64_t t_ms) {
    // Where memory stood within the shortest window before the restart (a
    // collector may have run between the peak and the kill).
    const bool at_limit =
        std::isfinite(limit) && RecentPeak() >= params.oom_fraction * limit;
    const bool grew_into_it = cycle_start_ms != kNoBucket &&
                              t_ms - cycle_start_ms >= ShortestWindowMs();
    oom_cycles = at_limit && grew_into_it ? oom_cycles + 1 : 0;
    cycle_start_ms = t_ms;
    for (Window& w : windows) {
      // What grew into the limit, from the buckets about to be forgotten.
      Verdict grown;
      grown.suspected = true;
      if (oom_cycles >= 2 && w.open != kNoBucket) {
        detail::AttributeKinds(
            w, w.open - static_cast<std::int64_t>(w.ring.size()) + 1, w.open,
            minima, grown);
      }
      w.Clear();
      if (oom_cycles >= 2) {
        w.verdict.suspected = true;
        w.verdict.score = 1;
        w.verdict.kind = grown.kind;
        w.verdict.kind_slopes_bytes_per_second =
            grown.kind_slopes_bytes_per_second;
        if (!w.verdict.first_suspected_at_ms) {
          w.verdict.first_suspected_at_ms = t_ms;
        }
      }
    }
    peak = 0;
    last_x = kUnknown;
    fall_top = kUnknown;
    for (std::size_t i = 0; i < windows.size(); ++i) {
      verdicts[i] = windows[i].verdict;
    }
  }

  bool LooksLikeRestart(double x) const;
};

bool Estimator::State::LooksLikeRestart(double x) const {
  // A restart gives back (nearly) everything: the signal falls below half
  // of the floor the shortest window has seen, by more than 5 % of the
  // scale. A garbage collector returns to the floor, never far below it.
  const Window* shortest = Shortest();
  if (shortest == nullptr || shortest->open == kNoBucket) return false;
  double floor = std::numeric_limits<double>::infinity();
  std::size_t buckets = 0;
  for (const Bucket& b : shortest->ring) {
    if (b.count > 0 && b.index != kNoBucket &&
        b.index >
            shortest->open - static_cast<std::int64_t>(shortest->ring.size())) {
      floor = std::min(floor, b.min);
      ++buckets;
    }
  }
  if (buckets < 2) return false;
  if (x < 0.5 * floor && floor - x > 0.05 * Scale()) return true;
  // Killed at the limit: from there, any fall far below the floor. A
  // short batch job that peaks at the limit returns to the floor it left.
  // (The fall is tested first: it is rare, and RecentPeak scans the ring.)
  return std::isfinite(limit) && floor - x > 0.1 * limit &&
         RecentPeak() >= params.oom_fraction * limit;
}

Estimator::Estimator(std::span<const std::chrono::milliseconds> windows,
                     Params params)
    : state_(std::make_unique<State>()) {
  state_->params = params;
  state_->params.segments = std::max(2, params.segments);
  for (auto w : windows) state_->windows.push_back(state_->MakeWindow(w));
  state_->verdicts.resize(state_->windows.size());
}

Estimator::Estimator(Estimator&&) noexcept = default;
Estimator& Estimator::operator=(Estimator&&) noexcept = default;
Estimator::~Estimator() = default;

void Estimator::Update(const Observation& o) {
  State& s = *state_;
  if (s.last_t_ms != kNoBucket && o.t_ms <= s.last_t_ms) return;
  const KindValues kinds = KindsOf(o);
  const double x = Signal(o, kinds);
  if (!std::isfinite(x)) return;
  s.last_t_ms = o.t_ms;
  if (std::isfinite(o.limit) && o.limit > 0) s.limit = o.limit;
  if (s.cycle_start_ms == kNoBucket) s.cycle_start_ms = o.t_ms;
  if (s.LooksLikeRestart(x)) {
    ++s.restarts;
    s.Restart(o.t_ms);
  }
  s.peak = std::max(s.peak, x);

  for (Window& w : s.windows) {
    const std::int64_t index = FloorDiv(o.t_ms, w.bucket_ms);
    const auto size = static_cast<std::int64_t>(w.ring.size());
    if (w.open != kNoBucket && index > w.open) {
      detail::Evaluate(w, w.open, o.t_ms, s.Context(), s.minima);
      // Empty the slots the ring moves over: a gap reads as no samples.
      for (std::int64_t k = std::max(w.open + 1, index - size + 1); k <= index;
           ++k) {
        w.Slot(k) = Bucket{};
      }
    }
    if (w.open == kNoBucket || index > w.open) w.open = index;
    Bucket& b = w.Slot(index);
    if (b.index != index) b = Bucket{index, x, x, 0, 0, 0, 0, 0};
    b.min = std::min(b.min, x);
    b.max = std::max(b.max, x);
    ++b.count;
    detail::AddKinds(b, kinds);
    if (std::isfinite(s.last_x)) {
      b.max_drop = std::max(b.max_drop, s.fall_top - x);
      b.abs_steps += std::abs(x - s.last_x);
      b.rises += std::max(0.0, x - s.last_x);
      ++b.steps;
    }
  }
  if (!(x <= s.last_x)) s.fall_top = x;
  s.last_x = x;
  for (std::size_t i = 0; i < s.windows.size(); ++i) {
    s.verdicts[i] = s.windows[i].verdict;
  }
}

std::span<const Verdict> Estimator::verdicts() const {
  return state_->verdicts;
}

void Estimator::Reset() {
  State& s = *state_;
  // Told rather than seen: at the last sample's time (none yet: nothing to
  // forget).
  if (s.last_t_ms == kNoBucket) return;
  s.Restart(s.last_t_ms);
}

void Estimator::SetWindows(std::span<const std::chrono::milliseconds> windows) {
  State& s = *state_;
  std::map<std::int64_t, Window> old;
  for (Window& w : s.windows) old.emplace(w.window_ms, std::move(w));
  s.windows.clear();
  for (auto d : windows) {
    auto it = old.find(std::max<std::int64_t>(1, d.count()));
    s.windows.push_back(it != old.end() ? std::move(it->second)
                                        : s.MakeWindow(d));
  }
  s.verdicts.assign(s.windows.size(), Verdict{});
  for (std::size_t i = 0; i < s.windows.size(); ++i) {
    s.verdicts[i] = s.windows[i].verdict;
  }
}

void Estimator::SetParams(const Params& params) {
  State& s = *state_;
  const bool rebuild = params.buckets != s.params.buckets ||
                       std::max(2, params.segments) != s.params.segments;
  s.params = params;
  s.params.segments = std::max(2, params.segments);
  for (Window& w : s.windows) {
    if (rebuild) {
      std::optional<std::int64_t> first = w.verdict.first_suspected_at_ms;
      w = s.MakeWindow(std::chrono::milliseconds(w.window_ms));
      w.verdict.first_suspected_at_ms = first;
    }
    w.above = 0;
    w.below = 0;
  }
  for (std::size_t i = 0; i < s.windows.size(); ++i) {
    s.verdicts[i] = s.windows[i].verdict;
  }
}

std::uint64_t Estimator::restarts() const { return state_->restarts; }

}  // namespace leakwatch::estimator
