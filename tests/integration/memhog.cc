// Holds a known amount of anonymous memory: allocates N MiB, writes every
// page so the kernel charges it, prints "ready" and sleeps until killed.
//
//   memhog MIB                       hold MIB
//   memhog MIB GROW_MIB_PER_S CAP    then leak: touch GROW MiB more every
//                                    second (in tenths), up to CAP MiB, and
//                                    hold that
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

std::size_t MiB(const char* text) {
  return static_cast<std::size_t>(std::strtoul(text, nullptr, 10)) << 20;
}

// Sleeps until `at` (CLOCK_MONOTONIC), so the growth rate does not drift
// with the time the page faults take.
void SleepUntil(const timespec& at) {
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) != 0) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::fprintf(stderr, "usage: memhog MIB [GROW_MIB_PER_S CAP_MIB]\n");
    return 2;
  }
  const std::size_t bytes = MiB(argv[1]);
  const std::size_t grow = argc == 4 ? MiB(argv[2]) : 0;
  const std::size_t cap = argc == 4 ? MiB(argv[3]) : bytes;
  const std::size_t reserve = cap > bytes ? cap : bytes;
  // Reserved up front, charged only as pages are written.
  void* mem = mmap(nullptr, reserve, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  char* base = static_cast<char*>(mem);
  // Distinct non-zero bytes, so no page can be shared or deduplicated.
  std::memset(base, 0x5a, bytes);
  std::printf("ready\n");
  std::fflush(stdout);

  std::size_t touched = bytes;
  const std::size_t step = grow / 10;
  timespec next{};
  clock_gettime(CLOCK_MONOTONIC, &next);
  while (step > 0 && touched < cap) {
    next.tv_nsec += 100'000'000;
    if (next.tv_nsec >= 1'000'000'000) {
      next.tv_nsec -= 1'000'000'000;
      ++next.tv_sec;
    }
    SleepUntil(next);
    const std::size_t n = touched + step > cap ? cap - touched : step;
    std::memset(base + touched, 0x5a, n);
    touched += n;
  }
  for (;;) pause();
}
