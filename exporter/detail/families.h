// Building prometheus-cpp metric families by hand, as every collector here
// does: a family, a series in it, and the unit conversions the kernel's
// counters need.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <vector>

namespace leakwatch::exporter::detail {

prometheus::MetricFamily Family(std::string name, std::string help,
                                prometheus::MetricType type);

// A series with these labels; a counter's or a gauge's value by the
// family's type.
void Add(prometheus::MetricFamily& family,
         std::vector<prometheus::ClientMetric::Label> labels, double value);

inline double Bytes(std::uint64_t v) { return static_cast<double>(v); }

// Whole seconds and the remainder apart, so large counters keep their
// nanoseconds (microseconds) as far as a double can.
inline double NanosToSeconds(std::uint64_t ns) {
  return static_cast<double>(ns / 1'000'000'000) +
         static_cast<double>(ns % 1'000'000'000) / 1e9;
}
inline double MicrosToSeconds(std::uint64_t us) {
  return static_cast<double>(us / 1'000'000) +
         static_cast<double>(us % 1'000'000) / 1e6;
}

}  // namespace leakwatch::exporter::detail
