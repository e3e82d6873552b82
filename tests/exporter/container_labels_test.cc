// Docker labels as series labels: sanitised, first key wins, collisions
// logged once.
#include "exporter/detail/container_labels.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/exporter/docker_fixtures.h"

namespace leakwatch::exporter::detail {
namespace {

using fixtures::Logged;
using fixtures::Web;

TEST(ContainerLabels, SanitizesEveryCharacterOutsideTheLabelAlphabet) {
  EXPECT_EQ(SanitizeLabelName("com.example/team-name"),
            "com_example_team_name");
  EXPECT_EQ(SanitizeLabelName("Tier_2"), "Tier_2");
  EXPECT_EQ(SanitizeLabelName("été"), "__t__");  // each UTF-8 byte
}

TEST(ContainerLabels, FirstKeyWinsACollisionAndRepetitionIsNone) {
  LabelAllowList allow(
      {"com.example.team", "tier", "com.example/team", "tier"});
  ASSERT_EQ(allow.collisions().size(), 1u);
  EXPECT_EQ(allow.collisions()[0].kept, "com.example.team");
  EXPECT_EQ(allow.collisions()[0].dropped, "com.example/team");
  EXPECT_EQ(allow.collisions()[0].name, "container_label_com_example_team");
  std::vector<prometheus::ClientMetric::Label> out;
  allow.Apply(Web().labels, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "container_label_com_example_team");
  EXPECT_EQ(out[0].value, "payments");  // not "slash"
  EXPECT_EQ(out[1].name, "container_label_tier");
}

TEST(ContainerLabels, CollisionsAreLoggedOncePerLoad) {
  struct L : Logged {
    using Logged::Count;
    using Logged::logger_;
  } l;
  LogLabelCollisions(LabelAllowList({"a.b", "a_b", "a-b"}), l.logger_);
  EXPECT_EQ(l.Count("level=warn"), 2);
  EXPECT_EQ(l.Count("dropped=a_b"), 1);
  EXPECT_EQ(l.Count("dropped=a-b"), 1);
}

}  // namespace
}  // namespace leakwatch::exporter::detail
