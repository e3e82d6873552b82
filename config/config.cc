#include "config/config.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>

#include "leakwatch_revision.h"

namespace leakwatch::config {
namespace {

using std::chrono::milliseconds;

// Prometheus' duration units, largest first; in a duration each may appear
// once, in this order.
struct DurationUnit {
  std::string_view name;
  std::int64_t ms;
};
constexpr std::array<DurationUnit, 7> kDurationUnits = {
    {{"y", 365LL * 86400'000},
     {"w", 7LL * 86400'000},
     {"d", 86400'000},
     {"h", 3600'000},
     {"m", 60'000},
     {"s", 1000},
     {"ms", 1}}};

// A window must hold at least this many samples for a trend to mean
// anything.
constexpr int kMinSamplesPerWindow = 10;

// One flag: how it reads, what it defaults to (for --help), and how its
// text turns into a setting. The same Apply runs for the flag and for its
// LEAKWATCH_* variable, so both accept exactly the same values.
struct Setting {
  const char* flag;  // without the leading dashes
  const char* help;
  std::string default_text;
  std::function<Result<void>(Config&, const std::string&)> apply;
  bool is_switch = false;  // a flag without a value (--config.check)
};

Result<void> Ok() { return {}; }

Result<void> SetString(std::string& field, const std::string& text) {
  field = text;
  return Ok();
}

Result<bool> ParseBool(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "1" || lower == "yes") return true;
  if (lower == "false" || lower == "0" || lower == "no") return false;
  return MakeError(ErrorCode::kInvalid,
                   "\"" + text + "\" is not a boolean (want true or false)");
}

std::vector<Setting> Settings(const std::string& docker_default) {
  std::vector<Setting> s;
  s.push_back({"web.listen-address",
               "Address on which to expose metrics and the web interface "
               "(host:port; port 0 picks a free one)",
               ":9702", [](Config& c, const std::string& v) {
                 return SetString(c.listen_address, v);
               }});
  s.push_back({"web.telemetry-path", "Path under which to expose metrics",
               "/metrics", [](Config& c, const std::string& v) -> Result<void> {
                 c.telemetry_path = v;
                 return Ok();
               }});
  s.push_back({"web.config.file",
               "Path to a web configuration file (TLS and basic auth, "
               "exporter-toolkit format)",
               "", [](Config& c, const std::string& v) {
                 return SetString(c.web_config_file, v);
               }});
  s.push_back({"config.file", "Path to the YAML configuration file", "",
               [](Config& c, const std::string& v) {
                 return SetString(c.config_file, v);
               }});
  s.push_back({"cgroup.root",
               "Root of the cgroup filesystem (v1, v2 and hybrid layouts "
               "are detected under it)",
               "/sys/fs/cgroup",
               [](Config& c, const std::string& v) -> Result<void> {
                 c.cgroup_root = v;
                 return Ok();
               }});
  s.push_back({"path.procfs", "procfs mountpoint", "/proc",
               [](Config& c, const std::string& v) -> Result<void> {
                 c.procfs = v;
                 return Ok();
               }});
  s.push_back({"docker.host",
               "Docker Engine API endpoint (unix:// or tcp://); defaults to "
               "$DOCKER_HOST when set; \"none\" turns Docker off",
               docker_default, [](Config& c, const std::string& v) {
                 return SetString(c.docker_host, v);
               }});
  s.push_back({"sample.interval",
               "How often every container is sampled (Prometheus duration)",
               "5s", [](Config& c, const std::string& v) -> Result<void> {
                 auto d = ParseDuration(v);
                 if (!d) return tl::unexpected(d.error());
                 c.sample_interval = *d;
                 return Ok();
               }});
  s.push_back({"leak.windows",
               "Sliding windows the leak estimator fits over "
               "(comma-separated durations)",
               std::string(kDefaultWindows),
               [](Config& c, const std::string& v) -> Result<void> {
                 auto w = ParseWindows(v);
                 if (!w) return tl::unexpected(w.error());
                 c.leak_windows = std::move(*w);
                 return Ok();
               }});
  s.push_back({"log.level",
               "Only log messages with the given severity or "
               "above: debug, info, warn, error",
               "info", [](Config& c, const std::string& v) -> Result<void> {
                 auto l = log::ParseLevel(v);
                 if (!l) return tl::unexpected(l.error());
                 c.log_level = *l;
                 return Ok();
               }});
  s.push_back({"log.format", "Output format of log messages: logfmt, json",
               "logfmt", [](Config& c, const std::string& v) -> Result<void> {
                 auto f = log::ParseFormat(v);
                 if (!f) return tl::unexpected(f.error());
                 c.log_format = *f;
                 return Ok();
               }});
  s.push_back({"config.check",
               "Validate the configuration and exit (0 valid, 1 invalid)", "",
               [](Config& c, const std::string& v) -> Result<void> {
                 auto b = ParseBool(v);
                 if (!b) return tl::unexpected(b.error());
                 c.config_check = *b;
                 return Ok();
               },
               true});
  return s;
}

// LEAKWATCH_ + the flag upper-cased, dots and dashes as underscores.
std::string EnvName(std::string_view flag) {
  std::string name = "LEAKWATCH_";
  for (char ch : flag) {
    name.push_back(
        ch == '.' || ch == '-'
            ? '_'
            : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  }
  return name;
}

Error Prefixed(std::string_view where, const Error& e) {
  return Error{e.code, std::string(where) + ": " + e.message};
}

}  // namespace

Result<milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return MakeError(ErrorCode::kInvalid,
                     "invalid duration \"" + std::string(text) +
                         "\": " + std::string(why) +
                         " (use Prometheus syntax such as 500ms, 5s, 1h30m)");
  };
  if (text == "0") return milliseconds(0);
  if (text.empty()) return bad("empty");
  std::int64_t total = 0;
  std::size_t next_unit = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    if (!std::isdigit(static_cast<unsigned char>(rest.front()))) {
      return bad("expected a number");
    }
    std::int64_t n = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc() || ptr == rest.data())
      return bad("expected a number");
    rest.remove_prefix(static_cast<std::size_t>(ptr - rest.data()));
    std::size_t len = 0;
    while (len < rest.size() &&
           std::isalpha(static_cast<unsigned char>(rest[len]))) {
      ++len;
    }
    std::string_view unit = rest.substr(0, len);
    rest.remove_prefix(len);
    std::size_t i = next_unit;
    while (i < kDurationUnits.size() && kDurationUnits[i].name != unit) ++i;
    if (unit.empty()) return bad("missing unit");
    if (i == kDurationUnits.size()) {
      bool known =
          std::any_of(kDurationUnits.begin(), kDurationUnits.end(),
                      [&](const DurationUnit& u) { return u.name == unit; });
      return bad(known ? "units out of order" : "unknown unit");
    }
    if (n > (std::int64_t{1} << 53) / kDurationUnits[i].ms)
      return bad("too long");
    total += n * kDurationUnits[i].ms;
    next_unit = i + 1;
  }
  return milliseconds(total);
}

std::string FormatDuration(milliseconds duration) {
  std::int64_t ms = duration.count();
  if (ms == 0) return "0s";
  std::string out;
  for (const DurationUnit& unit : kDurationUnits) {
    if (ms >= unit.ms) {
      out += std::to_string(ms / unit.ms) + std::string(unit.name);
      ms %= unit.ms;
    }
  }
  return out;
}

Result<std::vector<Window>> ParseWindows(std::string_view text) {
  std::vector<Window> windows;
  std::set<std::int64_t> seen;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) {
      return MakeError(ErrorCode::kInvalid,
                       "empty window in \"" + std::string(text) + "\"");
    }
    auto d = ParseDuration(item);
    if (!d) return tl::unexpected(d.error());
    if (d->count() == 0) {
      return MakeError(ErrorCode::kInvalid, "a window cannot be 0");
    }
    if (!seen.insert(d->count()).second) {
      return MakeError(ErrorCode::kInvalid,
                       "window " + std::string(item) + " is listed twice");
    }
    windows.push_back(Window{*d, std::string(item)});
    start = comma + 1;
  }
  return windows;
}

Getenv ProcessEnvironment() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<Config> Validate(Config config) {
  if (config.sample_interval.count() <= 0) {
    return MakeError(ErrorCode::kInvalid,
                     "sample.interval must be greater than 0");
  }
  for (const Window& w : config.leak_windows) {
    if (w.duration < kMinSamplesPerWindow * config.sample_interval) {
      return MakeError(
          ErrorCode::kInvalid,
          "leak window " + w.label + " holds fewer than " +
              std::to_string(kMinSamplesPerWindow) + " samples at " +
              "sample.interval " + FormatDuration(config.sample_interval) +
              "; use a window of at least " +
              FormatDuration(kMinSamplesPerWindow * config.sample_interval));
    }
  }
  if (config.leak_windows.empty()) {
    return MakeError(ErrorCode::kInvalid, "leak.windows is empty");
  }
  const std::string& path = config.telemetry_path;
  if (path.empty() || path.front() != '/') {
    return MakeError(ErrorCode::kInvalid,
                     "web.telemetry-path \"" + path + "\" must start with /");
  }
  if (path == "/" || path == "/healthz") {
    return MakeError(ErrorCode::kInvalid,
                     "web.telemetry-path \"" + path +
                         "\" would hide a built-in page; choose another path");
  }
  if (config.cgroup_root.empty() || config.procfs.empty()) {
    return MakeError(ErrorCode::kInvalid,
                     "cgroup.root and path.procfs must not be empty");
  }
  if (config.docker_host.empty()) {
    return MakeError(ErrorCode::kInvalid,
                     "docker.host is empty (use \"none\" to turn Docker off)");
  }
  return config;
}

Result<Command> Parse(const std::vector<std::string>& args,
                      const Getenv& getenv) {
  std::string docker_default = "unix:///var/run/docker.sock";
  if (auto from_env = getenv("DOCKER_HOST"); from_env && !from_env->empty()) {
    docker_default = *from_env;
  }
  std::vector<Setting> settings = Settings(docker_default);

  CLI::App app{
      "leakwatch: finds memory leaks in running containers and exports them "
      "for Prometheus.\n\nEvery flag may also be set through the environment "
      "as LEAKWATCH_<FLAG> (upper case, dots and dashes as underscores).",
      "leakwatch"};
  app.get_formatter()->column_width(32);
  bool version = false;
  app.add_flag("--version", version, "Print the version and exit");
  std::vector<std::string> values(settings.size());
  std::vector<CLI::Option*> options(settings.size());
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const Setting& s = settings[i];
    std::string help = std::string(s.help) + " [env " + EnvName(s.flag) + "]";
    if (s.is_switch) {
      options[i] = app.add_flag_function(
          std::string("--") + s.flag,
          [&values, i](std::int64_t) { values[i] = "true"; }, help);
    } else {
      options[i] = app.add_option(std::string("--") + s.flag, values[i], help);
      if (!s.default_text.empty()) options[i]->default_str(s.default_text);
      options[i]->type_name("");
    }
  }

  // CLI11 consumes a vector from its back.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return Exit{0, app.help()};
  } catch (const CLI::ParseError& e) {
    return MakeError(ErrorCode::kInvalid, e.what());
  }
  if (version) {
    return Exit{
        0, "leakwatch " + Version() + "\n  revision: " + Revision() + "\n"};
  }

  Config config;
  auto windows = ParseWindows(kDefaultWindows);
  config.leak_windows = std::move(*windows);
  config.docker_host = docker_default;
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const Setting& s = settings[i];
    if (options[i]->count() > 0) {
      if (auto r = s.apply(config, values[i]); !r) {
        return tl::unexpected(Prefixed(std::string("--") + s.flag, r.error()));
      }
    } else if (auto env = getenv(EnvName(s.flag).c_str()); env) {
      if (auto r = s.apply(config, *env); !r) {
        return tl::unexpected(Prefixed(EnvName(s.flag), r.error()));
      }
    }
  }
  auto valid = Validate(std::move(config));
  if (!valid) return tl::unexpected(valid.error());
  return *valid;
}

std::vector<std::pair<std::string, std::string>> Describe(const Config& c) {
  std::string windows;
  for (const Window& w : c.leak_windows) {
    if (!windows.empty()) windows += ",";
    windows += w.label;
  }
  return {
      {"web.listen-address", c.listen_address},
      {"web.telemetry-path", c.telemetry_path},
      {"web.config.file", c.web_config_file},
      {"config.file", c.config_file},
      {"cgroup.root", c.cgroup_root.string()},
      {"path.procfs", c.procfs.string()},
      {"docker.host", c.docker_host},
      {"sample.interval", FormatDuration(c.sample_interval)},
      {"leak.windows", windows},
      {"log.level", std::string(log::LevelName(c.log_level))},
      {"log.format", c.log_format == log::Format::kJson ? "json" : "logfmt"},
  };
}

std::string Version() { return LEAKWATCH_VERSION; }
std::string Revision() { return LEAKWATCH_REVISION; }

}  // namespace leakwatch::config
