// What leaks: the signal made of the leak kinds, each kind's minima kept
// per bucket, and each kind's baseline growth fitted for a suspected
// window. Private to the estimator.
#pragma once

#include <cstdint>

#include "estimator/detail/evaluate.h"
#include "estimator/detail/window.h"
#include "estimator/estimator.h"

namespace leakwatch::estimator::detail {

// Whether the observation says what its memory is made of (shmem or
// kernel memory known); only then is the signal the sum of the leak kinds.
bool HasKinds(const KindValues& kinds);

// The sum of the known leak kinds: the memory the kernel cannot reclaim.
double LeakKindsSum(const KindValues& kinds);

// Folds one sample's kinds into a bucket's kind minima.
void AddKinds(Bucket& bucket, const KindValues& kinds);

// For a suspected window: fits each kind's slope over the buckets
// [start, closed] and names the leak kind growing fastest. Clears both
// when the window is not suspected or its buckets carry no kinds.
void AttributeKinds(const Window& window, std::int64_t start,
                    std::int64_t closed, WindowMinima& minima,
                    Verdict& verdict);

}  // namespace leakwatch::estimator::detail
