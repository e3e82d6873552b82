// The daemon's configuration: every setting, with the flag names, defaults,
// environment names and YAML keys that docs/interface.md lists.
//
// Precedence is flag > environment (LEAKWATCH_*) > file (--config.file) >
// default, with $DOCKER_HOST counting as a default. The file's keys mirror
// the flags: each dot opens a nested mapping, dashes become underscores
// (--sample.interval is sample: {interval: 5s}); `containers:` is
// file-only, --config.file and --config.check are flag/environment only.
//
// Every setting is one entry in a table in config.cc: its flag, help,
// default, how its text becomes a value and how it is shown. The flag, the
// variable, the YAML key, --help and the startup log all come from that
// entry, so adding a setting (an estimator threshold under leak:) is one
// entry plus its field here.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.h"
#include "estimator/estimator.h"
#include "log/log.h"

namespace leakwatch::config {

// A leak window: its length and its label as the user wrote it ("1h").
struct Window {
  std::chrono::milliseconds duration{0};
  std::string label;
  bool operator==(const Window&) const = default;
};

// Which containers are watched and which of their labels are exported
// (the file-only `containers:` section).
struct ContainerSelection {
  // Regular expressions (RE2, Prometheus' syntax) matched against the
  // container name, or the id where no name is known. Empty include means
  // every container.
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  // Container label keys, as Docker spells them, exported as
  // container_label_<key>. None by default: cardinality is the user's call.
  std::vector<std::string> labels;
  // RE2 expressions matched against the image as the container was created
  // from it (inspect's Config.Image, "nginx:1.25"). Empty include_images
  // means any image; exclude_images wins.
  std::vector<std::string> include_images;
  std::vector<std::string> exclude_images;
  // Label requirements, all of which must hold, in Kubernetes' equality
  // selector syntax: "key=value", "key!=value", "key" (set), "!key" (not
  // set). See LabelRequirement.
  std::vector<std::string> label_selector;
  bool operator==(const ContainerSelection&) const = default;
};

// One entry of containers.label_selector, parsed.
struct LabelRequirement {
  enum class Op { kEquals, kNotEquals, kExists, kNotExists };
  std::string key;
  Op op = Op::kExists;
  std::string value;  // for kEquals and kNotEquals
  bool operator==(const LabelRequirement&) const = default;
};

// "team=web", "tier!=batch", "com.example.watch", "!skip" (spaces around
// the key, operator and value are ignored; "==" is "="). kInvalid for an
// empty key or a key with "=" or "!" in it.
Result<LabelRequirement> ParseLabelRequirement(std::string_view text);

// A flag or LEAKWATCH_* variable that was set: it wins over the file, at
// startup and at every reload.
struct Override {
  std::string key;     // the setting, spelled as its flag ("sample.interval")
  std::string value;   // as given
  std::string origin;  // "--sample.interval" or "LEAKWATCH_SAMPLE_INTERVAL"
  bool operator==(const Override&) const = default;
};

// Where the settings came from, kept so that a reload re-reads the file
// under the same flags and environment.
struct Origin {
  std::string docker_host_default = "unix:///var/run/docker.sock";
  std::vector<Override> overrides;
  // Setting key -> "file:line:column", for each setting whose value comes
  // from the file (errors found later point there).
  std::map<std::string, std::string> file_locations;
  bool operator==(const Origin&) const = default;
};

// Thread-safety: a plain value; the daemon copies it where it needs it.
struct Config {
  std::string listen_address = ":9702";
  std::string telemetry_path = "/metrics";
  std::string web_config_file;  // empty: no TLS, no auth
  std::string config_file;      // empty: flags, environment and defaults only
  std::filesystem::path cgroup_root = "/sys/fs/cgroup";
  std::filesystem::path procfs = "/proc";
  std::string docker_host = "unix:///var/run/docker.sock";  // "none": off
  std::chrono::milliseconds sample_interval{5000};
  std::vector<Window> leak_windows;  // set to kDefaultWindows by Parse
  log::Level log_level = log::Level::kInfo;
  log::Format log_format = log::Format::kLogfmt;
  bool config_check = false;
  ContainerSelection containers;
  // Estimator thresholds (leak.*) join here, each with its entry in the
  // settings table. Defaults are estimator::Params{}'s, so they cannot
  // drift apart.
  // Growth, as a fraction of the limit per hour, that is never a leak.
  double leak_healthy_growth = estimator::Params{}.healthy_growth_per_hour;
  // Growth, as a fraction of the limit per hour, that is a leak.
  double leak_min_growth = estimator::Params{}.leak_growth_per_hour;
  // Consecutive evaluations that must agree before a verdict changes.
  int leak_persistence = estimator::Params{}.persistence;
  // How often each container's processes are read for attribution; the
  // sampler reads them at least every 1/8 of the shortest window.
  std::chrono::milliseconds leak_process_interval{30000};
  Origin origin;

  bool docker_enabled() const { return docker_host != "none"; }
};

inline constexpr std::string_view kDefaultWindows = "15m,1h,6h";

// Prometheus duration syntax: "500ms", "5s", "1h30m", "1d", "0".
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// The shortest Prometheus spelling of a duration ("1h30m").
std::string FormatDuration(std::chrono::milliseconds duration);
// "15m,1h,6h" -> windows, labels kept as written. Rejects empty entries,
// zero and duplicate windows.
Result<std::vector<Window>> ParseWindows(std::string_view text);

// Reads one environment variable; std::getenv in the daemon, a map in
// tests.
using Getenv = std::function<std::optional<std::string>(const char* name)>;
Getenv ProcessEnvironment();

// What the command line asks for: run the daemon, or print something and
// exit (--help, --version).
struct Exit {
  int code = 0;
  std::string output;  // for standard output
};
using Command = std::variant<Config, Exit>;

// Parses the command line and the environment, then reads --config.file
// (or LEAKWATCH_CONFIG_FILE) when one is named. Errors are kInvalid (kIo or
// kNotFound for an unreadable file) and name where the value came from:
// the flag, the variable, or the file as "file:line:column: ". Unknown
// keys in the file get a "did you mean" hint.
Result<Command> Parse(const std::vector<std::string>& args,
                      const Getenv& getenv);

// Re-reads running.config_file and applies the same flags and variables
// over it (running.origin): what SIGHUP does. The result is validated; on
// error the caller keeps running.
Result<Config> Reload(const Config& running);

// Cross-field checks: a positive interval, windows of at least 10
// intervals, a telemetry path that does not hide /healthz or /. An error
// names where the offending value came from (config.origin).
Result<Config> Validate(Config config);

// One (key, value) per setting, keys spelled as flags, for the startup log
// and --config.check.
std::vector<std::pair<std::string, std::string>> Describe(const Config& config);

// The settings a file may set, spelled as flags ("web.listen-address",
// "containers.include").
std::vector<std::string> FileSettings();

// A setting's YAML path: "web.listen-address" -> "web.listen_address".
std::string YamlPath(std::string_view key);

std::string Version();   // "0.1.0"
std::string Revision();  // git revision at build time, or "unknown"

}  // namespace leakwatch::config
