#include "exporter/detail/filter.h"

#include <re2/re2.h>

#include <algorithm>

#include "exporter/detail/metadata.h"

namespace leakwatch::exporter::detail {
namespace {

Result<std::vector<std::unique_ptr<re2::RE2>>> Compile(
    const std::vector<std::string>& patterns, const char* setting) {
  std::vector<std::unique_ptr<re2::RE2>> out;
  for (const std::string& pattern : patterns) {
    // Quiet: the error comes back as a value, not on stderr.
    auto re = std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet);
    if (!re->ok()) {
      return MakeError(ErrorCode::kInvalid,
                       std::string(setting) +
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

// Whether one requirement holds; labels is nullptr when unknown, and then
// only "not set" can hold (no labels are known to be set).
bool Holds(const config::LabelRequirement& r,
           const std::map<std::string, std::string>* labels) {
  using Op = config::LabelRequirement::Op;
  if (labels == nullptr) return r.op == Op::kNotExists;
  auto it = labels->find(r.key);
  switch (r.op) {
    case Op::kEquals:
      return it != labels->end() && it->second == r.value;
    case Op::kNotEquals:
      // As in Kubernetes: a container without the label meets "key!=v".
      return it == labels->end() || it->second != r.value;
    case Op::kExists:
      return it != labels->end();
    case Op::kNotExists:
      return it == labels->end();
  }
  return false;
}

}  // namespace

ContainerFilter::~ContainerFilter() = default;

Result<std::shared_ptr<const ContainerFilter>> ContainerFilter::Make(
    const config::ContainerSelection& selection) {
  std::shared_ptr<ContainerFilter> filter(new ContainerFilter());
  const std::pair<const std::vector<std::string>*, Expressions*> lists[] = {
      {&selection.include, &filter->include_},
      {&selection.exclude, &filter->exclude_},
      {&selection.include_images, &filter->include_images_},
      {&selection.exclude_images, &filter->exclude_images_}};
  const char* settings[] = {"containers.include", "containers.exclude",
                            "containers.include-images",
                            "containers.exclude-images"};
  for (std::size_t i = 0; i < std::size(lists); ++i) {
    auto compiled = Compile(*lists[i].first, settings[i]);
    if (!compiled) {
      return PassOn(compiled.error());
    }
    *lists[i].second = std::move(*compiled);
  }
  for (const std::string& item : selection.label_selector) {
    auto r = config::ParseLabelRequirement(item);
    if (!r) {
      return MakeError(r.error().code,
                       "containers.label-selector: " + r.error().message);
    }
    filter->labels_.push_back(std::move(*r));
  }
  return std::shared_ptr<const ContainerFilter>(std::move(filter));
}

bool ContainerFilter::WatchesAll() const {
  return include_.empty() && exclude_.empty() && include_images_.empty() &&
         exclude_images_.empty() && labels_.empty();
}

bool ContainerFilter::Watches(std::string_view id,
                              const ContainerMetadata* known) const {
  if (WatchesAll()) return true;
  const std::string_view subject = known != nullptr && !known->name.empty()
                                       ? std::string_view(known->name)
                                       : id;
  if (!include_.empty() && !AnyMatches(include_, subject)) return false;
  if (AnyMatches(exclude_, subject)) return false;
  if (!include_images_.empty() || !exclude_images_.empty()) {
    // No image known: no include expression can match it, and nothing is
    // known to exclude.
    if (known == nullptr || known->image.empty()) {
      if (!include_images_.empty()) return false;
    } else {
      if (!include_images_.empty() &&
          !AnyMatches(include_images_, known->image)) {
        return false;
      }
      if (AnyMatches(exclude_images_, known->image)) return false;
    }
  }
  const std::map<std::string, std::string>* labels =
      known != nullptr ? &known->labels : nullptr;
  return std::all_of(
      labels_.begin(), labels_.end(),
      [labels](const config::LabelRequirement& r) { return Holds(r, labels); });
}

}  // namespace leakwatch::exporter::detail
