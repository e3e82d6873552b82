// Compares text with a checked-in golden file. With LEAKWATCH_UPDATE_GOLDEN=1
// in the environment it rewrites the file instead, for intentional changes
// (review the diff: a renamed metric breaks grafana-dashboards/).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace leakwatch::testing {

inline void ExpectMatchesGolden(const std::string& name,
                                const std::string& actual) {
  const std::string path = std::string(LEAKWATCH_GOLDEN_DIR) + "/" + name;
  const char* update = std::getenv("LEAKWATCH_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path) << actual;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing golden file " << path
                         << " (run with LEAKWATCH_UPDATE_GOLDEN=1)";
  std::ostringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "differs from " << path;
}

}  // namespace leakwatch::testing
