// Holds a known amount of anonymous memory: allocates N MiB, writes every
// page so the kernel charges it, prints "ready" and sleeps until killed.
//
//   memhog MIB                       hold MIB
//   memhog MIB GROW_MIB_PER_S CAP    then leak: touch GROW MiB more every
//                                    second (in tenths), up to CAP MiB, and
//                                    hold that
//   memhog saw MIB PEAK_MIB PERIOD_S hold MIB, and above it a collected
//                                    heap: touch up to PEAK MiB in even
//                                    steps every 0.1 s over PERIOD_S
//                                    seconds (at least 1), give it all
//                                    back to the kernel at once, and
//                                    again, forever
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr long kTickNanos = 100'000'000;

std::size_t MiB(const char* text) {
  return static_cast<std::size_t>(std::strtoul(text, nullptr, 10)) << 20;
}

// Sleeps until `at` (CLOCK_MONOTONIC), so the growth rate does not drift
// with the time the page faults take.
void SleepUntil(const timespec& at) {
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) != 0) {
  }
}

// The tick after `at`, 0.1 s later.
void NextTick(timespec& at) {
  at.tv_nsec += kTickNanos;
  if (at.tv_nsec >= 1'000'000'000) {
    at.tv_nsec -= 1'000'000'000;
    ++at.tv_sec;
  }
}

// Reserved up front, charged only as pages are written.
char* Reserve(std::size_t bytes) {
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) {
    std::perror("mmap");
    std::exit(1);
  }
  return static_cast<char*>(mem);
}

void Ready() {
  std::printf("ready\n");
  std::fflush(stdout);
}

// Distinct non-zero bytes, so no page can be shared or deduplicated.
void Touch(char* from, std::size_t n) { std::memset(from, 0x5a, n); }

[[noreturn]] void Leak(std::size_t bytes, std::size_t grow, std::size_t cap) {
  const std::size_t reserve = cap > bytes ? cap : bytes;
  char* base = Reserve(reserve);
  Touch(base, bytes);
  Ready();

  std::size_t touched = bytes;
  const std::size_t step = grow / 10;
  timespec next{};
  clock_gettime(CLOCK_MONOTONIC, &next);
  while (step > 0 && touched < cap) {
    NextTick(next);
    SleepUntil(next);
    const std::size_t n = touched + step > cap ? cap - touched : step;
    Touch(base + touched, n);
    touched += n;
  }
  for (;;) pause();
}

// MADV_DONTNEED uncharges the pages at once, as a collector that unmaps
// its freed heap does, so the cgroup's anonymous memory falls to `bytes`.
[[noreturn]] void Saw(std::size_t bytes, std::size_t peak, long period_s) {
  const std::size_t reserve = peak > bytes ? peak : bytes;
  char* base = Reserve(reserve);
  Touch(base, bytes);
  Ready();

  // Touched on every tick of the period but the last, freed on the last.
  const long ticks = period_s > 1 ? period_s * 10 : 10;
  const std::size_t heap = reserve - bytes;
  const std::size_t step = heap / static_cast<std::size_t>(ticks - 1);
  timespec next{};
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (;;) {
    for (long i = 1; i <= ticks; ++i) {
      NextTick(next);
      SleepUntil(next);
      if (i == ticks) {
        madvise(base + bytes, heap, MADV_DONTNEED);
      } else {
        Touch(base + bytes + static_cast<std::size_t>(i - 1) * step, step);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "saw") == 0) {
    Saw(MiB(argv[2]), MiB(argv[3]), std::strtol(argv[4], nullptr, 10));
  }
  if (argc != 2 && argc != 4) {
    std::fprintf(stderr,
                 "usage: memhog MIB [GROW_MIB_PER_S CAP_MIB]\n"
                 "       memhog saw MIB PEAK_MIB PERIOD_S\n");
    return 2;
  }
  const std::size_t bytes = MiB(argv[1]);
  Leak(bytes, argc == 4 ? MiB(argv[2]) : 0, argc == 4 ? MiB(argv[3]) : bytes);
}
