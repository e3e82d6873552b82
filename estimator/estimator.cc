#include "estimator/estimator.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "estimator/detail/trend.h"
#include "estimator/detail/window.h"

namespace leakwatch::estimator {
namespace {

using detail::Bucket;
using detail::kNoBucket;
using detail::MedianInPlace;
using detail::Window;

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

double Clamp01(double x) { return std::clamp(x, 0.0, 1.0); }

// 0 at 75 % of the threshold, 0.5 at the threshold, 1 at 125 %: a soft
// "x reaches thr" whose 0.5 crossing is exactly the hard rule.
double Reaches(double x, double thr) {
  if (!(thr > 0)) return 0;
  return Clamp01(0.5 + (x / thr - 1.0) * 2.0);
}

// The memory that a leak fills and a garbage collector does not give back:
// anonymous memory when it is known, so page cache (file-backed,
// reclaimable) never counts; else usage without cache; else the working set.
double Signal(const Observation& o) {
  if (std::isfinite(o.rss)) return o.rss;
  if (std::isfinite(o.usage) && std::isfinite(o.cache)) {
    return std::max(0.0, o.usage - o.cache);
  }
  return o.working_set;
}

}  // namespace

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
  std::vector<double> t, m, slopes, noise, rise, scratch, seg_min, seg_drop;

  const Window* Shortest() const { return detail::Shortest(windows); }
  const Window* Longest() const { return detail::Longest(windows); }

  // Whether any bucket of the longest window fell by `collection` or more.
  bool CollectedWithin(double collection) const {
    const Window* longest = Longest();
    if (longest == nullptr) return false;
    return std::any_of(longest->ring.begin(), longest->ring.end(),
                       [collection](const Bucket& b) {
                         return b.count > 0 && b.max_drop >= collection;
                       });
  }

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

  void Evaluate(Window& w, std::int64_t closed, std::int64_t t_ms);

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
      w.Clear();
      if (oom_cycles >= 2) {
        w.verdict.suspected = true;
        w.verdict.score = 1;
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

  // Whether a longer window that judges sees the growth levelling off. A
  // short window sees a warm-up's tail (or the ramp of a burst) as steady
  // growth; the longer view shows it slowing, and its word wins.
  bool LevellingOffOverLonger(const Window& w) const {
    return std::any_of(windows.begin(), windows.end(), [&w](const Window& o) {
      return o.window_ms > w.window_ms && o.verdict.ready &&
             o.verdict.evaluations > 0 && o.verdict.evidence.not_slowing < 0.5;
    });
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

void Estimator::State::Evaluate(Window& w, std::int64_t closed,
                                std::int64_t t_ms) {
  const auto buckets = static_cast<std::int64_t>(w.ring.size()) - 1;
  const std::int64_t first = closed - buckets + 1;
  t.clear();
  m.clear();
  double last_max = 0;
  std::int64_t oldest = kNoBucket;
  const int segments = params.segments;
  seg_min.assign(static_cast<std::size_t>(segments),
                 std::numeric_limits<double>::infinity());
  seg_drop.assign(static_cast<std::size_t>(segments), 0.0);
  noise.clear();
  rise.clear();
  for (std::int64_t index = first; index <= closed; ++index) {
    const Bucket& b = w.Slot(index);
    if (b.index == index && b.count > 0) {
      oldest = index;
      break;
    }
  }
  // A window longer than the shortest judges a younger history too, once
  // it has seen as much as the shortest window and min_history of its own
  // length: its segments and halves then divide what it has seen. A slow
  // leak from a container's start is then called within a fraction of the
  // long window, not after all of it. The shortest window always needs its
  // whole length: a young container warms up.
  std::int64_t start = first;
  if (oldest != kNoBucket && oldest > first &&
      w.window_ms > ShortestWindowMs()) {
    const double seen_ms =
        static_cast<double>((closed - oldest + 1) * w.bucket_ms);
    if (seen_ms >=
        std::max(static_cast<double>(ShortestWindowMs()),
                 params.min_history * static_cast<double>(w.window_ms))) {
      start = oldest;
    }
  }
  const std::int64_t span = closed - start + 1;
  for (std::int64_t index = start; index <= closed; ++index) {
    const Bucket& b = w.Slot(index);
    if (b.index != index || b.count == 0) continue;
    t.push_back((static_cast<double>(index) + 0.5) *
                static_cast<double>(w.bucket_ms) / 1000.0);
    m.push_back(b.min);
    last_max = b.max;
    const auto seg =
        static_cast<std::size_t>((index - start) * segments / span);
    seg_min[seg] = std::min(seg_min[seg], b.min);
    seg_drop[seg] = std::max(seg_drop[seg], b.max_drop);
    if (b.steps > 0) {
      noise.push_back(b.abs_steps / b.steps);
      rise.push_back(b.rises / b.steps);
    }
  }
  Verdict& v = w.verdict;
  const std::size_t n = m.size();
  // Judging needs (nearly) the whole window: samples back to within 1/8
  // of its start (a young container's first minutes are not a window's
  // worth of history) and most buckets filled.
  v.ready = oldest != kNoBucket && oldest - start <= span / 8 &&
            static_cast<double>(n) >=
                params.min_coverage * static_cast<double>(span) &&
            std::all_of(seg_min.begin(), seg_min.end(),
                        [](double s) { return std::isfinite(s); });
  if (n < 4) {
    v.slope_bytes_per_second = 0;
    v.r_squared = 0;
    v.baseline_bytes = 0;
    v.baseline_at_ms = t_ms;
    v.score = 0;
    v.troughs_seen = false;
    v.time_to_limit_seconds.reset();
    return;
  }

  // Garbage collection. A bucket's minimum is a post-GC trough only if a
  // collection happened in it or close by; a window that sits inside one
  // long GC cycle sees the allocation ramp, not the baseline. So when the
  // series shows collections (falls far above the noise), every segment
  // of the window must hold one before its minimum counts.
  const double scale = Scale();
  // E|x1 - x2| = 2 sigma / sqrt(pi)
  const double sigma = MedianInPlace(noise) / 1.128;
  const double collection = std::max(6 * sigma, params.min_collection * scale);
  const bool collects_here =
      std::any_of(seg_drop.begin(), seg_drop.end(),
                  [collection](double d) { return d >= collection; });
  // A segment holds a collection when it falls by the collection size,
  // or by most of the window's largest fall: where the collector's falls
  // are barely above the noise, some of them land just under 6 sigma.
  // A window inside one long cycle still fails: its only fall is the
  // collection, the others are noise.
  const double largest = *std::max_element(seg_drop.begin(), seg_drop.end());
  const double segment_collection = std::min(collection, 0.6 * largest);
  const bool every_segment_collects = std::all_of(
      seg_drop.begin(), seg_drop.end(),
      [segment_collection](double d) { return d >= segment_collection; });
  const bool collects_at_all = collects_here || CollectedWithin(collection);
  v.troughs_seen = !collects_at_all || every_segment_collects;

  const detail::TheilSen fit = detail::FitTheilSen(t, m, slopes);
  const double slope = fit.slope;
  double lower = fit.lower;

  v.r_squared = detail::RSquared(t, m);
  v.slope_bytes_per_second = slope;
  // The Theil–Sen line passes through the median of m - slope * t; taken
  // relative to now, so no Unix-time-sized product eats the precision.
  const double now_s = static_cast<double>(t_ms) / 1000.0;
  // A bucket's minimum on a sloping baseline lies at the bucket's start
  // (at its end when falling), not at its middle where t puts it: the line
  // through the minima runs half a bucket's growth below the baseline.
  v.baseline_bytes = detail::LineValueAt(t, m, slope, now_s, scratch) +
                     slope * static_cast<double>(w.bucket_ms) / 2000.0;
  v.baseline_at_ms = t_ms;

  // A sampled trough lies up to one step of the allocation ramp above the
  // real one (the median rise per sample), and where the sampling drifts
  // against the collector's cycle that error drifts too, looking like
  // growth: where there are collections, the lower bound allows one such
  // step across the window. The confidence bound above assumes the minima
  // independent; these errors are not.
  const double window_s = static_cast<double>(span * w.bucket_ms) / 1000.0;
  if (collects_at_all) lower -= MedianInPlace(rise) / window_s;

  // The evidence, each as a soft "reaches its threshold":
  const double healthy = params.healthy_growth_per_hour * scale / 3600.0;
  const double leak = params.leak_growth_per_hour * scale / 3600.0;
  // 1. Growth surely above healthy drift, and at a leak's rate.
  const double rate = std::min(Reaches(lower, healthy), Reaches(slope, leak));
  // 2. It keeps going: the minimum of every segment of the window is above
  //    the one before by a fair share of the growth. One step up, a warm-up
  //    that has levelled off, or a burst that came back leaves a segment
  //    flat.
  const double share = slope * window_s / segments;
  double weakest = std::numeric_limits<double>::infinity();
  for (int s = 0; s + 1 < segments; ++s) {
    weakest = std::min(weakest, seg_min[static_cast<std::size_t>(s + 1)] -
                                    seg_min[static_cast<std::size_t>(s)]);
  }
  //    The rise must also stand out of the scatter of the minima around
  //    the fitted line (robust: 1.4826 x their median absolute deviation):
  //    the minima before a step up scatter as much as the step is tall, so
  //    a flat stretch cannot pass as growth by chance.
  const double need =
      std::max(0.3 * share, params.rise_over_scatter *
                                detail::Scatter(t, m, slope, scratch));
  const double keeps_going = share > 0 ? Reaches(weakest, need) : 0;
  // 3. It is not levelling off: the Theil–Sen slope of the window's second
  //    half is not far below the first half's. A warm-up approaching its
  //    plateau as 1 - exp(-t/tau) has a ratio of exp(-W/2tau); a leak, 1.
  const std::size_t half = n / 2;
  const std::span<const double> times(t), minima(m);
  const double first_half =
      detail::MedianSlope(times.first(half), minima.first(half), slopes);
  const double second_half =
      detail::MedianSlope(times.subspan(half), minima.subspan(half), slopes);
  const double not_slowing =
      first_half > 0 ? Reaches(second_half / first_half, params.min_speed_ratio)
                     : (second_half > 0 ? 1.0 : 0.0);
  v.score = v.ready && v.troughs_seen
                ? std::min({rate, keeps_going, not_slowing})
                : 0;
  v.evidence = {lower, rate, keeps_going, not_slowing};
  ++v.evaluations;

  if (slope > 0 && lower > 0 && std::isfinite(limit)) {
    v.time_to_limit_seconds = std::max(0.0, limit - last_max) / slope;
  } else {
    v.time_to_limit_seconds.reset();
  }

  // The verdict moves only after `persistence` evaluations agree, so it
  // does not flap from one bucket to the next. A window that cannot judge
  // leaves the verdict as it is: too little history, a gap in the samples,
  // or a quarter without a collection, where its minimum is no trough.
  // The last is not evidence against a leak: under bursty load a
  // collector skips quiet stretches, and a leak found over the last
  // quarters would otherwise be dropped and found again, its alert
  // resolving and firing with every skipped collection.
  if (!v.ready || !v.troughs_seen) {
    w.above = 0;
    w.below = 0;
  } else if (v.score >= params.on_score) {
    w.below = 0;
    if (++w.above >= params.persistence && !v.suspected &&
        !LevellingOffOverLonger(w)) {
      v.suspected = true;
      if (!v.first_suspected_at_ms) v.first_suspected_at_ms = t_ms;
    }
  } else if (v.score < params.off_score) {
    w.above = 0;
    if (++w.below >= params.persistence) v.suspected = false;
  } else {
    w.above = 0;
    w.below = 0;
  }
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
  const double x = Signal(o);
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
      s.Evaluate(w, w.open, o.t_ms);
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
