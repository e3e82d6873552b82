// Replaces the global operator new to count allocations, so a test can show
// that ContainerReader::Read makes none. Kept in its own file: GCC's
// -Wmismatched-new-delete misfires when the replacements are inlined into
// their callers. Every allocation still goes to malloc.
#include <atomic>
#include <cstdlib>
#include <new>

#include "cgroup_test_util.h"

namespace {
std::atomic<long> allocations{0};
}  // namespace

namespace leakwatch::cgroup::testing {
long AllocationCount() { return allocations.load(std::memory_order_relaxed); }
}  // namespace leakwatch::cgroup::testing

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
