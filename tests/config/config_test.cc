// config.h's entry points (config.cc): flags, the environment and the
// YAML file merged by precedence and validated, and Reload.
#include "config/config.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace leakwatch::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kFixtures = std::string(LEAKWATCH_FIXTURES_DIR) + "/config";
const std::string kExample =
    std::string(LEAKWATCH_FIXTURES_DIR) + "/../../deploy/leakwatch.yml";

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

// The configuration the arguments give, or Parse's error.
Result<Config> Load(std::vector<std::string> args,
                    std::map<std::string, std::string> env = {}) {
  auto r = ParseArgs(std::move(args), std::move(env));
  if (!r) return PassOn(r.error());
  if (!std::holds_alternative<Config>(*r)) {
    return MakeError(ErrorCode::kInvalid, "not a config");
  }
  return std::get<Config>(*r);
}

std::string Fixture(const std::string& name) { return kFixtures + "/" + name; }

// The error message of loading a fixture, which must fail.
std::string ErrorOf(const std::string& name) {
  auto r = Load({"--config.file", Fixture(name)});
  EXPECT_FALSE(r.has_value()) << name << " loaded";
  return r ? std::string() : r.error().message;
}

// A file the test writes and rewrites.
class TempFile {
 public:
  TempFile() {
    path_ = fs::temp_directory_path() /
            ("leakwatch-config-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() +
             ".yml");
  }
  ~TempFile() { fs::remove(path_); }
  void Write(const std::string& text) const { std::ofstream(path_) << text; }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

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

TEST(LeakProcessInterval, DefaultsTo30sAndComesFromFlagEnvAndFile) {
  EXPECT_EQ(ParseOk({}).leak_process_interval, std::chrono::seconds(30));
  EXPECT_EQ(ParseOk({"--leak.process-interval=10s"}).leak_process_interval,
            std::chrono::seconds(10));
  EXPECT_EQ(ParseOk({}, {{"LEAKWATCH_LEAK_PROCESS_INTERVAL", "1m"}})
                .leak_process_interval,
            std::chrono::minutes(1));
  for (const char* bad : {"0", "soon"}) {
    auto r = ParseArgs({std::string("--leak.process-interval=") + bad});
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_THAT(r.error().message, HasSubstr("leak.process-interval")) << bad;
  }
}

TEST(Parse, VersionStartsWithTheProgramName) {
  auto r = ParseArgs({"--version"});
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(std::holds_alternative<Exit>(*r));
  EXPECT_THAT(std::get<Exit>(*r).output,
              ::testing::StartsWith("leakwatch " + Version() + "\n"));
}

// The YAML configuration file: key mapping, precedence, validation errors
// with file:line:column, and reloads.

TEST(ConfigFile, MapsEveryKeyAsTheContractSays) {
  auto r = Load({"--config.file", Fixture("full.yml")});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.listen_address, "127.0.0.1:19702");
  EXPECT_EQ(c.telemetry_path, "/leakwatch/metrics");
  // Relative to the file's directory, as Prometheus resolves paths.
  EXPECT_EQ(c.web_config_file, kFixtures + "/web/users.yml");
  EXPECT_EQ(c.cgroup_root, "/tmp/leakwatch-cgroup");
  EXPECT_EQ(c.procfs, "/tmp/leakwatch-proc");
  EXPECT_EQ(c.docker_host, "tcp://127.0.0.1:2375");
  EXPECT_EQ(c.sample_interval, milliseconds(2000));
  ASSERT_EQ(c.leak_windows.size(), 2u);
  EXPECT_EQ(c.leak_windows[0].label, "30m");
  EXPECT_EQ(c.leak_windows[1].duration, milliseconds(2 * 3600'000));
  EXPECT_EQ(c.log_level, log::Level::kDebug);
  EXPECT_EQ(c.log_format, log::Format::kJson);
  // A regex with a comma survives because it is a YAML list item.
  EXPECT_EQ(c.containers.include,
            (std::vector<std::string>{"web-.*", "api-(a|b){1,3}"}));
  EXPECT_EQ(c.containers.exclude, (std::vector<std::string>{".*-canary"}));
  EXPECT_EQ(c.containers.labels,
            (std::vector<std::string>{"com.example.team",
                                      "com.docker.compose.service"}));
  EXPECT_EQ(c.origin.file_locations.at("sample.interval"),
            Fixture("full.yml") + ":14:13");
}

TEST(ConfigFile, ListsTakeAYamlListOrTheFlagsCommaString) {
  TempFile f;
  f.Write("leak:\n  windows: 30m, 2h\ncontainers:\n  labels: a.b,c\n");
  auto r = Load({"--config.file", f.path()});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->leak_windows.size(), 2u);
  EXPECT_EQ(r->leak_windows[1].label, "2h");
  EXPECT_EQ(r->containers.labels, (std::vector<std::string>{"a.b", "c"}));
}

TEST(ConfigFile, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  TempFile f;
  f.Write(
      "sample:\n  interval: 3s\nweb:\n  listen_address: 127.0.0.1:3\n"
      "  telemetry_path: /from-file\nlog:\n  level: warn\n");
  auto r = Load({"--config.file", f.path(), "--sample.interval=1s"},
                {{"LEAKWATCH_SAMPLE_INTERVAL", "2s"},
                 {"LEAKWATCH_WEB_LISTEN_ADDRESS", "127.0.0.1:2"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->sample_interval, milliseconds(1000));  // flag
  EXPECT_EQ(r->listen_address, "127.0.0.1:2");        // environment
  EXPECT_EQ(r->telemetry_path, "/from-file");         // file
  EXPECT_EQ(r->log_level, log::Level::kWarn);         // file
  EXPECT_EQ(r->log_format, log::Format::kLogfmt);     // default
  EXPECT_EQ(r->origin.file_locations.count("sample.interval"), 0u);
  EXPECT_EQ(r->origin.file_locations.count("web.telemetry-path"), 1u);
}

TEST(ConfigFile, TheFileBeatsDockerHostWhichIsOnlyADefault) {
  TempFile f;
  f.Write("docker:\n  host: none\n");
  auto r = Load({"--config.file", f.path()},
                {{"DOCKER_HOST", "tcp://10.0.0.1:2375"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->docker_host, "none");
  auto env = Load({"--config.file", f.path()},
                  {{"DOCKER_HOST", "tcp://10.0.0.1:2375"},
                   {"LEAKWATCH_DOCKER_HOST", "unix:///x.sock"}});
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->docker_host, "unix:///x.sock");
}

TEST(ConfigFile, TheFileMayBeNamedByTheEnvironment) {
  auto r = Load({}, {{"LEAKWATCH_CONFIG_FILE", Fixture("full.yml")}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->sample_interval, milliseconds(2000));
  EXPECT_EQ(r->config_file, Fixture("full.yml"));
}

TEST(ConfigFile, UnclosedListPointsAtTheOpeningBracket) {
  std::string e = ErrorOf("unclosed_list.yml");
  EXPECT_THAT(e, StartsWith(Fixture("unclosed_list.yml") + ":4:12: "));
  EXPECT_THAT(e, HasSubstr("unclosed list"));
}

TEST(ConfigFile, UnknownKeyNamesItsLineAndTheLikelyKey) {
  std::string e = ErrorOf("unknown_key.yml");
  EXPECT_THAT(e, StartsWith(Fixture("unknown_key.yml") + ":4:3: "));
  EXPECT_THAT(e, HasSubstr("unknown key \"intervall\" in \"sample\""));
  EXPECT_THAT(e, HasSubstr("did you mean \"interval\"?"));
}

TEST(ConfigFile, FlagSpellingsGetTheNestedSpellingAsHint) {
  TempFile f;
  f.Write("sample.interval: 5s\n");
  auto r = Load({"--config.file", f.path()});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr(":1:1: "));
  EXPECT_THAT(r.error().message,
              HasSubstr("did you mean \"sample: {interval: ...}\"?"));
  f.Write("web:\n  listen-address: :1\n");
  r = Load({"--config.file", f.path()});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("did you mean \"listen_address\""));
  f.Write("listen_address: :1\n");
  r = Load({"--config.file", f.path()});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message,
              HasSubstr("did you mean \"web: {listen_address: ...}\"?"));
}

TEST(ConfigFile, BadDurationNamesTheValue) {
  std::string e = ErrorOf("bad_duration.yml");
  EXPECT_THAT(e, StartsWith(Fixture("bad_duration.yml") + ":2:13: "));
  EXPECT_THAT(e, HasSubstr("sample.interval: invalid duration \"5sec\""));
}

TEST(ConfigFile, WrongShapesAreErrors) {
  std::string e = ErrorOf("wrong_type.yml");
  EXPECT_THAT(e, StartsWith(Fixture("wrong_type.yml") + ":1:9: "));
  EXPECT_THAT(e, HasSubstr("sample: expected a mapping"));
  TempFile f;
  f.Write("sample:\n  interval: [5s, 10s]\n");
  auto r = Load({"--config.file", f.path()});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message,
              HasSubstr(":2:13: sample.interval: expected "
                        "a duration such as 5s, got a list"));
  f.Write("containers:\n  include: {a: b}\n");
  r = Load({"--config.file", f.path()});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr(":2:12: containers.include: "
                                           "expected a list of regular "
                                           "expressions, got a mapping"));
  f.Write("- a\n- b\n");
  r = Load({"--config.file", f.path()});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("top level must be a mapping"));
}

TEST(ConfigFile, ImpossibleCombinationsPointAtTheFile) {
  std::string e = ErrorOf("window_too_short.yml");
  EXPECT_THAT(e, StartsWith(Fixture("window_too_short.yml") + ":5:12: "));
  EXPECT_THAT(e, HasSubstr("fewer than 10 samples"));
  e = ErrorOf("zero_interval.yml");
  EXPECT_THAT(e, StartsWith(Fixture("zero_interval.yml") + ":2:13: "));
  EXPECT_THAT(e, HasSubstr("greater than 0"));
}

TEST(ConfigFile, ACombinationBrokenByAFlagNamesTheFlag) {
  TempFile f;
  f.Write("leak:\n  windows: [5m]\n");
  // The window is the file's, but the flag's interval makes it too short:
  // the file's line is still the place to look.
  auto r = Load({"--config.file", f.path(), "--sample.interval=1m"});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, StartsWith(f.path() + ":2:12: "));
  auto flags = Load({"--sample.interval=1m", "--leak.windows=5m"});
  ASSERT_FALSE(flags.has_value());
  EXPECT_THAT(flags.error().message, StartsWith("--leak.windows: "));
}

TEST(ConfigFile, LeakThresholdsLiveUnderLeak) {
  TempFile f;
  f.Write(
      "leak:\n  healthy_growth: 0.01\n  min_growth: 0.02\n"
      "  persistence: 4\n  process_interval: 15s\n");
  auto r = Load({"--config.file", f.path()});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->leak_healthy_growth, 0.01);
  EXPECT_EQ(r->leak_min_growth, 0.02);
  EXPECT_EQ(r->leak_persistence, 4);
  EXPECT_EQ(r->leak_process_interval, std::chrono::seconds(15));
  // An impossible pair points at the file's line for min_growth.
  f.Write("leak:\n  healthy_growth: 0.01\n  min_growth: 0.005\n");
  r = Load({"--config.file", f.path()});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, StartsWith(f.path() + ":3:15: "));
  EXPECT_THAT(r.error().message, HasSubstr("leak.min-growth (0.005)"));
  f.Write("leak:\n  persistence: 0\n");
  r = Load({"--config.file", f.path()});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, StartsWith(f.path() + ":2:16: "));
}

TEST(ConfigFile, InvalidRegexPointsAtTheItem) {
  std::string e = ErrorOf("bad_regex.yml");
  EXPECT_THAT(e, StartsWith(Fixture("bad_regex.yml") + ":4:7: "));
  EXPECT_THAT(e, HasSubstr("containers.include: invalid regular expression "
                           "\"api-(a|b\""));
}

TEST(ConfigFile, ImageAndLabelSelectors) {
  TempFile f;
  f.Write(
      "containers:\n  include_images: [\"node:.*\"]\n"
      "  exclude_images: [\".*:debug\"]\n"
      "  label_selector:\n    - leakwatch.watch=true\n    - \"!skip\"\n");
  auto r = Load({"--config.file", f.path(), "--docker.host=unix:///x"});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->containers.include_images, std::vector<std::string>{"node:.*"});
  EXPECT_EQ(r->containers.exclude_images, std::vector<std::string>{".*:debug"});
  EXPECT_EQ(r->containers.label_selector,
            (std::vector<std::string>{"leakwatch.watch=true", "!skip"}));

  // A requirement that is not key=value, key!=value, key or !key points at
  // its line and column.
  f.Write("containers:\n  label_selector:\n    - team=web\n    - =x\n");
  r = Load({"--config.file", f.path(), "--docker.host=unix:///x"});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, StartsWith(f.path() + ":4:7: "));
  EXPECT_THAT(r.error().message,
              HasSubstr("containers.label-selector: label requirement "
                        "\"=x\" has no key"));

  // Images and labels come from Docker: with Docker off nothing could
  // match, so the combination is refused where the selector is written.
  f.Write("containers:\n  include_images: [\"node:.*\"]\n");
  r = Load({"--config.file", f.path(), "--docker.host=none"});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, StartsWith(f.path() + ":2:"));
  EXPECT_THAT(r.error().message,
              HasSubstr("containers.include-images selects by what Docker "
                        "reports, but docker.host is none"));
}

TEST(LabelRequirement, ParsesKubernetesEqualitySyntax) {
  using Op = LabelRequirement::Op;
  EXPECT_EQ(*ParseLabelRequirement("team=web"),
            (LabelRequirement{"team", Op::kEquals, "web"}));
  EXPECT_EQ(*ParseLabelRequirement(" team == web "),
            (LabelRequirement{"team", Op::kEquals, "web"}));
  EXPECT_EQ(*ParseLabelRequirement("tier!=batch"),
            (LabelRequirement{"tier", Op::kNotEquals, "batch"}));
  EXPECT_EQ(*ParseLabelRequirement("com.example/watch"),
            (LabelRequirement{"com.example/watch", Op::kExists, ""}));
  EXPECT_EQ(*ParseLabelRequirement("!skip"),
            (LabelRequirement{"skip", Op::kNotExists, ""}));
  EXPECT_EQ(*ParseLabelRequirement("empty="),
            (LabelRequirement{"empty", Op::kEquals, ""}));
  for (const char* bad : {"", "=x", "!", "!a=b", "a=b=c", "a!=b!"}) {
    EXPECT_FALSE(ParseLabelRequirement(bad).has_value()) << bad;
  }
}

TEST(ConfigFile, FlagOnlySettingsAreRefusedInTheFile) {
  std::string e = ErrorOf("flag_only.yml");
  EXPECT_THAT(e, StartsWith(Fixture("flag_only.yml") + ":2:3: "));
  EXPECT_THAT(e, HasSubstr("--config.file"));
}

TEST(ConfigFile, ContainersAreFileOnly) {
  auto r = Load({"--containers.include=x"});
  EXPECT_FALSE(r.has_value());
  // No variable either: this one is simply not read.
  auto env = Load({}, {{"LEAKWATCH_CONTAINERS_INCLUDE", "("}});
  ASSERT_TRUE(env.has_value()) << env.error().message;
  EXPECT_TRUE(env->containers.include.empty());
}

TEST(ConfigFile, DuplicateKeysAreErrors) {
  std::string e = ErrorOf("duplicate_key.yml");
  EXPECT_THAT(e, StartsWith(Fixture("duplicate_key.yml") + ":3:3: "));
  EXPECT_THAT(e, HasSubstr("given twice (first at " +
                           Fixture("duplicate_key.yml") + ":2:3)"));
}

TEST(ConfigFile, EmptySectionsAndEmptyFilesMeanDefaults) {
  auto r = Load({"--config.file", Fixture("empty_sections.yml")});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto defaults = Load({});
  ASSERT_TRUE(defaults.has_value());
  auto described = Describe(*r);
  auto expected = Describe(*defaults);
  // Only config.file differs.
  for (std::size_t i = 0; i < described.size(); ++i) {
    if (described[i].first == "config.file") continue;
    EXPECT_EQ(described[i], expected[i]);
  }
}

TEST(ConfigFile, AMissingFileIsAnErrorNamingIt) {
  auto r = Load({"--config.file", "/nonexistent/leakwatch.yml"});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("/nonexistent/leakwatch.yml"));
  EXPECT_THAT(r.error().message, HasSubstr("No such file"));
}

TEST(ConfigFile, TheDeployExampleListsEveryKeyAtItsDefault) {
  auto r = Load({"--config.file", kExample});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  for (const std::string& key : FileSettings()) {
    EXPECT_EQ(r->origin.file_locations.count(key), 1u)
        << "deploy/leakwatch.yml does not set " << key;
  }
  auto defaults = Load({});
  ASSERT_TRUE(defaults.has_value());
  auto described = Describe(*r);
  auto expected = Describe(*defaults);
  ASSERT_EQ(described.size(), expected.size());
  for (std::size_t i = 0; i < described.size(); ++i) {
    if (described[i].first == "config.file") continue;
    EXPECT_EQ(described[i], expected[i])
        << "deploy/leakwatch.yml's value differs from the default";
  }
}

TEST(ConfigFile, HelpDefaultsAreTheRealDefaults) {
  // Every flag's --help default, given as the flag, changes nothing.
  auto defaults = Load({});
  ASSERT_TRUE(defaults.has_value());
  for (const auto& [key, value] : Describe(*defaults)) {
    if (key == "web.config.file" || key == "config.file" ||
        key.rfind("containers.", 0) == 0) {
      continue;  // no default to give, or file-only
    }
    auto r = Load({"--" + key + "=" + value});
    ASSERT_TRUE(r.has_value()) << key << ": " << r.error().message;
    EXPECT_EQ(Describe(*r), Describe(*defaults)) << key;
  }
}

TEST(ConfigReload, RereadsTheFileUnderTheSameFlags) {
  TempFile f;
  f.Write("sample:\n  interval: 3s\nlog:\n  level: warn\n");
  auto running = Load({"--config.file", f.path(), "--log.level=error"},
                      {{"LEAKWATCH_WEB_TELEMETRY_PATH", "/env"}});
  ASSERT_TRUE(running.has_value()) << running.error().message;
  EXPECT_EQ(running->sample_interval, milliseconds(3000));

  f.Write(
      "sample:\n  interval: 1s\nlog:\n  level: debug\nweb:\n"
      "  telemetry_path: /file\ncontainers:\n  exclude: [x]\n");
  auto next = Reload(*running);
  ASSERT_TRUE(next.has_value()) << next.error().message;
  EXPECT_EQ(next->sample_interval, milliseconds(1000));
  EXPECT_EQ(next->containers.exclude, (std::vector<std::string>{"x"}));
  EXPECT_EQ(next->log_level, log::Level::kError);  // the flag still wins
  EXPECT_EQ(next->telemetry_path, "/env");         // and so does the variable
}

TEST(ConfigReload, AnInvalidFileIsAnErrorWithItsLine) {
  TempFile f;
  f.Write("sample:\n  interval: 3s\n");
  auto running = Load({"--config.file", f.path()});
  ASSERT_TRUE(running.has_value());
  f.Write("sample:\n  interval: 3s\n  bogus: 1\n");
  auto next = Reload(*running);
  ASSERT_FALSE(next.has_value());
  EXPECT_THAT(next.error().message, StartsWith(f.path() + ":3:3: "));
}

TEST(ConfigReload, WithoutAFileReloadGivesTheSameConfig) {
  auto running = Load({"--sample.interval=2s"});
  ASSERT_TRUE(running.has_value());
  auto next = Reload(*running);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(Describe(*next), Describe(*running));
}

}  // namespace
}  // namespace leakwatch::config
