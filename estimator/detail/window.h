// One window of a container's history: a ring of time buckets, each
// keeping what the estimator needs of its samples, and the window's
// verdict. Private to the estimator.
//
// Thread-safety: none; owned by one Estimator.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "estimator/estimator.h"

namespace leakwatch::estimator::detail {

// A bucket index (or time) that was never set.
inline constexpr std::int64_t kNoBucket =
    std::numeric_limits<std::int64_t>::min();

// A bucket's kind minima before any sample gave a kind.
inline constexpr std::array<float, kKinds> kNoKindMinima = [] {
  std::array<float, kKinds> v{};
  v.fill(std::numeric_limits<float>::infinity());
  return v;
}();

struct Bucket {
  std::int64_t index = kNoBucket;
  double min = 0;
  double max = 0;
  std::uint32_t count = 0;
  // The largest fall over a run of falling samples (a collection), and
  // the sum and count of absolute steps (the noise level).
  double max_drop = 0;
  double abs_steps = 0;
  double rises = 0;  // the sum of the steps up
  std::uint32_t steps = 0;
  // Each kind's minimum, +inf where no sample gave the kind. Floats: a
  // kind's slope is only ever fitted for a suspected window, where a
  // 2^-24 rounding of each minimum is far below the growth.
  std::array<float, kKinds> kind_min = kNoKindMinima;
};

struct Window {
  std::int64_t window_ms = 0;
  std::int64_t bucket_ms = 0;
  std::vector<Bucket> ring;  // the window's buckets plus the open one
  std::int64_t open = kNoBucket;
  // Consecutive evaluations above on_score and below off_score.
  int above = 0;
  int below = 0;
  Verdict verdict;

  // Forgets the buckets and the verdict, but not first_suspected_at_ms.
  void Clear();

  // The ring slot that holds (or will hold) bucket `index`.
  Bucket& Slot(std::int64_t index);
  const Bucket& Slot(std::int64_t index) const;
};

// The shortest and the longest window; nullptr when there are none.
const Window* Shortest(std::span<const Window> windows);
const Window* Longest(std::span<const Window> windows);

// The shortest window's length; the largest int64 when there are none.
std::int64_t ShortestWindowMs(std::span<const Window> windows);

}  // namespace leakwatch::estimator::detail
