// Which containers are watched: the selectors of the configuration's
// `containers:` section (names, images, labels).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace re2 {
class RE2;
}

namespace leakwatch::exporter::detail {

struct ContainerMetadata;

// Matches a container against the selection. Names (or the id where no
// name is known) and images are matched with RE2 expressions anchored at
// both ends, as Prometheus' relabelling does; labels with Kubernetes'
// equality requirements. A container is watched when it passes every
// part: an include list is empty or one of its expressions matches, no
// exclude expression matches (exclude wins), and every label requirement
// holds.
//
// Images and labels are known only once Docker has described the
// container. Until then an include-images list or a label requirement
// other than "!key" cannot hold, so the container is not watched yet; the
// sampler asks again every pass, and config validation refuses these
// selectors with Docker off.
//
// Thread-safety: immutable after Make; Watches may be called from any
// thread.
class ContainerFilter {
 public:
  // kInvalid naming the setting whose entry does not compile.
  static Result<std::shared_ptr<const ContainerFilter>> Make(
      const config::ContainerSelection& selection);

  ~ContainerFilter();
  ContainerFilter(const ContainerFilter&) = delete;
  ContainerFilter& operator=(const ContainerFilter&) = delete;

  // Whether a container is watched. known is nullptr when the runtime has
  // not described the container; its id stands in for the name then.
  bool Watches(std::string_view id, const ContainerMetadata* known) const;
  // True when every container is watched (no selectors at all), so the
  // sampler can skip looking metadata up.
  bool WatchesAll() const;

 private:
  using Expressions = std::vector<std::unique_ptr<re2::RE2>>;
  ContainerFilter() = default;
  Expressions include_;
  Expressions exclude_;
  Expressions include_images_;
  Expressions exclude_images_;
  std::vector<config::LabelRequirement> labels_;
};

}  // namespace leakwatch::exporter::detail
