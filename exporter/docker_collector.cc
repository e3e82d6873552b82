// DockerCollector: leakwatch_docker_up.

#include "exporter/detail/collectors.h"
#include "exporter/detail/docker_metadata.h"
#include "exporter/detail/families.h"

namespace leakwatch::exporter::detail {

DockerCollector::DockerCollector(const DockerMetadata& metadata)
    : metadata_(metadata) {}

std::vector<prometheus::MetricFamily> DockerCollector::Collect() const {
  prometheus::MetricFamily up =
      Family("leakwatch_docker_up",
             "1 while the Docker inventory is current (synced, events stream "
             "open), else 0.",
             prometheus::MetricType::Gauge);
  Add(up, {}, metadata_.up() ? 1 : 0);
  return {std::move(up)};
}

}  // namespace leakwatch::exporter::detail
