// The YAML configuration file: key mapping, precedence, validation errors
// with file:line:column, and reloads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "config/config.h"
#include "config/detail/yaml.h"

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

Result<Config> Load(std::vector<std::string> args,
                    std::map<std::string, std::string> env = {}) {
  auto r = Parse(args, Env(std::move(env)));
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
      "  persistence: 4\n");
  auto r = Load({"--config.file", f.path()});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->leak_healthy_growth, 0.01);
  EXPECT_EQ(r->leak_min_growth, 0.02);
  EXPECT_EQ(r->leak_persistence, 4);
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
