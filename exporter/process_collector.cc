// ProcessCollector: the standard process_* series for the daemon itself,
// named and described as client_golang's process collector does.

#include <unistd.h>

#include "exporter/detail/collectors.h"
#include "exporter/detail/families.h"
#include "proc/proc.h"

namespace leakwatch::exporter::detail {

using prometheus::MetricFamily;
using prometheus::MetricType;

ProcessCollector::ProcessCollector(std::filesystem::path procfs,
                                   std::string pid)
    : procfs_(std::move(procfs)),
      pid_(std::move(pid)),
      clock_ticks_(sysconf(_SC_CLK_TCK)),
      page_size_(sysconf(_SC_PAGESIZE)) {}

std::vector<MetricFamily> ProcessCollector::Collect() const {
  std::vector<MetricFamily> out;
  auto stats = proc::ReadProcessStats(procfs_, pid_, clock_ticks_, page_size_);
  if (!stats) return out;
  auto gauge = [&out](const char* name, const char* help, double v) {
    MetricFamily f = Family(name, help, MetricType::Gauge);
    Add(f, {}, v);
    out.push_back(std::move(f));
  };
  MetricFamily cpu = Family("process_cpu_seconds_total",
                            "Total user and system CPU time spent in seconds.",
                            MetricType::Counter);
  Add(cpu, {}, stats->cpu_seconds);
  out.push_back(std::move(cpu));
  gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
        Bytes(stats->resident_bytes));
  gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
        Bytes(stats->virtual_bytes));
  gauge("process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        stats->start_time_seconds);
  if (stats->open_fds) {
    gauge("process_open_fds", "Number of open file descriptors.",
          static_cast<double>(*stats->open_fds));
  }
  if (stats->max_fds) {
    gauge("process_max_fds", "Maximum number of open file descriptors.",
          static_cast<double>(*stats->max_fds));
  }
  return out;
}

}  // namespace leakwatch::exporter::detail
