// The leak estimator: samples in, verdicts out.
//
// Pure: no I/O, no clock, no threads. The daemon feeds it each container's
// samples as they enter the ring buffers, and `leakwatch analyze` feeds it
// recorded samples in time order, so both run exactly this code. The
// method and its parameters are explained in docs/leak-detection.md.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace leakwatch::estimator {

inline constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

// What a container's memory is made of, as far as a leak goes. The first
// kLeakKinds are the leak kinds: the memory the kernel cannot reclaim,
// whose sum is the signal the estimator judges. The rest are parts of
// kernel memory (and, on v2, the socket buffers counted with it), where
// the kernel splits it. Page cache and swap are no kind: the one is
// reclaimable, the other is anonymous memory moved out, counted as anon.
enum class Kind : std::uint8_t {
  kAnon,
  kShmem,
  kKernel,
  kSlab,
  kSock,
  kKernelStack,
  kPagetables,
};
inline constexpr std::size_t kKinds = 7;
inline constexpr std::size_t kLeakKinds = 3;

// The kind as the `kind` label spells it: anon, shmem, kernel, slab, sock,
// kernel_stack, pagetables.
std::string_view KindName(Kind kind);

// One value per kind, NaN where unknown.
using KindValues = std::array<double, kKinds>;
inline constexpr KindValues kUnknownKinds = [] {
  KindValues v{};
  v.fill(kUnknown);
  return v;
}();

// One sample of a container's memory. Unknown inputs are NaN.
struct Observation {
  std::int64_t t_ms = 0;  // Unix time in milliseconds
  double working_set = kUnknown;
  double rss = kUnknown;    // anonymous memory
  double cache = kUnknown;  // file-backed page cache
  double usage = kUnknown;
  // The memory limit the leak would run into: the cgroup limit, else the
  // host's memory. NaN when unknown.
  double limit = kUnknown;
  // What the memory is made of. When shmem or kernel is known, the signal
  // is anon (rss + swap) + shmem + kernel (+ sock): all the memory the
  // kernel cannot reclaim. Without them it is rss, as before.
  double swap = kUnknown;    // anonymous memory swapped out
  double shmem = kUnknown;   // shmem and tmpfs pages
  double kernel = kUnknown;  // kernel memory charged to the cgroup
  double sock = kUnknown;    // socket buffers, outside `kernel` (v2)
  double slab = kUnknown;    // parts of `kernel`, where split
  double kernel_stack = kUnknown;
  double pagetables = kUnknown;
};

// The observation's value of each kind (KindValues, NaN where unknown).
KindValues KindsOf(const Observation& observation);

// The memory the estimator judges in an observation: the sum of the leak
// kinds where shmem or kernel memory is known, else anonymous memory, else
// usage minus cache, else the working set (NaN when none is known).
double SignalOf(const Observation& observation);

// Tunables. The defaults come from the acceptance definition of a leak
// (docs/leak-detection.md): growth below 1.5 % of the limit per hour is
// healthy drift, a leak grows at 2 % per hour or more.
struct Params {
  // Growth, as a fraction of the limit per hour, that is never a leak: the
  // slope's lower confidence bound must be above it.
  double healthy_growth_per_hour = 0.015;
  // Growth that is a leak: the slope itself must reach it.
  double leak_growth_per_hour = 0.0175;
  // Buckets per window; each keeps the minimum of its samples (the trough
  // a garbage collector leaves).
  int buckets = 32;
  // Segments of the window whose minima must each rise over the one before:
  // growth that keeps going, not one step.
  int segments = 4;
  // Each segment's rise must also reach this multiple of the scatter of
  // the minima around the fitted line (robust standard deviation).
  double rise_over_scatter = 0.5;
  // The second half of a window must grow at least this fraction as fast
  // as the first: a warm-up levels off, a leak does not.
  double min_speed_ratio = 0.7;
  // A fall between two samples of at least this fraction of the limit (and
  // six times the noise) is a garbage collection.
  double min_collection = 0.002;
  // Fraction of the window's buckets that must hold samples before it
  // judges.
  double min_coverage = 0.75;
  // A window longer than the shortest judges a container younger than
  // itself once it has seen this fraction of its length (and at least the
  // shortest window).
  double min_history = 0.25;
  // Consecutive evaluations (one per closed bucket) above on_score before
  // the verdict turns to leaking, and below off_score before it turns back.
  int persistence = 3;
  // A restart from at least this fraction of the limit is an out-of-memory
  // kill; two in a row, each after growing for at least the shortest
  // window, are a leak. From there, a fall of 10 % of the limit below the
  // shortest window's floor is a restart, even from a high base.
  double oom_fraction = 0.85;
  double on_score = 0.5;
  double off_score = 0.25;

  bool operator==(const Params&) const = default;
};

// One window's state after the last sample.
struct Verdict {
  bool ready = false;  // the window is covered well enough to judge
  // Its bucket minima are troughs: every quarter of the window holds a
  // collection, or the series shows none. When false the window cannot
  // judge (score 0, verdict kept), as when not ready.
  bool troughs_seen = false;
  double slope_bytes_per_second = 0;
  double r_squared = 0;
  // The fitted line's value at the last evaluation: where the memory
  // baseline (the post-GC minima) stands now, by the trend, with the
  // slope above. Together they give the line the estimator judged.
  double baseline_bytes = 0;
  std::int64_t baseline_at_ms = 0;  // when that was (the evaluation's sample)
  double score = 0;                 // 0 no leak .. 1 certain
  bool suspected = false;
  // At the current slope, seconds until the baseline reaches the limit;
  // nullopt when not growing or no limit is known.
  std::optional<double> time_to_limit_seconds;
  // The first sample after which the verdict turned leaking; never reset.
  std::optional<std::int64_t> first_suspected_at_ms;

  // What leaks, while suspected and the samples said what the memory is
  // made of: the Theil–Sen slope of each kind's bucket minima over the
  // judged span (bytes per second, NaN for a kind not known), and the leak
  // kind whose baseline grows fastest. Empty while not suspected.
  std::optional<Kind> kind;
  KindValues kind_slopes_bytes_per_second = kUnknownKinds;

  // Why: the evidence of the last evaluation, each 0..1 with 0.5 at its
  // threshold (the score is the smallest). For `analyze --explain`.
  struct Evidence {
    double slope_lower_bytes_per_second = 0;  // Theil–Sen 95 % lower bound
    double rate = 0;         // growth above healthy drift, at a leak's rate
    double keeps_going = 0;  // every segment's minimum above the last
    double not_slowing = 0;  // no levelling off (warm-up)
  } evidence;
  std::uint64_t evaluations = 0;  // evaluations so far (one per bucket)
};

// One container's estimator over several windows.
//
// Thread-safety: none; one per container, owned by the sampling loop.
class Estimator {
 public:
  explicit Estimator(std::span<const std::chrono::milliseconds> windows,
                     Params params = {});
  Estimator(Estimator&&) noexcept;
  Estimator& operator=(Estimator&&) noexcept;
  ~Estimator();

  // Feeds one sample; samples must come in time order (older ones are
  // ignored). Cost: O(windows) per sample, plus one bounded evaluation of a
  // window each time one of its buckets closes.
  void Update(const Observation& observation);

  // One verdict per window, in the order given.
  std::span<const Verdict> verdicts() const;

  // A container restart the caller knows of (its cgroup was made anew):
  // forgets the history but keeps first_suspected_at_ms, and counts toward
  // the out-of-memory rule as a restart seen in the samples does.
  void Reset();

  // Changes the windows, keeping the state of every window whose duration
  // is still listed.
  void SetWindows(std::span<const std::chrono::milliseconds> windows);

  // Changes the thresholds, keeping every window's buckets and verdict (a
  // reload must not cost hours of history); only the count of agreeing
  // evaluations starts over, since it was counted against the old
  // thresholds. A different bucket count rebuilds the windows.
  void SetParams(const Params& params);

  // Restarts detected from the samples themselves (memory falling back far
  // below its floor).
  std::uint64_t restarts() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// One process of a container, read from its /proc/<pid>/status.
struct ProcessObservation {
  std::int32_t pid = 0;  // the host's PID
  std::string comm;
  double anon = 0;   // RssAnon: its own anonymous memory
  double shmem = 0;  // RssShmem: shmem and tmpfs pages it maps
};

// The process a container's growth is in.
struct Attribution {
  std::int32_t pid = 0;
  std::string comm;
  double slope_bytes_per_second = 0;  // its own memory's growth
};

// The trends of a container's largest processes, to name the one whose
// own memory accounts for a leak.
//
// Bounded: it follows at most `slots` processes, the largest by anon +
// shmem; a process joins when it is larger than one followed outside the
// largest `slots`, and its history ends when it exits (or the PID is
// reused by another command) or another takes its slot. Each followed
// process keeps, per window, kProcessBuckets bucket minima of its anon
// and shmem memory, allocated with the slot.
//
// Thread-safety: none; one per container, owned by the sampling loop.
class ProcessTrends {
 public:
  static constexpr std::size_t kDefaultSlots = 4;
  static constexpr std::size_t kProcessBuckets = 16;

  explicit ProcessTrends(std::span<const std::chrono::milliseconds> windows,
                         std::size_t slots = kDefaultSlots);
  ProcessTrends(ProcessTrends&&) noexcept;
  ProcessTrends& operator=(ProcessTrends&&) noexcept;
  ~ProcessTrends();

  // One reading of the container's processes (all of them, in any order);
  // readings must come in time order.
  void Update(std::int64_t t_ms, std::span<const ProcessObservation> processes);

  // The followed process whose own memory of `kind` (anon or shmem; no
  // process owns kernel memory) grew over window `window` (an index into
  // the windows given) at least kShareOfGrowth of container_slope, the
  // container's growth of that kind; the fastest if several do. nullopt
  // when none does, or none has a trend over at least half the window.
  std::optional<Attribution> Attribute(std::size_t window, Kind kind,
                                       double container_slope) const;

  // A process accounts for a growth when its own grows this much of it:
  // more than any other process can when it does.
  static constexpr double kShareOfGrowth = 0.6;

  // Changes the windows; every process's history starts over.
  void SetWindows(std::span<const std::chrono::milliseconds> windows);

  // Forgets every process (a container restart).
  void Clear();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace leakwatch::estimator
