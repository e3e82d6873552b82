#include "store/store.h"

#include <algorithm>
#include <limits>

namespace leakwatch::store {
namespace {

constexpr std::uint64_t kUnitBytes = 4096;
constexpr Millis kMaxRawSpanMs = 15 * 60 * 1000;
// At most this many buckets per container: 12 h of 1-minute buckets.
constexpr Millis kMaxBuckets = 720;
// Bucket widths, each a multiple of the one before so buckets merge exactly
// when a reload widens them.
constexpr std::array<Millis, 5> kBucketLadderMs = {
    60'000, 5 * 60'000, 15 * 60'000, 60 * 60'000, 6 * 60 * 60'000};

Millis CeilDiv(Millis a, Millis b) { return (a + b - 1) / b; }

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::size_t Slot(std::int64_t index, std::size_t capacity) {
  auto cap = static_cast<std::int64_t>(capacity);
  return static_cast<std::size_t>(((index % cap) + cap) % cap);
}

}  // namespace

Geometry Geometry::For(std::chrono::milliseconds interval,
                       std::span<const std::chrono::milliseconds> windows) {
  Geometry g;
  g.interval_ms = std::max<Millis>(1, interval.count());
  Millis longest = g.interval_ms;
  for (auto w : windows) longest = std::max<Millis>(longest, w.count());
  g.history_ms = longest;
  g.raw_span_ms = std::min(longest, kMaxRawSpanMs);
  // Both ends of the span are inside it: span/interval + 1 samples.
  g.raw_capacity =
      static_cast<std::size_t>(CeilDiv(g.raw_span_ms, g.interval_ms) + 1);

  g.bucket_ms = 0;
  for (Millis width : kBucketLadderMs) {
    if (width >= g.interval_ms && CeilDiv(longest, width) <= kMaxBuckets) {
      g.bucket_ms = width;
      break;
    }
  }
  if (g.bucket_ms == 0) {
    // Beyond the ladder: whole multiples of its last step.
    Millis step = kBucketLadderMs.back();
    Millis want = std::max(g.interval_ms, CeilDiv(longest, kMaxBuckets));
    g.bucket_ms = CeilDiv(want, step) * step;
  }
  // The newest bucket is partly filled, so one more than the span needs.
  g.bucket_capacity =
      static_cast<std::size_t>(CeilDiv(longest, g.bucket_ms) + 1);
  return g;
}

std::size_t Geometry::BytesPerContainer() const {
  return History(*this).MemoryBytes();
}

History::History(const Geometry& geometry)
    : geometry_(geometry),
      raw_(std::max<std::size_t>(1, geometry.raw_capacity)),
      buckets_(std::max<std::size_t>(1, geometry.bucket_capacity),
               BucketSlot{}) {}

History::Units History::ToUnits(const std::array<std::uint64_t, kInputs>& b) {
  Units u{};
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint32_t>::max();
  for (std::size_t i = 0; i < kInputs; ++i) {
    std::uint64_t units =
        b[i] / kUnitBytes + (b[i] % kUnitBytes >= kUnitBytes / 2);
    u[i] = static_cast<std::uint32_t>(std::min(units, kMax));
  }
  return u;
}

std::array<std::uint64_t, kInputs> History::ToBytes(const Units& u) {
  std::array<std::uint64_t, kInputs> b{};
  for (std::size_t i = 0; i < kInputs; ++i) b[i] = u[i] * kUnitBytes;
  return b;
}

bool History::Push(const Point& point) {
  if (raw_size_ > 0 && point.t_ms <= last_t_ms_) return false;
  const Units v = ToUnits(point.bytes);
  const std::size_t cap = raw_.size();
  if (raw_size_ < cap) {
    raw_[(raw_head_ + raw_size_) % cap] = RawSlot{point.t_ms, v};
    ++raw_size_;
  } else {
    raw_[raw_head_] = RawSlot{point.t_ms, v};
    raw_head_ = (raw_head_ + 1) % cap;
  }
  AddToBucket(FloorDiv(point.t_ms, geometry_.bucket_ms), v, 1, v, v);
  last_t_ms_ = point.t_ms;
  return true;
}

Point History::Raw(std::size_t i) const {
  const RawSlot& slot = raw_[(raw_head_ + i) % raw_.size()];
  return Point{slot.t_ms, ToBytes(slot.v)};
}

void History::AddToBucket(std::int64_t index, const Units& last,
                          std::uint32_t count, const Units& min,
                          const Units& max) {
  const std::size_t cap = buckets_.size();
  if (!has_buckets_) {
    has_buckets_ = true;
    newest_bucket_ = index;
    buckets_[Slot(index, cap)] = BucketSlot{};
  } else if (index > newest_bucket_) {
    // Empty the slots the ring moves over, so a gap reads as no samples
    // rather than as data from a lap ago.
    std::int64_t from = std::max(newest_bucket_ + 1,
                                 index - static_cast<std::int64_t>(cap) + 1);
    for (std::int64_t k = from; k <= index; ++k) {
      buckets_[Slot(k, cap)] = BucketSlot{};
    }
    newest_bucket_ = index;
  } else if (index <= newest_bucket_ - static_cast<std::int64_t>(cap)) {
    return;  // older than the ring reaches
  }
  BucketSlot& slot = buckets_[Slot(index, cap)];
  if (slot.count == 0) {
    slot = BucketSlot{count, min, max, last};
    return;
  }
  for (std::size_t i = 0; i < kInputs; ++i) {
    slot.min[i] = std::min(slot.min[i], min[i]);
    slot.max[i] = std::max(slot.max[i], max[i]);
  }
  slot.last = last;
  slot.count += count;
}

Bucket History::BucketFrom(std::int64_t index, const BucketSlot& slot) const {
  Bucket b;
  b.start_ms = index * geometry_.bucket_ms;
  b.count = slot.count;
  b.min = ToBytes(slot.min);
  b.max = ToBytes(slot.max);
  b.last = ToBytes(slot.last);
  return b;
}

std::vector<Bucket> History::Buckets() const {
  std::vector<Bucket> out;
  ForEachBucket([&out](const Bucket& b) { out.push_back(b); });
  return out;
}

void History::Resize(const Geometry& geometry) {
  if (geometry.interval_ms == geometry_.interval_ms &&
      geometry.raw_capacity == geometry_.raw_capacity &&
      geometry.bucket_ms == geometry_.bucket_ms &&
      geometry.bucket_capacity == geometry_.bucket_capacity &&
      geometry.raw_span_ms == geometry_.raw_span_ms &&
      geometry.history_ms == geometry_.history_ms) {
    return;
  }
  History next(geometry);
  if (raw_size_ > 0) {
    const Millis newest = last_t_ms_;
    // Raw: the newest samples still inside the new raw span, as many as
    // the new ring holds, with their timestamps and values unchanged.
    std::size_t first = 0;
    while (first < raw_size_ && raw_[(raw_head_ + first) % raw_.size()].t_ms <
                                    newest - geometry.raw_span_ms) {
      ++first;
    }
    first = std::max(first, raw_size_ - std::min(raw_size_, next.raw_.size()));
    for (std::size_t i = first; i < raw_size_; ++i) {
      next.raw_[next.raw_size_++] = raw_[(raw_head_ + i) % raw_.size()];
    }
    // Buckets, oldest first, merged into the new width.
    const auto cap = static_cast<std::int64_t>(buckets_.size());
    for (std::int64_t index = newest_bucket_ - cap + 1;
         has_buckets_ && index <= newest_bucket_; ++index) {
      const BucketSlot& slot = buckets_[Slot(index, buckets_.size())];
      if (slot.count == 0) continue;
      const Millis start = index * geometry_.bucket_ms;
      if (start + geometry_.bucket_ms <= newest - geometry.history_ms) {
        continue;
      }
      next.AddToBucket(FloorDiv(start, geometry.bucket_ms), slot.last,
                       slot.count, slot.min, slot.max);
    }
    next.last_t_ms_ = last_t_ms_;
  }
  *this = std::move(next);
}

void History::Clear() {
  raw_head_ = 0;
  raw_size_ = 0;
  std::fill(buckets_.begin(), buckets_.end(), BucketSlot{});
  has_buckets_ = false;
  newest_bucket_ = 0;
  last_t_ms_ = 0;
}

std::size_t History::MemoryBytes() const {
  return raw_.capacity() * sizeof(RawSlot) +
         buckets_.capacity() * sizeof(BucketSlot);
}

}  // namespace leakwatch::store
