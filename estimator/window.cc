#include "estimator/detail/window.h"

#include <algorithm>
#include <optional>

namespace leakwatch::estimator::detail {
namespace {

bool Shorter(const Window& a, const Window& b) {
  return a.window_ms < b.window_ms;
}

}  // namespace

void Window::Clear() {
  for (Bucket& b : ring) b = Bucket{};
  open = kNoBucket;
  above = 0;
  below = 0;
  std::optional<std::int64_t> first = verdict.first_suspected_at_ms;
  verdict = Verdict{};
  verdict.first_suspected_at_ms = first;
}

Bucket& Window::Slot(std::int64_t index) {
  const auto size = static_cast<std::int64_t>(ring.size());
  return ring[static_cast<std::size_t>(((index % size) + size) % size)];
}

const Bucket& Window::Slot(std::int64_t index) const {
  const auto size = static_cast<std::int64_t>(ring.size());
  return ring[static_cast<std::size_t>(((index % size) + size) % size)];
}

const Window* Shortest(std::span<const Window> windows) {
  auto it = std::min_element(windows.begin(), windows.end(), Shorter);
  return it == windows.end() ? nullptr : &*it;
}

const Window* Longest(std::span<const Window> windows) {
  auto it = std::max_element(windows.begin(), windows.end(), Shorter);
  return it == windows.end() ? nullptr : &*it;
}

std::int64_t ShortestWindowMs(std::span<const Window> windows) {
  const Window* shortest = Shortest(windows);
  return shortest == nullptr ? std::numeric_limits<std::int64_t>::max()
                             : shortest->window_ms;
}

}  // namespace leakwatch::estimator::detail
