// The page at "/": its template, placeholders and security policy. The page
// itself runs in a real browser in tests/integration/page_browser.sh.

#include "exporter/detail/landing_page.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "config/config.h"

namespace leakwatch::exporter::detail {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(LandingPage, FillsInTheMetricsPathAndVersionEscaped) {
  Page page = LandingPage(
      "<a href=\"{{metrics_path}}\">{{metrics_path}}</a> {{version}} "
      "({{revision}})<style>a</style><script>b</script>",
      "/m\"<x>&");
  EXPECT_THAT(page.html,
              HasSubstr("<a href=\"/m&quot;&lt;x&gt;&amp;\">/m&quot;&lt;x&gt;"
                        "&amp;</a> " +
                        config::Version() + " (" + config::Revision() + ")"));
  EXPECT_THAT(page.html, Not(HasSubstr("{{")));
}

TEST(LandingPage, AllowsItsOwnScriptAndStyleByHashAndNothingElse) {
  Page page = LandingPage("<style>a</style><script>b</script>", "/metrics");
  // SHA-256 of "b" and of "a", base64 (`printf b | openssl sha256 -binary |
  // base64`).
  EXPECT_EQ(page.content_security_policy,
            "default-src 'none'; "
            "script-src 'sha256-PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0='; "
            "style-src 'sha256-ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs='; "
            "connect-src 'self'; img-src data:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'");
}

TEST(LandingPage, RefusesATemplateWithoutExactlyOneScript) {
  EXPECT_THROW(LandingPage("<style>a</style>", "/metrics"), std::logic_error);
  EXPECT_THROW(
      LandingPage("<style>a</style><script>b</script><script>c</script>",
                  "/metrics"),
      std::logic_error);
}

TEST(LandingPage, TheBuiltInPageLoadsNothingFromElsewhere) {
  Page page = LandingPage("/metrics");
  ASSERT_THAT(page.html, HasSubstr("<table id=\"containers\">"));
  // Every src, href and url() is this daemon's own path or inline data.
  const std::regex reference(
      R"re((?:src|href)\s*=\s*"([^"]*)"|url\(([^)]*)\))re");
  int references = 0;
  for (auto it =
           std::sregex_iterator(page.html.begin(), page.html.end(), reference);
       it != std::sregex_iterator(); ++it) {
    const std::string target = (*it)[1].matched ? (*it)[1] : (*it)[2];
    EXPECT_TRUE((target.starts_with("/") && !target.starts_with("//")) ||
                target.starts_with("data:"))
        << target;
    ++references;
  }
  EXPECT_GE(references, 4);
  // The one absolute URL is SVG's namespace name, which is never fetched.
  const std::regex absolute(R"(https?://[^"' )]*)");
  for (auto it =
           std::sregex_iterator(page.html.begin(), page.html.end(), absolute);
       it != std::sregex_iterator(); ++it) {
    EXPECT_EQ(it->str(), "http://www.w3.org/2000/svg");
  }
  EXPECT_THAT(page.html, HasSubstr("<a href=\"/metrics\">Metrics</a>"));
  EXPECT_THAT(page.content_security_policy, HasSubstr("connect-src 'self'"));
}

}  // namespace
}  // namespace leakwatch::exporter::detail
