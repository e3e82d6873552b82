// The daemon's configuration: every setting, with the flag names, defaults
// and environment names of shared/CONTRACTS.md.
//
// Precedence is flag > environment (LEAKWATCH_*) > file > default, with
// $DOCKER_HOST counting as a default.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
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
  bool operator==(const ContainerSelection&) const = default;
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

// Parses the command line and the environment. Bad flags and values are
// errors (kInvalid) whose message names the flag or variable.
Result<Command> Parse(const std::vector<std::string>& args,
                      const Getenv& getenv);

// Cross-field checks: a positive interval, windows of at least a few
// intervals, a telemetry path that does not hide /healthz or /.
Result<Config> Validate(Config config);

// One line per setting, for the startup log and --config.check.
std::vector<std::pair<std::string, std::string>> Describe(const Config& config);

std::string Version();   // "0.1.0"
std::string Revision();  // git revision at build time, or "unknown"

}  // namespace leakwatch::config
