// ExporterCollector: leakwatch's own gauges.

#include "exporter/detail/collectors.h"
#include "exporter/detail/families.h"

namespace leakwatch::exporter::detail {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

double ToSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

ExporterCollector::ExporterCollector(const SnapshotBox& box, ExporterInfo info,
                                     WallClock clock)
    : box_(box), info_(std::move(info)), clock_(std::move(clock)) {}

std::vector<MetricFamily> ExporterCollector::Collect() const {
  std::shared_ptr<const Snapshot> snap = box_.Get();
  std::vector<MetricFamily> out;
  MetricFamily build = Family(
      "leakwatch_build_info",
      "A metric with a constant '1' value labeled by version and revision.",
      MetricType::Gauge);
  Add(build, {{"revision", info_.revision}, {"version", info_.version}}, 1);
  out.push_back(std::move(build));

  MetricFamily up = Family(
      "leakwatch_up",
      "1 while the last sampling pass finished within two sample intervals.",
      MetricType::Gauge);
  Add(up, {},
      SamplingCurrent(*snap, ToSeconds(clock_()),
                      info_.config->sample_interval())
          ? 1
          : 0);
  out.push_back(std::move(up));

  MetricFamily count =
      Family("leakwatch_containers", "Containers watched, after filters.",
             MetricType::Gauge);
  Add(count, {}, static_cast<double>(snap->containers.size()));
  out.push_back(std::move(count));

  if (snap->passes > 0) {
    MetricFamily duration =
        Family("leakwatch_sample_duration_seconds",
               "Wall time of the last sampling pass.", MetricType::Gauge);
    Add(duration, {}, snap->pass_duration_seconds);
    out.push_back(std::move(duration));
  }

  MetricFamily reload_ok =
      Family("leakwatch_config_last_reload_successful",
             "Whether the last configuration reload attempt was successful.",
             MetricType::Gauge);
  Add(reload_ok, {}, info_.config->last_reload_successful() ? 1 : 0);
  out.push_back(std::move(reload_ok));
  MetricFamily reload_ts =
      Family("leakwatch_config_last_reload_success_timestamp_seconds",
             "Timestamp of the last successful configuration reload.",
             MetricType::Gauge);
  Add(reload_ts, {}, info_.config->last_reload_success_seconds());
  out.push_back(std::move(reload_ts));
  return out;
}

}  // namespace leakwatch::exporter::detail
