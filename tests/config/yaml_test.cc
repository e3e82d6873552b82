// The YAML reader on its own: null values and the "did you mean" distance.
// What it reports for a whole configuration file is in config_test.cc.
#include "config/detail/yaml.h"

#include <gtest/gtest.h>

namespace leakwatch::config {
namespace {

TEST(Yaml, EditDistanceCountsATranspositionAsOne) {
  EXPECT_EQ(detail::EditDistance("interval", "intervall"), 1u);
  EXPECT_EQ(detail::EditDistance("windows", "windwos"), 1u);
  EXPECT_EQ(detail::EditDistance("", "abc"), 3u);
  EXPECT_EQ(detail::ClosestMatch("lables", {"include", "exclude", "labels"}),
            "labels");
  EXPECT_EQ(detail::ClosestMatch("zzz", {"include", "exclude", "labels"}),
            std::nullopt);
}

TEST(Yaml, NullValuesCountAsUnset) {
  auto tree = detail::ReadYaml("a:\n  b:\n", "f.yml",
                               {{"a.b", detail::Shape::kScalar, "x", ""}});
  ASSERT_TRUE(tree.has_value()) << tree.error().message;
  EXPECT_TRUE(tree->empty());
}

}  // namespace
}  // namespace leakwatch::config
