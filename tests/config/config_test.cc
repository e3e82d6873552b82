#include "config/config.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace leakwatch::config {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

Getenv Env(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<Command> ParseArgs(std::vector<std::string> args,
                          std::map<std::string, std::string> env = {}) {
  return Parse(args, Env(std::move(env)));
}

Config ParseOk(std::vector<std::string> args,
               std::map<std::string, std::string> env = {}) {
  auto r = ParseArgs(std::move(args), std::move(env));
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  if (!r || !std::holds_alternative<Config>(*r)) return Config{};
  return std::get<Config>(*r);
}

TEST(ParseDuration, AcceptsPrometheusSyntax) {
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("5s"), milliseconds(5000));
  EXPECT_EQ(*ParseDuration("15m"), milliseconds(900'000));
  EXPECT_EQ(*ParseDuration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(*ParseDuration("1d"), milliseconds(86'400'000));
  EXPECT_EQ(*ParseDuration("1w"), milliseconds(7 * 86'400'000LL));
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));
}

TEST(ParseDuration, RejectsWhatPrometheusRejects) {
  for (const char* bad :
       {"", "5", "5x", "m", "1m1h", "1.5h", "-5s", "5 s", "5s5s"}) {
    auto r = ParseDuration(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_THAT(r.error().message, HasSubstr("invalid duration"));
    }
  }
}

TEST(FormatDuration, WritesTheShortestSpelling) {
  EXPECT_EQ(FormatDuration(milliseconds(5'400'000)), "1h30m");
  EXPECT_EQ(FormatDuration(milliseconds(500)), "500ms");
  EXPECT_EQ(FormatDuration(milliseconds(86'400'000)), "1d");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
}

TEST(ParseWindows, KeepsLabelsAsWritten) {
  auto w = ParseWindows("15m, 1h,90m");
  ASSERT_TRUE(w.has_value());
  ASSERT_EQ(w->size(), 3u);
  EXPECT_EQ((*w)[0].label, "15m");
  EXPECT_EQ((*w)[1].label, "1h");
  EXPECT_EQ((*w)[2].label, "90m");
  EXPECT_EQ((*w)[2].duration, milliseconds(5'400'000));
}

TEST(ParseWindows, RejectsEmptyZeroAndDuplicateWindows) {
  EXPECT_FALSE(ParseWindows("15m,,1h").has_value());
  EXPECT_FALSE(ParseWindows("0").has_value());
  auto dup = ParseWindows("60m,1h");
  ASSERT_FALSE(dup.has_value());
  EXPECT_THAT(dup.error().message, HasSubstr("twice"));
}

TEST(Parse, DefaultsMatchTheContract) {
  Config c = ParseOk({});
  EXPECT_EQ(c.listen_address, ":9702");
  EXPECT_EQ(c.telemetry_path, "/metrics");
  EXPECT_EQ(c.cgroup_root, "/sys/fs/cgroup");
  EXPECT_EQ(c.procfs, "/proc");
  EXPECT_EQ(c.docker_host, "unix:///var/run/docker.sock");
  EXPECT_EQ(c.sample_interval, milliseconds(5000));
  ASSERT_EQ(c.leak_windows.size(), 3u);
  EXPECT_EQ(c.leak_windows[0].label, "15m");
  EXPECT_EQ(c.leak_windows[2].label, "6h");
  EXPECT_EQ(c.log_level, log::Level::kInfo);
  EXPECT_EQ(c.log_format, log::Format::kLogfmt);
  EXPECT_FALSE(c.config_check);
}

TEST(Parse, ReadsEveryFlagInBothSpellings) {
  Config c = ParseOk(
      {"--web.listen-address=127.0.0.1:0", "--web.telemetry-path", "/m",
       "--cgroup.root=/tmp/cg", "--path.procfs", "/tmp/proc",
       "--docker.host=none", "--sample.interval=1s", "--leak.windows", "5m,1h",
       "--log.level=debug", "--log.format=json", "--config.check"});
  EXPECT_EQ(c.listen_address, "127.0.0.1:0");
  EXPECT_EQ(c.telemetry_path, "/m");
  EXPECT_EQ(c.cgroup_root, "/tmp/cg");
  EXPECT_EQ(c.procfs, "/tmp/proc");
  EXPECT_FALSE(c.docker_enabled());
  EXPECT_EQ(c.sample_interval, milliseconds(1000));
  ASSERT_EQ(c.leak_windows.size(), 2u);
  EXPECT_EQ(c.log_level, log::Level::kDebug);
  EXPECT_EQ(c.log_format, log::Format::kJson);
  EXPECT_TRUE(c.config_check);
}

TEST(Parse, EnvironmentFillsWhatFlagsLeaveOut) {
  Config c = ParseOk({"--sample.interval=2s"},
                     {{"LEAKWATCH_SAMPLE_INTERVAL", "10s"},
                      {"LEAKWATCH_WEB_LISTEN_ADDRESS", "127.0.0.1:9999"},
                      {"LEAKWATCH_LEAK_WINDOWS", "30m,2h"}});
  EXPECT_EQ(c.sample_interval, milliseconds(2000));  // the flag wins
  EXPECT_EQ(c.listen_address, "127.0.0.1:9999");
  ASSERT_EQ(c.leak_windows.size(), 2u);
  EXPECT_EQ(c.leak_windows[1].label, "2h");
}

TEST(Parse, DockerHostDefaultsToTheDockerHostVariable) {
  EXPECT_EQ(ParseOk({}, {{"DOCKER_HOST", "tcp://127.0.0.1:2375"}}).docker_host,
            "tcp://127.0.0.1:2375");
  // $DOCKER_HOST is only a default: LEAKWATCH_DOCKER_HOST and the flag win.
  EXPECT_EQ(ParseOk({}, {{"DOCKER_HOST", "tcp://a:1"},
                         {"LEAKWATCH_DOCKER_HOST", "none"}})
                .docker_host,
            "none");
  EXPECT_EQ(
      ParseOk({"--docker.host=unix:///x.sock"}, {{"DOCKER_HOST", "tcp://a:1"}})
          .docker_host,
      "unix:///x.sock");
}

TEST(Parse, ErrorsNameTheFlagOrVariable) {
  auto flag = ParseArgs({"--sample.interval=5"});
  ASSERT_FALSE(flag.has_value());
  EXPECT_THAT(flag.error().message, HasSubstr("--sample.interval"));
  auto env = ParseArgs({}, {{"LEAKWATCH_LOG_LEVEL", "loud"}});
  ASSERT_FALSE(env.has_value());
  EXPECT_THAT(env.error().message, HasSubstr("LEAKWATCH_LOG_LEVEL"));
  auto unknown = ParseArgs({"--no.such-flag=1"});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.error().message, HasSubstr("no.such-flag"));
}

TEST(Parse, RejectsImpossibleCombinations) {
  auto zero = ParseArgs({"--sample.interval=0"});
  ASSERT_FALSE(zero.has_value());
  EXPECT_THAT(zero.error().message, HasSubstr("greater than 0"));
  auto tiny = ParseArgs({"--sample.interval=1m", "--leak.windows=5m"});
  ASSERT_FALSE(tiny.has_value());
  EXPECT_THAT(tiny.error().message, HasSubstr("fewer than 10 samples"));
  auto path = ParseArgs({"--web.telemetry-path=/healthz"});
  EXPECT_FALSE(path.has_value());
  auto relative = ParseArgs({"--web.telemetry-path=metrics"});
  EXPECT_FALSE(relative.has_value());
}

TEST(Parse, HelpListsEveryFlagWithItsDefault) {
  auto r = ParseArgs({"--help"});
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(std::holds_alternative<Exit>(*r));
  const std::string& help = std::get<Exit>(*r).output;
  for (const char* flag :
       {"--web.listen-address", "--web.telemetry-path", "--web.config.file",
        "--config.file", "--cgroup.root", "--path.procfs", "--docker.host",
        "--sample.interval", "--leak.windows", "--log.level", "--log.format",
        "--config.check", "--version"}) {
    EXPECT_THAT(help, HasSubstr(flag));
  }
  for (const char* def :
       {":9702", "/metrics", "/sys/fs/cgroup", "/proc",
        "unix:///var/run/docker.sock", "5s", "15m,1h,6h", "info", "logfmt"}) {
    EXPECT_THAT(help, HasSubstr(def));
  }
}

TEST(LeakThresholds, DefaultToTheEstimatorsParams) {
  const estimator::Params params;
  Config c = ParseOk({});
  EXPECT_EQ(c.leak_healthy_growth, params.healthy_growth_per_hour);
  EXPECT_EQ(c.leak_min_growth, params.leak_growth_per_hour);
  EXPECT_EQ(c.leak_persistence, params.persistence);
  std::map<std::string, std::string> described;
  for (const auto& [key, value] : Describe(c)) described[key] = value;
  EXPECT_EQ(described["leak.healthy-growth"],
            fmt::format("{}", params.healthy_growth_per_hour));
  EXPECT_EQ(described["leak.persistence"], std::to_string(params.persistence));
}

TEST(LeakThresholds, ComeFromFlagsAndTheEnvironment) {
  Config c =
      ParseOk({"--leak.healthy-growth=0.01", "--leak.persistence", "5"},
              {{"LEAKWATCH_LEAK_MIN_GROWTH", "0.03"},
               {"LEAKWATCH_LEAK_HEALTHY_GROWTH", "0.02"}});  // the flag wins
  EXPECT_EQ(c.leak_healthy_growth, 0.01);
  EXPECT_EQ(c.leak_min_growth, 0.03);
  EXPECT_EQ(c.leak_persistence, 5);
  auto help = ParseArgs({"--help"});
  ASSERT_TRUE(help.has_value());
  const std::string& text = std::get<Exit>(*help).output;
  for (const char* flag :
       {"--leak.healthy-growth", "--leak.min-growth", "--leak.persistence"}) {
    EXPECT_THAT(text, HasSubstr(flag));
  }
}

TEST(LeakThresholds, RejectsImpossibleValuesNamingTheKey) {
  auto word = ParseArgs({"--leak.healthy-growth=lots"});
  ASSERT_FALSE(word.has_value());
  EXPECT_THAT(word.error().message, HasSubstr("--leak.healthy-growth"));
  EXPECT_THAT(word.error().message, HasSubstr("not a number"));
  auto zero = ParseArgs({"--leak.healthy-growth=0"});
  ASSERT_FALSE(zero.has_value());
  EXPECT_THAT(zero.error().message,
              HasSubstr("leak.healthy-growth must be greater than 0"));
  // Growth that is a leak cannot be below healthy growth.
  auto inverted = ParseArgs({"--leak.min-growth=0.01"});
  ASSERT_FALSE(inverted.has_value());
  EXPECT_THAT(inverted.error().message, HasSubstr("--leak.min-growth"));
  EXPECT_THAT(inverted.error().message,
              HasSubstr("must be greater than leak.healthy-growth"));
  auto env = ParseArgs({}, {{"LEAKWATCH_LEAK_HEALTHY_GROWTH", "0.5"}});
  ASSERT_FALSE(env.has_value());
  EXPECT_THAT(env.error().message, HasSubstr("LEAKWATCH_LEAK_HEALTHY_GROWTH"));
  for (const char* bad : {"0", "-1", "2.5", "x"}) {
    auto r = ParseArgs({std::string("--leak.persistence=") + bad});
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_THAT(r.error().message, HasSubstr("leak.persistence")) << bad;
  }
}

TEST(Parse, VersionStartsWithTheProgramName) {
  auto r = ParseArgs({"--version"});
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(std::holds_alternative<Exit>(*r));
  EXPECT_THAT(std::get<Exit>(*r).output,
              ::testing::StartsWith("leakwatch " + Version() + "\n"));
}

}  // namespace
}  // namespace leakwatch::config
