#include "log/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <stdlib.h>
#include <time.h>

#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

namespace leakwatch::log {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

system_clock::time_point At(std::chrono::nanoseconds since_epoch) {
  return system_clock::time_point(
      std::chrono::duration_cast<system_clock::duration>(since_epoch));
}

// Sets TZ for one test, and puts the old value back.
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    if (const char* old = ::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTimeZone() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

TEST(LogTimestamp, IsRfc3339InUtcWithMilliseconds) {
  EXPECT_EQ(RenderTimestamp(At(milliseconds(0))), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(RenderTimestamp(At(milliseconds(1795565569123))),
            "2026-11-25T00:12:49.123Z");
  EXPECT_EQ(RenderTimestamp(At(milliseconds(1709164800007))),
            "2024-02-29T00:00:00.007Z");
  EXPECT_EQ(RenderTimestamp(At(milliseconds(1798761599050))),
            "2026-12-31T23:59:59.050Z");
}

TEST(LogTimestamp, TruncatesToTheMillisecond) {
  // 49.999999999 s is still second 49, millisecond 999: never rounded up
  // into the next second.
  EXPECT_EQ(RenderTimestamp(At(std::chrono::nanoseconds(1795565569999999999))),
            "2026-11-25T00:12:49.999Z");
}

TEST(LogTimestamp, IgnoresTheLocalTimeZone) {
  // POSIX TZ strings need no tzdata: five hours west of UTC, and east.
  for (const char* tz : {"EST+5", "XYZ-9"}) {
    ScopedTimeZone zone(tz);
    EXPECT_EQ(RenderTimestamp(At(milliseconds(1795565569123))),
              "2026-11-25T00:12:49.123Z")
        << tz;
  }
}

// A logger writing into a string.
class Captured {
 public:
  Captured(Level level, Format format)
      : logger_(level, format,
                std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {}
  Logger& logger() { return logger_; }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  Logger logger_;
};

constexpr char kTs[] =
    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z";

TEST(LogLine, LogfmtStartsWithTsAndLevel) {
  Captured c(Level::kInfo, Format::kLogfmt);
  c.logger().Info("Listening on", {{"address", "127.0.0.1:9702"}});
  const std::string line = c.text();
  EXPECT_TRUE(
      std::regex_match(line, std::regex(std::string("ts=") + kTs +
                                        " level=info msg=\"Listening on\" "
                                        "address=127\\.0\\.0\\.1:9702\n")))
      << line;
}

TEST(LogLine, JsonStartsWithTsAndLevel) {
  Captured c(Level::kInfo, Format::kJson);
  c.logger().Warn("Listening on", {{"address", "127.0.0.1:9702"}});
  const std::string line = c.text();
  EXPECT_TRUE(std::regex_match(
      line, std::regex(std::string("\\{\"ts\":\"") + kTs +
                       "\",\"level\":\"warn\",\"msg\":\"Listening on\","
                       "\"address\":\"127\\.0\\.0\\.1:9702\"\\}\n")))
      << line;
}

TEST(LogLine, BelowTheLevelNothingIsWritten) {
  Captured c(Level::kWarn, Format::kLogfmt);
  c.logger().Info("quiet");
  EXPECT_EQ(c.text(), "");
  c.logger().SetLevel(Level::kDebug);
  c.logger().Debug("loud");
  EXPECT_NE(c.text().find("level=debug msg=loud\n"), std::string::npos);
}

TEST(LogFields, LogfmtQuotesWhatGoKitQuotes) {
  EXPECT_EQ(RenderFields(Format::kLogfmt, "m", {{"a", "plain"}, {"b", ""}}),
            "msg=m a=plain b=\"\"");
  EXPECT_EQ(RenderFields(Format::kLogfmt, "m", {{"k", "x=y \"z\"\n"}}),
            "msg=m k=\"x=y \\\"z\\\"\\n\"");
}

TEST(LogFields, JsonEscapesAndReplacesInvalidUtf8) {
  EXPECT_EQ(RenderFields(Format::kJson, "m", {{"k", "a\"b\n"}}),
            "\"msg\":\"m\",\"k\":\"a\\\"b\\n\"");
  EXPECT_EQ(RenderFields(Format::kJson, "m", {{"k", "\xff"}}),
            "\"msg\":\"m\",\"k\":\"\xef\xbf\xbd\"");
}

}  // namespace
}  // namespace leakwatch::log
