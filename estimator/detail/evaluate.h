// One window's evaluation, run each time one of its buckets closes: it
// gathers the window's bucket minima, tests that they are troughs, fits
// their trend, weighs the evidence of a leak and moves the verdict.
// Private to the estimator.
//
// Thread-safety: none; called by the Estimator that owns the window.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "estimator/detail/window.h"
#include "estimator/estimator.h"

namespace leakwatch::estimator::detail {

// What an evaluation reads besides the window it judges.
struct EvaluationContext {
  const Params& params;
  // All of the container's windows, the judged one among them: a longer
  // window's collections and its view of the growth count too.
  std::span<const Window> windows;
  double limit;  // the latest known limit; NaN when unknown
  double scale;  // the limit, else the highest signal seen
};

// The judged buckets as one evaluation reads them, oldest first. Kept by
// the estimator between evaluations, so that once grown none allocates.
struct WindowMinima {
  // Per bucket holding samples: its middle (Unix seconds) and its minimum
  // (bytes), the trough a garbage collector leaves.
  std::vector<double> trough_times_s;
  std::vector<double> trough_bytes;
  // Per bucket with steps between samples: the mean absolute step (the
  // noise) and the mean step up, in bytes.
  std::vector<double> step_noise_bytes;
  std::vector<double> step_rise_bytes;
  // Per segment of the judged span: its lowest minimum and its largest
  // fall (a collection), in bytes.
  std::vector<double> segment_min_bytes;
  std::vector<double> segment_drop_bytes;
  // The highest sample of the newest bucket holding samples.
  double newest_peak_bytes = 0;
  // One kind's bucket minima at a time, as AttributeKinds fits them.
  std::vector<double> kind_times_s;
  std::vector<double> kind_bytes;
  // Work space for medians and pairwise slopes.
  std::vector<double> work;
};

// Judges `window` at t_ms, when its bucket `closed` has just closed, and
// updates its verdict and its counts of agreeing evaluations.
void Evaluate(Window& window, std::int64_t closed, std::int64_t t_ms,
              const EvaluationContext& context, WindowMinima& minima);

}  // namespace leakwatch::estimator::detail
