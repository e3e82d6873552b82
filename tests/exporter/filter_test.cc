#include "exporter/detail/filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporter/detail/metadata.h"

namespace leakwatch::exporter::detail {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const ContainerFilter> Filter(
    const config::ContainerSelection& selection) {
  auto f = ContainerFilter::Make(selection);
  EXPECT_TRUE(f.has_value()) << f.error().message;
  return f ? *f : nullptr;
}

std::shared_ptr<const ContainerFilter> Filter(
    std::vector<std::string> include, std::vector<std::string> exclude) {
  config::ContainerSelection s;
  s.include = std::move(include);
  s.exclude = std::move(exclude);
  return Filter(s);
}

const std::string kId(64, 'a');

ContainerMetadata Named(std::string name, std::string image = "app:1",
                        std::map<std::string, std::string> labels = {}) {
  ContainerMetadata m;
  m.name = std::move(name);
  m.image = std::move(image);
  m.labels = std::move(labels);
  return m;
}

bool Watches(const ContainerFilter& f, const std::string& name) {
  if (name.empty()) return f.Watches(kId, nullptr);
  ContainerMetadata m = Named(name);
  return f.Watches(kId, &m);
}

TEST(ContainerFilter, EmptyWatchesEveryContainer) {
  auto f = Filter({}, {});
  EXPECT_TRUE(f->WatchesAll());
  EXPECT_TRUE(Watches(*f, "anything"));
  EXPECT_TRUE(Watches(*f, ""));
}

TEST(ContainerFilter, IncludeIsAnchoredAtBothEnds) {
  auto f = Filter({"web-.*", "api"}, {});
  EXPECT_FALSE(f->WatchesAll());
  EXPECT_TRUE(Watches(*f, "web-1"));
  EXPECT_TRUE(Watches(*f, "api"));
  EXPECT_FALSE(Watches(*f, "api-2"));     // not a prefix match
  EXPECT_FALSE(Watches(*f, "my-web-1"));  // not a substring match
  EXPECT_FALSE(Watches(*f, "db"));
}

TEST(ContainerFilter, ExcludeWinsOverInclude) {
  auto f = Filter({"web-.*"}, {".*-canary"});
  EXPECT_TRUE(Watches(*f, "web-1"));
  EXPECT_FALSE(Watches(*f, "web-canary"));
  auto only_exclude = Filter({}, {"db"});
  EXPECT_TRUE(Watches(*only_exclude, "web"));
  EXPECT_FALSE(Watches(*only_exclude, "db"));
}

TEST(ContainerFilter, MatchesTheIdWhereNoNameIsKnown) {
  auto f = Filter({"a+"}, {});
  EXPECT_TRUE(f->Watches(kId, nullptr));
  EXPECT_FALSE(f->Watches(std::string(64, 'b'), nullptr));
  // A known name is what is matched, not the id.
  EXPECT_FALSE(Watches(*f, "web"));
}

TEST(ContainerFilter, RejectsAnInvalidExpressionByName) {
  config::ContainerSelection s;
  s.include = {"ok"};
  s.exclude_images = {"(unclosed"};
  auto f = ContainerFilter::Make(s);
  ASSERT_FALSE(f.has_value());
  EXPECT_THAT(f.error().message, HasSubstr("containers.exclude-images"));
  EXPECT_THAT(f.error().message, HasSubstr("(unclosed"));
}

TEST(ContainerFilter, SelectsByImageAnchoredAndExcludeWins) {
  config::ContainerSelection s;
  s.include_images = {"registry.example/shop/.*", "node:.*"};
  s.exclude_images = {".*:debug"};
  auto f = Filter(s);
  EXPECT_FALSE(f->WatchesAll());
  auto with_image = [&](std::string image) {
    ContainerMetadata m = Named("c", std::move(image));
    return f->Watches(kId, &m);
  };
  EXPECT_TRUE(with_image("node:20"));
  EXPECT_TRUE(with_image("registry.example/shop/cart:3"));
  EXPECT_FALSE(with_image("my-node:20"));  // anchored
  EXPECT_FALSE(with_image("node:debug"));  // exclude wins
  EXPECT_FALSE(with_image("postgres:16"));
  // Not described by Docker yet: no image can match the include list.
  EXPECT_FALSE(f->Watches(kId, nullptr));

  config::ContainerSelection only_exclude;
  only_exclude.exclude_images = {"busybox.*"};
  auto g = Filter(only_exclude);
  ContainerMetadata busybox = Named("c", "busybox:latest");
  ContainerMetadata node = Named("c", "node:20");
  EXPECT_FALSE(g->Watches(kId, &busybox));
  EXPECT_TRUE(g->Watches(kId, &node));
  EXPECT_TRUE(g->Watches(kId, nullptr));  // nothing known to exclude
}

TEST(ContainerFilter, LabelRequirementsMustAllHold) {
  config::ContainerSelection s;
  s.label_selector = {"leakwatch.watch=true", "tier != batch", "!skip"};
  auto f = Filter(s);
  auto with_labels = [&](std::map<std::string, std::string> labels) {
    ContainerMetadata m = Named("c", "app:1", std::move(labels));
    return f->Watches(kId, &m);
  };
  EXPECT_TRUE(with_labels({{"leakwatch.watch", "true"}}));
  EXPECT_TRUE(with_labels({{"leakwatch.watch", "true"}, {"tier", "web"}}));
  EXPECT_FALSE(with_labels({{"leakwatch.watch", "true"}, {"tier", "batch"}}));
  EXPECT_FALSE(with_labels({{"leakwatch.watch", "true"}, {"skip", ""}}));
  EXPECT_FALSE(with_labels({{"leakwatch.watch", "false"}}));
  EXPECT_FALSE(with_labels({}));
  EXPECT_FALSE(f->Watches(kId, nullptr));

  config::ContainerSelection exists;
  exists.label_selector = {"com.docker.compose.project"};
  auto g = Filter(exists);
  ContainerMetadata compose =
      Named("c", "app:1", {{"com.docker.compose.project", "shop"}});
  ContainerMetadata plain = Named("c");
  EXPECT_TRUE(g->Watches(kId, &compose));
  EXPECT_FALSE(g->Watches(kId, &plain));

  // Only "not set" can hold for a container Docker has not described.
  config::ContainerSelection absent;
  absent.label_selector = {"!skip"};
  EXPECT_TRUE(Filter(absent)->Watches(kId, nullptr));
}

}  // namespace
}  // namespace leakwatch::exporter::detail
