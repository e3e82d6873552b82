// ContainerCollector: the leakwatch_container_* families, from the
// newest snapshot. Each family is one entry of a table below: its name,
// help, type and how a container (or a window's verdict) gives its value.

#include <algorithm>
#include <cmath>
#include <string>

#include "exporter/detail/collectors.h"
#include "exporter/detail/container_labels.h"
#include "exporter/detail/families.h"

namespace leakwatch::exporter::detail {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// One per-container family: name, help, type and how to get the value
// (nullopt leaves the container's series out).
struct ContainerSeries {
  const char* name;
  const char* help;
  MetricType type;
  std::optional<double> (*value)(const ContainerSnapshot&);
};

const ContainerSeries kContainerSeries[] = {
    {"leakwatch_container_memory_usage_bytes",
     "Cgroup memory usage (v1 memory.usage_in_bytes, v2 memory.current).",
     MetricType::Gauge,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       return Bytes(c.sample.usage_bytes);
     }},
    {"leakwatch_container_memory_working_set_bytes",
     "Memory usage minus inactive file pages, floored at 0.", MetricType::Gauge,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       return Bytes(c.sample.working_set_bytes);
     }},
    {"leakwatch_container_memory_rss_bytes",
     "Anonymous memory (v1 total_rss, v2 anon).", MetricType::Gauge,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       return Bytes(c.sample.rss_bytes);
     }},
    {"leakwatch_container_memory_cache_bytes",
     "File-backed page cache (v1 total_cache, v2 file).", MetricType::Gauge,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       return Bytes(c.sample.cache_bytes);
     }},
    {"leakwatch_container_memory_swap_bytes",
     "Swap used, where the kernel accounts it.", MetricType::Gauge,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       if (!c.sample.swap_bytes) return std::nullopt;
       return Bytes(*c.sample.swap_bytes);
     }},
    {"leakwatch_container_memory_shmem_bytes",
     "Shmem and tmpfs pages charged to the cgroup (v1 total_shmem, v2 "
     "shmem): inside cache_bytes, yet never reclaimable while the file "
     "exists.",
     MetricType::Gauge,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       if (!c.sample.shmem_bytes) return std::nullopt;
       return Bytes(*c.sample.shmem_bytes);
     }},
    {"leakwatch_container_memory_kernel_bytes",
     "Kernel memory charged to the cgroup (v2 kernel, else its parts; v1 "
     "memory.kmem.usage_in_bytes, else usage minus the LRU pages).",
     MetricType::Gauge,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       if (!c.sample.kernel_bytes) return std::nullopt;
       return Bytes(*c.sample.kernel_bytes);
     }},
    {"leakwatch_container_memory_mapped_file_bytes",
     "File pages mapped into processes (v1 total_mapped_file, v2 "
     "file_mapped); file memory, not part of the leak signal.",
     MetricType::Gauge,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       if (!c.sample.mapped_file_bytes) return std::nullopt;
       return Bytes(*c.sample.mapped_file_bytes);
     }},
    {"leakwatch_container_memory_limit_bytes",
     "Cgroup memory limit; absent when unlimited.", MetricType::Gauge,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       if (!c.sample.limit_bytes) return std::nullopt;
       return Bytes(*c.sample.limit_bytes);
     }},
    {"leakwatch_container_memory_oom_events_total", "OOM kills in the cgroup.",
     MetricType::Counter,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       if (c.sample.oom_kills) return static_cast<double>(*c.sample.oom_kills);
       // Kernels before 4.13 (v1 memory.oom_control without oom_kill) and
       // the stats fallback: Docker's oom events, counted since we knew it.
       if (c.metadata != nullptr && c.metadata->oom_events) {
         return static_cast<double>(*c.metadata->oom_events);
       }
       return std::nullopt;
     }},
    {"leakwatch_container_memory_pressure_some_seconds_total",
     "Time some tasks stalled on memory (PSI memory.pressure).",
     MetricType::Counter,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       if (!c.sample.psi_memory_some_us) return std::nullopt;
       return MicrosToSeconds(*c.sample.psi_memory_some_us);
     }},
    {"leakwatch_container_memory_pressure_full_seconds_total",
     "Time all tasks stalled on memory (PSI memory.pressure).",
     MetricType::Counter,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       if (!c.sample.psi_memory_full_us) return std::nullopt;
       return MicrosToSeconds(*c.sample.psi_memory_full_us);
     }},
    {"leakwatch_container_cpu_usage_seconds_total", "CPU time used.",
     MetricType::Counter,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       if (!c.sample.cpu_usage_ns) return std::nullopt;
       return NanosToSeconds(*c.sample.cpu_usage_ns);
     }},
    {"leakwatch_container_cpu_throttled_seconds_total",
     "Time throttled by the CPU quota.", MetricType::Counter,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       if (!c.sample.cpu_throttled_ns) return std::nullopt;
       return NanosToSeconds(*c.sample.cpu_throttled_ns);
     }},
    {"leakwatch_container_start_time_seconds",
     "Container start time (Unix time): Docker's when known, else when "
     "leakwatch first saw it.",
     MetricType::Gauge,
     [](const ContainerSnapshot& c) -> std::optional<double> {
       if (c.metadata != nullptr && c.metadata->started_at_seconds) {
         return *c.metadata->started_at_seconds;
       }
       return c.first_seen_seconds;
     }},
};

// id always; what the runtime knows when it knows the container.
std::vector<ClientMetric::Label> ContainerLabels(
    const ContainerSnapshot& c, const LabelAllowList& allow_list) {
  std::vector<ClientMetric::Label> labels = {{"id", c.id}};
  if (c.metadata != nullptr) {
    AppendMetadataLabels(*c.metadata, allow_list, labels);
  }
  return labels;
}

// One per-container, per-window leak family: the value of a window's
// verdict, nullopt leaving the series out.
struct LeakSeries {
  const char* name;
  const char* help;
  std::optional<double> (*value)(const LeakVerdict&);
};

// Score, suspected and ready exist for every window from a container's
// first sample, so `max without(window)` alerts and dashboards see a 0
// rather than nothing; they stay 0 until the window first holds enough
// history, and ready tells that 0 from a judged one.
// Slope, r², baseline and time to limit describe a fit over the whole window,
// so they appear only once it is covered (ready): a fit over the first minutes
// would be a different, noisier number under the same name.
const LeakSeries kLeakSeries[] = {
    {"leakwatch_container_memory_leak_slope_bytes_per_second",
     "Growth rate of the memory baseline (post-GC minima) over the window, "
     "Theil-Sen. Absent until the window holds enough history.",
     [](const LeakVerdict& v) -> std::optional<double> {
       if (!v.ready) return std::nullopt;
       return v.slope_bytes_per_second;
     }},
    {"leakwatch_container_memory_leak_r_squared",
     "How well a straight line fits the window's memory baseline (0..1). "
     "Absent until the window holds enough history.",
     [](const LeakVerdict& v) -> std::optional<double> {
       if (!v.ready) return std::nullopt;
       return v.r_squared;
     }},
    {"leakwatch_container_memory_leak_baseline_bytes",
     "Where the fitted trend line of the memory baseline (post-GC minima) "
     "stood at the window's last evaluation; with the slope, the trend the "
     "estimator judged. Absent until the window holds enough history.",
     [](const LeakVerdict& v) -> std::optional<double> {
       if (!v.ready) return std::nullopt;
       return v.baseline_bytes;
     }},
    {"leakwatch_container_memory_leak_score",
     "Leak suspicion over the window, 0 (none) to 1 (certain); 0 until the "
     "window holds enough history.",
     [](const LeakVerdict& v) -> std::optional<double> {
       return v.ready ? v.score : 0.0;
     }},
    {"leakwatch_container_memory_leak_suspected",
     "1 when the estimator's verdict for the window is leaking, else 0 "
     "(also while the window does not yet hold enough history).",
     [](const LeakVerdict& v) -> std::optional<double> {
       return v.suspected ? 1.0 : 0.0;
     }},
    {"leakwatch_container_memory_leak_ready",
     "1 while the window can judge: it holds enough history and its minima "
     "are GC troughs. While 0, a score of 0 means the window cannot tell, "
     "not that the container is fine.",
     [](const LeakVerdict& v) -> std::optional<double> {
       return v.judges() ? 1.0 : 0.0;
     }},
    {"leakwatch_container_memory_time_to_limit_seconds",
     "At the window's slope, seconds until the memory limit (the cgroup "
     "limit, else the host's memory). Absent when not growing or not yet "
     "enough history.",
     [](const LeakVerdict& v) -> std::optional<double> {
       if (!v.ready) return std::nullopt;
       return v.time_to_limit_seconds;
     }},
};

using Identity = std::vector<std::vector<ClientMetric::Label>>;

void AddContainerFamilies(const std::vector<ContainerSnapshot>& containers,
                          const Identity& identity,
                          std::vector<MetricFamily>& out) {
  for (const ContainerSeries& series : kContainerSeries) {
    MetricFamily f = Family(series.name, series.help, series.type);
    f.metric.reserve(containers.size());
    for (std::size_t k = 0; k < containers.size(); ++k) {
      if (auto v = series.value(containers[k])) Add(f, identity[k], *v);
    }
    out.push_back(std::move(f));
  }
}

void AddLeakFamilies(const std::vector<ContainerSnapshot>& containers,
                     const Identity& identity,
                     const std::vector<std::string>& windows,
                     std::vector<MetricFamily>& out) {
  for (const LeakSeries& series : kLeakSeries) {
    MetricFamily f = Family(series.name, series.help, MetricType::Gauge);
    f.metric.reserve(containers.size() * windows.size());
    for (std::size_t k = 0; k < containers.size(); ++k) {
      // Verdicts and labels come from the same pass; a snapshot made
      // without them (no estimator) has no leak series.
      if (containers[k].leak.size() != windows.size()) continue;
      for (std::size_t i = 0; i < windows.size(); ++i) {
        auto v = series.value(containers[k].leak[i]);
        if (!v) continue;
        std::vector<ClientMetric::Label> labels = identity[k];
        labels.push_back({"window", windows[i]});
        Add(f, std::move(labels), *v);
      }
    }
    out.push_back(std::move(f));
  }
}

// What leaks, for suspected windows only, so that a container that is not
// suspected adds no series per kind or process: one leak_info per
// suspected window naming the dominant kind and the process, and one
// slope per kind the kernel reports.
void AddWhatLeaksFamilies(const std::vector<ContainerSnapshot>& containers,
                          const Identity& identity,
                          const std::vector<std::string>& windows,
                          std::vector<MetricFamily>& out) {
  MetricFamily info =
      Family("leakwatch_container_memory_leak_info",
             "What leaks, for a suspected window: kind is the leak kind whose "
             "baseline grows fastest (anon, shmem or kernel); process and pid "
             "name the process whose own memory accounts for the growth, empty "
             "when none does.",
             MetricType::Gauge);
  MetricFamily slopes = Family(
      "leakwatch_container_memory_leak_kind_slope_bytes_per_second",
      "For a suspected window: the growth of each kind's baseline (anon, "
      "shmem, kernel and, where the kernel splits it, slab, sock, "
      "kernel_stack, pagetables), Theil-Sen over the window's minima.",
      MetricType::Gauge);
  for (std::size_t k = 0; k < containers.size(); ++k) {
    if (containers[k].leak.size() != windows.size()) continue;
    for (std::size_t i = 0; i < windows.size(); ++i) {
      const LeakVerdict& v = containers[k].leak[i];
      if (!v.suspected || !v.kind) continue;
      std::vector<ClientMetric::Label> labels = identity[k];
      labels.push_back({"window", windows[i]});
      for (std::size_t kind = 0; kind < estimator::kKinds; ++kind) {
        if (!std::isfinite(v.kind_slopes[kind])) continue;
        std::vector<ClientMetric::Label> with_kind = labels;
        with_kind.push_back({"kind", std::string(estimator::KindName(
                                         static_cast<estimator::Kind>(kind)))});
        Add(slopes, std::move(with_kind), v.kind_slopes[kind]);
      }
      labels.push_back({"kind", std::string(estimator::KindName(*v.kind))});
      labels.push_back({"process", v.process ? v.process->comm : ""});
      labels.push_back(
          {"pid", v.process ? std::to_string(v.process->pid) : ""});
      Add(info, std::move(labels), 1);
    }
  }
  out.push_back(std::move(info));
  out.push_back(std::move(slopes));
}

}  // namespace

std::vector<MetricFamily> ContainerCollector::Collect() const {
  std::shared_ptr<const Snapshot> snap = box_.Get();
  // The allow-list in force for this snapshot (a reload changes it).
  const LabelAllowList allow_list(*snap->label_keys);
  // Each container's identity labels, built once for all its series.
  const std::vector<ContainerSnapshot>& containers = snap->containers;
  Identity identity;
  identity.reserve(containers.size());
  for (const ContainerSnapshot& c : containers) {
    identity.push_back(ContainerLabels(c, allow_list));
  }
  std::vector<MetricFamily> out;
  out.reserve(std::size(kContainerSeries) + std::size(kLeakSeries) + 2);
  AddContainerFamilies(containers, identity, out);
  AddLeakFamilies(containers, identity, *snap->window_labels, out);
  AddWhatLeaksFamilies(containers, identity, *snap->window_labels, out);
  return out;
}

}  // namespace leakwatch::exporter::detail
