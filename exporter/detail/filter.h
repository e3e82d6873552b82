// Which containers are watched: the include and exclude regular
// expressions of the configuration's `containers:` section.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace re2 {
class RE2;
}

namespace leakwatch::exporter::detail {

// Matches a container's name (or its id where no name is known) against
// RE2 expressions anchored at both ends, as Prometheus' relabelling does:
// a container is watched when include is empty or one include expression
// matches, and no exclude expression matches (exclude wins).
//
// Thread-safety: immutable after Make; Watches may be called from any
// thread.
class ContainerFilter {
 public:
  // kInvalid naming the expression that does not compile.
  static Result<std::shared_ptr<const ContainerFilter>> Make(
      const std::vector<std::string>& include,
      const std::vector<std::string>& exclude);

  ~ContainerFilter();
  ContainerFilter(const ContainerFilter&) = delete;
  ContainerFilter& operator=(const ContainerFilter&) = delete;

  // Whether a container is watched. name is empty when no name is known;
  // the id is matched then.
  bool Watches(std::string_view id, std::string_view name) const;
  // True when every container is watched (no expressions at all), so the
  // sampler can skip looking names up.
  bool WatchesAll() const { return include_.empty() && exclude_.empty(); }

 private:
  ContainerFilter() = default;
  std::vector<std::unique_ptr<re2::RE2>> include_;
  std::vector<std::unique_ptr<re2::RE2>> exclude_;
};

}  // namespace leakwatch::exporter::detail
