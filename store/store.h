// Per-container sample history: fixed-size, multi-resolution ring buffers.
//
// Two tiers per container, both allocated when the container is discovered,
// so memory is bounded and steady from the first pass:
//   - raw: every sample at full rate for the most recent raw span
//     (min(longest window, 15 min));
//   - buckets: per fixed-width time bucket (1 min for windows up to 12 h),
//     the min, max and last of each input, reaching back over the longest
//     leak window. Post-GC minima are what a leak baseline is made of, so
//     the coarse tier keeps exactly what the estimator needs.
// docs/performance.md has the numbers behind this layout.
//
// Memory is stored in 4 KiB units as 32-bit integers: the kernel accounts
// memory in pages, so nothing is lost on 4 KiB-page hosts, and 32 bits reach
// 16 TiB. Values that are not a multiple of 4 KiB (synthetic traces) are
// rounded to the nearest unit.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace leakwatch::store {

// What each sample keeps, one ring per input: the working set, anonymous
// memory and page cache the page draws, and the memory the estimator
// judges (estimator::SignalOf: anonymous memory, shmem and kernel memory),
// so its trend line can be drawn over what it was fitted to.
enum class Input : std::size_t {
  kWorkingSet = 0,
  kRss,
  kCache,
  kUnreclaimable
};
inline constexpr std::size_t kInputs = 4;

// Unix time in milliseconds.
using Millis = std::int64_t;

struct Point {
  Millis t_ms = 0;
  std::array<std::uint64_t, kInputs> bytes{};

  std::uint64_t operator[](Input input) const {
    return bytes[static_cast<std::size_t>(input)];
  }
};

struct Bucket {
  Millis start_ms = 0;  // aligned to the bucket width
  std::uint32_t count = 0;
  std::array<std::uint64_t, kInputs> min{};
  std::array<std::uint64_t, kInputs> max{};
  std::array<std::uint64_t, kInputs> last{};
};

// The sizes of one container's rings, derived from the sample interval and
// the leak windows.
struct Geometry {
  Millis interval_ms = 5000;
  Millis raw_span_ms = 0;
  Millis history_ms = 0;  // the longest window
  Millis bucket_ms = 60000;
  std::size_t raw_capacity = 0;
  std::size_t bucket_capacity = 0;

  static Geometry For(std::chrono::milliseconds interval,
                      std::span<const std::chrono::milliseconds> windows);

  // Heap bytes one container's History holds with this geometry.
  std::size_t BytesPerContainer() const;
};

// One container's history.
//
// Thread-safety: none; owned by the sampling loop. Readers on other
// threads get copies (snapshots), never a reference.
class History {
 public:
  explicit History(const Geometry& geometry);

  const Geometry& geometry() const { return geometry_; }

  // Appends one sample. Returns false, storing nothing, when the timestamp
  // is not after the previous sample's (a clock stepping back).
  bool Push(const Point& point);

  // Raw tier, oldest first.
  std::size_t RawSize() const { return raw_size_; }
  Point Raw(std::size_t i) const;
  // The newest sample; RawSize() must be > 0.
  Point Latest() const { return Raw(raw_size_ - 1); }

  // Coarse tier: the non-empty buckets, oldest first. Gaps (no samples in
  // a bucket's interval) are skipped.
  std::vector<Bucket> Buckets() const;
  // The same, without allocating: fn(const Bucket&) per non-empty bucket.
  template <typename Fn>
  void ForEachBucket(Fn&& fn) const;

  // Re-sizes to a new geometry keeping every sample that is still inside
  // the new spans: raw samples keep their timestamps and values (the
  // oldest go first if the capacity shrinks); buckets are merged into the
  // new width when it grows.
  void Resize(const Geometry& geometry);

  // Forgets everything (a container restart).
  void Clear();

  // Heap bytes held.
  std::size_t MemoryBytes() const;

 private:
  using Units = std::array<std::uint32_t, kInputs>;
  struct RawSlot {
    Millis t_ms;
    Units v;
  };
  struct BucketSlot {
    std::uint32_t count;
    Units min, max, last;
  };

  static Units ToUnits(const std::array<std::uint64_t, kInputs>& bytes);
  static std::array<std::uint64_t, kInputs> ToBytes(const Units& units);
  Bucket BucketFrom(std::int64_t index, const BucketSlot& slot) const;
  void AddToBucket(std::int64_t index, const Units& v, std::uint32_t count,
                   const Units& min, const Units& max);

  Geometry geometry_;
  std::vector<RawSlot> raw_;
  std::size_t raw_head_ = 0;  // index of the oldest sample
  std::size_t raw_size_ = 0;
  std::vector<BucketSlot> buckets_;
  // Bucket index (start_ms / bucket_ms) of the newest bucket; the ring
  // holds indexes (newest - capacity, newest].
  std::int64_t newest_bucket_ = 0;
  bool has_buckets_ = false;
  Millis last_t_ms_ = 0;
};

template <typename Fn>
void History::ForEachBucket(Fn&& fn) const {
  if (!has_buckets_) return;
  const auto cap = static_cast<std::int64_t>(buckets_.size());
  for (std::int64_t index = newest_bucket_ - cap + 1; index <= newest_bucket_;
       ++index) {
    if (index < 0) continue;
    const BucketSlot& slot = buckets_[static_cast<std::size_t>(index % cap)];
    if (slot.count == 0) continue;
    fn(BucketFrom(index, slot));
  }
}

}  // namespace leakwatch::store
