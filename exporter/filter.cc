#include "exporter/detail/filter.h"

#include <re2/re2.h>

#include <algorithm>

namespace leakwatch::exporter::detail {
namespace {

Result<std::vector<std::unique_ptr<re2::RE2>>> Compile(
    const std::vector<std::string>& patterns, const char* which) {
  std::vector<std::unique_ptr<re2::RE2>> out;
  for (const std::string& pattern : patterns) {
    // Quiet: the error comes back as a value, not on stderr.
    auto re = std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet);
    if (!re->ok()) {
      return MakeError(ErrorCode::kInvalid,
                       std::string("containers.") + which +
                           ": invalid regular expression \"" + pattern +
                           "\": " + re->error());
    }
    out.push_back(std::move(re));
  }
  return out;
}

bool AnyMatches(const std::vector<std::unique_ptr<re2::RE2>>& expressions,
                std::string_view subject) {
  return std::any_of(expressions.begin(), expressions.end(),
                     [subject](const std::unique_ptr<re2::RE2>& re) {
                       return re2::RE2::FullMatch(subject, *re);
                     });
}

}  // namespace

ContainerFilter::~ContainerFilter() = default;

Result<std::shared_ptr<const ContainerFilter>> ContainerFilter::Make(
    const std::vector<std::string>& include,
    const std::vector<std::string>& exclude) {
  auto in = Compile(include, "include");
  if (!in) return MakeError(in.error().code, in.error().message);
  auto out = Compile(exclude, "exclude");
  if (!out) return MakeError(out.error().code, out.error().message);
  std::shared_ptr<ContainerFilter> filter(new ContainerFilter());
  filter->include_ = std::move(*in);
  filter->exclude_ = std::move(*out);
  return std::shared_ptr<const ContainerFilter>(std::move(filter));
}

bool ContainerFilter::Watches(std::string_view id,
                              std::string_view name) const {
  if (WatchesAll()) return true;
  const std::string_view subject = name.empty() ? id : name;
  if (!include_.empty() && !AnyMatches(include_, subject)) return false;
  return !AnyMatches(exclude_, subject);
}

}  // namespace leakwatch::exporter::detail
