#include "exporter/detail/filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace leakwatch::exporter::detail {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const ContainerFilter> Filter(
    std::vector<std::string> include, std::vector<std::string> exclude) {
  auto f = ContainerFilter::Make(include, exclude);
  EXPECT_TRUE(f.has_value()) << f.error().message;
  return f ? *f : nullptr;
}

const std::string kId(64, 'a');

TEST(ContainerFilter, EmptyWatchesEveryContainer) {
  auto f = Filter({}, {});
  EXPECT_TRUE(f->WatchesAll());
  EXPECT_TRUE(f->Watches(kId, "anything"));
  EXPECT_TRUE(f->Watches(kId, ""));
}

TEST(ContainerFilter, IncludeIsAnchoredAtBothEnds) {
  auto f = Filter({"web-.*", "api"}, {});
  EXPECT_FALSE(f->WatchesAll());
  EXPECT_TRUE(f->Watches(kId, "web-1"));
  EXPECT_TRUE(f->Watches(kId, "api"));
  EXPECT_FALSE(f->Watches(kId, "api-2"));     // not a prefix match
  EXPECT_FALSE(f->Watches(kId, "my-web-1"));  // not a substring match
  EXPECT_FALSE(f->Watches(kId, "db"));
}

TEST(ContainerFilter, ExcludeWinsOverInclude) {
  auto f = Filter({"web-.*"}, {".*-canary"});
  EXPECT_TRUE(f->Watches(kId, "web-1"));
  EXPECT_FALSE(f->Watches(kId, "web-canary"));
  auto only_exclude = Filter({}, {"db"});
  EXPECT_TRUE(only_exclude->Watches(kId, "web"));
  EXPECT_FALSE(only_exclude->Watches(kId, "db"));
}

TEST(ContainerFilter, MatchesTheIdWhereNoNameIsKnown) {
  auto f = Filter({"a+"}, {});
  EXPECT_TRUE(f->Watches(kId, ""));
  EXPECT_FALSE(f->Watches(std::string(64, 'b'), ""));
  // A known name is what is matched, not the id.
  EXPECT_FALSE(f->Watches(kId, "web"));
}

TEST(ContainerFilter, RejectsAnInvalidExpressionByName) {
  auto f = ContainerFilter::Make({"ok"}, {"(unclosed"});
  ASSERT_FALSE(f.has_value());
  EXPECT_THAT(f.error().message, HasSubstr("containers.exclude"));
  EXPECT_THAT(f.error().message, HasSubstr("(unclosed"));
}

}  // namespace
}  // namespace leakwatch::exporter::detail
