#include "estimator/detail/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>

#include "estimator/detail/kinds.h"
#include "estimator/detail/trend.h"

namespace leakwatch::estimator::detail {
namespace {

// The buckets one evaluation judges, by index: from `start` to the one
// just closed.
struct JudgedSpan {
  std::int64_t oldest = kNoBucket;  // the window's oldest bucket with samples
  std::int64_t start = 0;
  std::int64_t closed = 0;
  std::int64_t bucket_ms = 0;

  std::int64_t buckets() const { return closed - start + 1; }
  double seconds() const {
    return static_cast<double>(buckets() * bucket_ms) / 1000.0;
  }
};

// Whether the minima are post-collection troughs, and whether the series
// shows collections at all.
struct TroughTest {
  bool collects_at_all = false;
  bool troughs_seen = false;
};

// The trend of the minima: the Theil–Sen slope (bytes per second), its
// lower bound, r² and where the fitted line stands at the evaluation.
struct Trend {
  double slope = 0;
  double lower = 0;
  double r_squared = 0;
  double baseline_bytes = 0;
};

double Clamp01(double x) { return std::clamp(x, 0.0, 1.0); }

// 0 at 75 % of the threshold, 0.5 at the threshold, 1 at 125 %: a soft
// "x reaches thr" whose 0.5 crossing is exactly the hard rule.
double Reaches(double x, double thr) {
  if (!(thr > 0)) return 0;
  return Clamp01(0.5 + (x / thr - 1.0) * 2.0);
}

// The window's oldest bucket in [first, closed] that holds samples;
// kNoBucket when none does.
std::int64_t OldestWithSamples(const Window& w, std::int64_t first,
                               std::int64_t closed) {
  for (std::int64_t index = first; index <= closed; ++index) {
    const Bucket& b = w.Slot(index);
    if (b.index == index && b.count > 0) return index;
  }
  return kNoBucket;
}

// Which of the window's buckets this evaluation judges.
JudgedSpan ChooseSpan(const Window& w, std::int64_t closed,
                      const EvaluationContext& context) {
  const auto buckets = static_cast<std::int64_t>(w.ring.size()) - 1;
  const std::int64_t first = closed - buckets + 1;
  JudgedSpan span;
  span.oldest = OldestWithSamples(w, first, closed);
  span.start = first;
  span.closed = closed;
  span.bucket_ms = w.bucket_ms;
  // A window longer than the shortest judges a younger history too, once
  // it has seen as much as the shortest window and min_history of its own
  // length: its segments and halves then divide what it has seen. A slow
  // leak from a container's start is then called within a fraction of the
  // long window, not after all of it. The shortest window always needs its
  // whole length: a young container warms up.
  const std::int64_t shortest_ms = ShortestWindowMs(context.windows);
  if (span.oldest != kNoBucket && span.oldest > first &&
      w.window_ms > shortest_ms) {
    const double seen_ms =
        static_cast<double>((closed - span.oldest + 1) * w.bucket_ms);
    if (seen_ms >= std::max(static_cast<double>(shortest_ms),
                            context.params.min_history *
                                static_cast<double>(w.window_ms))) {
      span.start = span.oldest;
    }
  }
  return span;
}

// Reads the judged buckets into `minima`.
void Gather(const Window& w, const JudgedSpan& span, int segments,
            WindowMinima& minima) {
  minima.trough_times_s.clear();
  minima.trough_bytes.clear();
  minima.newest_peak_bytes = 0;
  minima.segment_min_bytes.assign(static_cast<std::size_t>(segments),
                                  std::numeric_limits<double>::infinity());
  minima.segment_drop_bytes.assign(static_cast<std::size_t>(segments), 0.0);
  minima.step_noise_bytes.clear();
  minima.step_rise_bytes.clear();
  for (std::int64_t index = span.start; index <= span.closed; ++index) {
    const Bucket& b = w.Slot(index);
    if (b.index != index || b.count == 0) continue;
    minima.trough_times_s.push_back((static_cast<double>(index) + 0.5) *
                                    static_cast<double>(w.bucket_ms) / 1000.0);
    minima.trough_bytes.push_back(b.min);
    minima.newest_peak_bytes = b.max;
    const auto seg = static_cast<std::size_t>((index - span.start) * segments /
                                              span.buckets());
    minima.segment_min_bytes[seg] =
        std::min(minima.segment_min_bytes[seg], b.min);
    minima.segment_drop_bytes[seg] =
        std::max(minima.segment_drop_bytes[seg], b.max_drop);
    if (b.steps > 0) {
      minima.step_noise_bytes.push_back(b.abs_steps / b.steps);
      minima.step_rise_bytes.push_back(b.rises / b.steps);
    }
  }
}

// Judging needs (nearly) the whole window: samples back to within 1/8
// of its start (a young container's first minutes are not a window's
// worth of history) and most buckets filled.
bool CoversWindow(const JudgedSpan& span, const WindowMinima& minima,
                  const Params& params) {
  const std::int64_t buckets = span.buckets();
  return span.oldest != kNoBucket && span.oldest - span.start <= buckets / 8 &&
         static_cast<double>(minima.trough_bytes.size()) >=
             params.min_coverage * static_cast<double>(buckets) &&
         std::all_of(minima.segment_min_bytes.begin(),
                     minima.segment_min_bytes.end(),
                     [](double s) { return std::isfinite(s); });
}

// Too few buckets to fit a line: no trend, no judgement.
void ClearFit(Verdict& v, std::int64_t t_ms) {
  v.slope_bytes_per_second = 0;
  v.r_squared = 0;
  v.baseline_bytes = 0;
  v.baseline_at_ms = t_ms;
  v.score = 0;
  v.troughs_seen = false;
  v.time_to_limit_seconds.reset();
}

// Whether any bucket of the longest window fell by `collection` or more.
bool CollectedWithin(std::span<const Window> windows, double collection) {
  const Window* longest = Longest(windows);
  if (longest == nullptr) return false;
  return std::any_of(longest->ring.begin(), longest->ring.end(),
                     [collection](const Bucket& b) {
                       return b.count > 0 && b.max_drop >= collection;
                     });
}

// Garbage collection. A bucket's minimum is a post-GC trough only if a
// collection happened in it or close by; a window that sits inside one
// long GC cycle sees the allocation ramp, not the baseline. So when the
// series shows collections (falls far above the noise), every segment
// of the window must hold one before its minimum counts.
TroughTest TestTroughs(const EvaluationContext& context, WindowMinima& minima) {
  const std::vector<double>& drops = minima.segment_drop_bytes;
  // E|x1 - x2| = 2 sigma / sqrt(pi)
  const double sigma = MedianInPlace(minima.step_noise_bytes) / 1.128;
  const double collection =
      std::max(6 * sigma, context.params.min_collection * context.scale);
  const bool collects_here =
      std::any_of(drops.begin(), drops.end(),
                  [collection](double d) { return d >= collection; });
  // A segment holds a collection when it falls by the collection size,
  // or by most of the window's largest fall: where the collector's falls
  // are barely above the noise, some of them land just under 6 sigma.
  // A window inside one long cycle still fails: its only fall is the
  // collection, the others are noise.
  // A window that holds no collection at all, in a series that collects,
  // sits inside one cycle: its every segment lacks one (its largest fall is
  // noise, and most of the noise is no collection).
  const double largest = *std::max_element(drops.begin(), drops.end());
  const double segment_collection =
      collects_here ? std::min(collection, 0.6 * largest) : collection;
  const bool every_segment_collects = std::all_of(
      drops.begin(), drops.end(),
      [segment_collection](double d) { return d >= segment_collection; });
  TroughTest test;
  test.collects_at_all =
      collects_here || CollectedWithin(context.windows, collection);
  test.troughs_seen = !test.collects_at_all || every_segment_collects;
  return test;
}

// Fits the trend of the minima, with a lower bound that allows for how
// sampled troughs err.
Trend FitTrend(const JudgedSpan& span, bool collects_at_all, std::int64_t t_ms,
               WindowMinima& minima) {
  const std::span<const double> times(minima.trough_times_s);
  const std::span<const double> bytes(minima.trough_bytes);
  const TheilSen fit = FitTheilSen(times, bytes, minima.work);
  Trend trend;
  trend.slope = fit.slope;
  trend.r_squared = RSquared(times, bytes);
  // The Theil–Sen line passes through the median of m - slope * t; taken
  // relative to now, so no Unix-time-sized product eats the precision.
  const double now_s = static_cast<double>(t_ms) / 1000.0;
  // A bucket's minimum on a sloping baseline lies at the bucket's start
  // (at its end when falling), not at its middle where t puts it: the line
  // through the minima runs half a bucket's growth below the baseline.
  trend.baseline_bytes =
      LineValueAt(times, bytes, fit.slope, now_s, minima.work) +
      fit.slope * static_cast<double>(span.bucket_ms) / 2000.0;
  // A sampled trough lies up to one step of the allocation ramp above the
  // real one (the median rise per sample), and where the sampling drifts
  // against the collector's cycle that error drifts too, looking like
  // growth: where there are collections, the lower bound allows one such
  // step across the window. The confidence bound above assumes the minima
  // independent; these errors are not.
  trend.lower = fit.lower;
  if (collects_at_all) {
    trend.lower -= MedianInPlace(minima.step_rise_bytes) / span.seconds();
  }
  return trend;
}

// 1. Growth surely above healthy drift, and at a leak's rate.
double Rate(const Trend& trend, const EvaluationContext& context) {
  const double healthy =
      context.params.healthy_growth_per_hour * context.scale / 3600.0;
  const double leak =
      context.params.leak_growth_per_hour * context.scale / 3600.0;
  return std::min(Reaches(trend.lower, healthy), Reaches(trend.slope, leak));
}

// 2. It keeps going: the minimum of every segment of the window is above
//    the one before by a fair share of the growth. One step up, a warm-up
//    that has levelled off, or a burst that came back leaves a segment
//    flat.
double KeepsGoing(const Trend& trend, const JudgedSpan& span,
                  const Params& params, WindowMinima& minima) {
  const int segments = params.segments;
  const std::vector<double>& seg_min = minima.segment_min_bytes;
  const double share = trend.slope * span.seconds() / segments;
  double weakest = std::numeric_limits<double>::infinity();
  for (int s = 0; s + 1 < segments; ++s) {
    weakest = std::min(weakest, seg_min[static_cast<std::size_t>(s + 1)] -
                                    seg_min[static_cast<std::size_t>(s)]);
  }
  //    The rise must also stand out of the scatter of the minima around
  //    the fitted line (robust: 1.4826 x their median absolute deviation):
  //    the minima before a step up scatter as much as the step is tall, so
  //    a flat stretch cannot pass as growth by chance.
  const double scatter = Scatter(minima.trough_times_s, minima.trough_bytes,
                                 trend.slope, minima.work);
  const double need = std::max(0.3 * share, params.rise_over_scatter * scatter);
  return share > 0 ? Reaches(weakest, need) : 0;
}

// 3. It is not levelling off: the Theil–Sen slope of the window's second
//    half is not far below the first half's. A warm-up approaching its
//    plateau as 1 - exp(-t/tau) has a ratio of exp(-W/2tau); a leak, 1.
double NotSlowing(const Params& params, WindowMinima& minima) {
  const std::span<const double> times(minima.trough_times_s);
  const std::span<const double> bytes(minima.trough_bytes);
  const std::size_t half = bytes.size() / 2;
  const double first_half =
      MedianSlope(times.first(half), bytes.first(half), minima.work);
  const double second_half =
      MedianSlope(times.subspan(half), bytes.subspan(half), minima.work);
  return first_half > 0
             ? Reaches(second_half / first_half, params.min_speed_ratio)
             : (second_half > 0 ? 1.0 : 0.0);
}

// The evidence, each as a soft "reaches its threshold".
Verdict::Evidence WeighEvidence(const Trend& trend, const JudgedSpan& span,
                                const EvaluationContext& context,
                                WindowMinima& minima) {
  Verdict::Evidence evidence;
  evidence.slope_lower_bytes_per_second = trend.lower;
  evidence.rate = Rate(trend, context);
  evidence.keeps_going = KeepsGoing(trend, span, context.params, minima);
  evidence.not_slowing = NotSlowing(context.params, minima);
  return evidence;
}

// At the current slope, when the baseline reaches the limit: only for
// growth that is surely there.
std::optional<double> TimeToLimit(const Trend& trend, double limit,
                                  double newest_peak_bytes) {
  if (trend.slope > 0 && trend.lower > 0 && std::isfinite(limit)) {
    return std::max(0.0, limit - newest_peak_bytes) / trend.slope;
  }
  return std::nullopt;
}

// Whether a longer window that judges sees the growth levelling off. A
// short window sees a warm-up's tail (or the ramp of a burst) as steady
// growth; the longer view shows it slowing, and its word wins.
bool LevellingOffOverLonger(std::span<const Window> windows, const Window& w) {
  return std::any_of(windows.begin(), windows.end(), [&w](const Window& o) {
    return o.window_ms > w.window_ms && o.verdict.ready &&
           o.verdict.evaluations > 0 && o.verdict.evidence.not_slowing < 0.5;
  });
}

// The verdict moves only after `persistence` evaluations agree, so it
// does not flap from one bucket to the next. A window that cannot judge
// leaves the verdict as it is: too little history, a gap in the samples,
// or a quarter without a collection, where its minimum is no trough.
// The last is not evidence against a leak: under bursty load a
// collector skips quiet stretches, and a leak found over the last
// quarters would otherwise be dropped and found again, its alert
// resolving and firing with every skipped collection.
void MoveVerdict(Window& w, std::int64_t t_ms,
                 const EvaluationContext& context) {
  const Params& params = context.params;
  Verdict& v = w.verdict;
  if (!v.ready || !v.troughs_seen) {
    w.above = 0;
    w.below = 0;
  } else if (v.score >= params.on_score) {
    w.below = 0;
    if (++w.above >= params.persistence && !v.suspected &&
        !LevellingOffOverLonger(context.windows, w)) {
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

}  // namespace

void Evaluate(Window& window, std::int64_t closed, std::int64_t t_ms,
              const EvaluationContext& context, WindowMinima& minima) {
  Verdict& v = window.verdict;
  const JudgedSpan span = ChooseSpan(window, closed, context);
  Gather(window, span, context.params.segments, minima);
  v.ready = CoversWindow(span, minima, context.params);
  if (minima.trough_bytes.size() < 4) {
    ClearFit(v, t_ms);
    return;
  }
  const TroughTest troughs = TestTroughs(context, minima);
  v.troughs_seen = troughs.troughs_seen;
  const Trend trend = FitTrend(span, troughs.collects_at_all, t_ms, minima);
  v.slope_bytes_per_second = trend.slope;
  v.r_squared = trend.r_squared;
  v.baseline_bytes = trend.baseline_bytes;
  v.baseline_at_ms = t_ms;
  v.evidence = WeighEvidence(trend, span, context, minima);
  v.score = v.ready && v.troughs_seen
                ? std::min({v.evidence.rate, v.evidence.keeps_going,
                            v.evidence.not_slowing})
                : 0;
  ++v.evaluations;
  v.time_to_limit_seconds =
      TimeToLimit(trend, context.limit, minima.newest_peak_bytes);
  MoveVerdict(window, t_ms, context);
  AttributeKinds(window, span.start, span.closed, minima, v);
}

}  // namespace leakwatch::estimator::detail
