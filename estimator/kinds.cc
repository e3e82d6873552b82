#include "estimator/detail/kinds.h"

#include <cmath>
#include <limits>

#include "estimator/detail/trend.h"

namespace leakwatch::estimator {

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kAnon:
      return "anon";
    case Kind::kShmem:
      return "shmem";
    case Kind::kKernel:
      return "kernel";
    case Kind::kSlab:
      return "slab";
    case Kind::kSock:
      return "sock";
    case Kind::kKernelStack:
      return "kernel_stack";
    case Kind::kPagetables:
      return "pagetables";
  }
  return "unknown";
}

namespace {

// a + b where either may be unknown: unknown only when both are.
double SumKnown(double a, double b) {
  if (!std::isfinite(a)) return b;
  if (!std::isfinite(b)) return a;
  return a + b;
}

std::size_t Index(Kind kind) { return static_cast<std::size_t>(kind); }

}  // namespace

KindValues KindsOf(const Observation& o) {
  KindValues v = kUnknownKinds;
  // Swapped-out anonymous memory is still the process's: a leak that the
  // kernel pushes to swap keeps growing there.
  v[Index(Kind::kAnon)] =
      std::isfinite(o.rss) ? SumKnown(o.rss, o.swap) : kUnknown;
  v[Index(Kind::kShmem)] = o.shmem;
  // v2 keeps socket buffers out of `kernel`; as a leak kind they are
  // kernel memory all the same (sockets that are never closed).
  v[Index(Kind::kKernel)] = SumKnown(o.kernel, o.sock);
  v[Index(Kind::kSlab)] = o.slab;
  v[Index(Kind::kSock)] = o.sock;
  v[Index(Kind::kKernelStack)] = o.kernel_stack;
  v[Index(Kind::kPagetables)] = o.pagetables;
  return v;
}

namespace detail {

bool HasKinds(const KindValues& kinds) {
  return std::isfinite(kinds[Index(Kind::kShmem)]) ||
         std::isfinite(kinds[Index(Kind::kKernel)]);
}

double LeakKindsSum(const KindValues& kinds) {
  double sum = 0;
  for (std::size_t k = 0; k < kLeakKinds; ++k) {
    if (std::isfinite(kinds[k])) sum += kinds[k];
  }
  return sum;
}

void AddKinds(Bucket& bucket, const KindValues& kinds) {
  for (std::size_t k = 0; k < kKinds; ++k) {
    if (std::isfinite(kinds[k])) {
      bucket.kind_min[k] =
          std::min(bucket.kind_min[k], static_cast<float>(kinds[k]));
    }
  }
}

void AttributeKinds(const Window& window, std::int64_t start,
                    std::int64_t closed, WindowMinima& minima,
                    Verdict& verdict) {
  const std::optional<Kind> before = verdict.kind;
  verdict.kind.reset();
  verdict.kind_slopes_bytes_per_second = kUnknownKinds;
  if (!verdict.suspected) return;
  double fastest = -std::numeric_limits<double>::infinity();
  std::optional<Kind> fastest_kind;
  for (std::size_t k = 0; k < kKinds; ++k) {
    minima.kind_times_s.clear();
    minima.kind_bytes.clear();
    for (std::int64_t index = start; index <= closed; ++index) {
      const Bucket& b = window.Slot(index);
      if (b.index != index || b.count == 0 || !std::isfinite(b.kind_min[k])) {
        continue;
      }
      minima.kind_times_s.push_back((static_cast<double>(index) + 0.5) *
                                    static_cast<double>(window.bucket_ms) /
                                    1000.0);
      minima.kind_bytes.push_back(b.kind_min[k]);
    }
    if (minima.kind_bytes.size() < 2) continue;
    const double slope =
        MedianSlope(minima.kind_times_s, minima.kind_bytes, minima.work);
    verdict.kind_slopes_bytes_per_second[k] = slope;
    if (k < kLeakKinds && slope > fastest) {
      fastest = slope;
      fastest_kind = static_cast<Kind>(k);
    }
  }
  // A window stays suspected through a pause in the growth (a staircase
  // between steps): its kinds then all grow by about nothing, and the
  // fastest is noise. The kind named is the one that grew while the
  // window's own baseline did.
  const bool growing_now = verdict.slope_bytes_per_second > 0 &&
                           fastest >= 0.5 * verdict.slope_bytes_per_second;
  verdict.kind = growing_now || !before ? fastest_kind : before;
}

}  // namespace detail
}  // namespace leakwatch::estimator
