// Holds a known amount of anonymous memory: allocates N MiB, writes every
// page so the kernel charges it, prints "ready" and sleeps until killed.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: memhog MIB\n");
    return 2;
  }
  const std::size_t bytes =
      static_cast<std::size_t>(std::strtoul(argv[1], nullptr, 10)) << 20;
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  // Distinct non-zero bytes, so no page can be shared or deduplicated.
  std::memset(mem, 0x5a, bytes);
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) pause();
}
