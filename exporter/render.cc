// Render: every collector's families as one text exposition.

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <iterator>
#include <sstream>

#include "exporter/detail/collectors.h"

namespace leakwatch::exporter::detail {

using prometheus::ClientMetric;
using prometheus::MetricFamily;

std::string Render(
    const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables) {
  std::vector<MetricFamily> families;
  for (const auto& c : collectables) {
    auto more = c->Collect();
    std::move(more.begin(), more.end(), std::back_inserter(families));
  }
  families.erase(
      std::remove_if(families.begin(), families.end(),
                     [](const MetricFamily& f) { return f.metric.empty(); }),
      families.end());
  std::sort(families.begin(), families.end(),
            [](const MetricFamily& a, const MetricFamily& b) {
              return a.name < b.name;
            });
  for (MetricFamily& f : families) {
    for (ClientMetric& m : f.metric) std::sort(m.label.begin(), m.label.end());
    std::stable_sort(f.metric.begin(), f.metric.end(),
                     [](const ClientMetric& a, const ClientMetric& b) {
                       return a.label < b.label;
                     });
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace leakwatch::exporter::detail
