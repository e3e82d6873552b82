#include "config/config.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>

#include "config/detail/yaml.h"
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

// Where a setting may come from.
enum Source : unsigned {
  kFlag = 1,
  kEnv = 2,
  kFile = 4,
  kFlagOrEnv = kFlag | kEnv,
  kEverywhere = kFlag | kEnv | kFile,
};

// One setting: how it reads, what it defaults to (for --help), how its
// text turns into a value and how the value is shown. The same apply runs
// for the flag, its LEAKWATCH_* variable and the file, so all three accept
// exactly the same values.
struct Setting {
  std::string key;  // the flag without its dashes: "web.listen-address"
  std::string help;
  std::string default_text;  // for --help; empty when there is none
  detail::Shape shape = detail::Shape::kScalar;
  unsigned sources = kEverywhere;
  bool is_switch = false;  // a flag without a value (--config.check)
  // A path: written relative in the file, it is taken relative to the
  // file's directory (as Prometheus does).
  bool is_path = false;
  // What a value looks like, for type errors in the file.
  std::string expected = "a single value";
  // Lists: checks one item, so that an error points at the item's line.
  std::function<Result<void>(const std::string&)> check_item;
  // Scalars get one item.
  std::function<Result<void>(Config&, const std::vector<std::string>&)> apply;
  // The effective value as text; nullptr leaves the setting out of
  // Describe.
  std::function<std::string(const Config&)> show;
};

Result<void> Ok() { return {}; }

// The error with where it came from (a flag or variable) before its
// message.
Unexpected Prefixed(std::string_view where, const Error& e) {
  return MakeError(e.code, std::string(where) + ": " + e.message);
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

// A setting holding one value.
Setting Scalar(std::string key, std::string help, std::string default_text,
               std::string expected,
               std::function<Result<void>(Config&, const std::string&)> set,
               std::function<std::string(const Config&)> show) {
  Setting s;
  s.key = std::move(key);
  s.help = std::move(help);
  s.default_text = std::move(default_text);
  s.expected = std::move(expected);
  s.apply = [set = std::move(set)](Config& c,
                                   const std::vector<std::string>& items) {
    return set(c, items.empty() ? std::string() : items.front());
  };
  s.show = std::move(show);
  return s;
}

// A setting holding a list: comma-separated in a flag or variable, a YAML
// list or the same string in the file.
Setting List(
    std::string key, std::string help, std::string default_text,
    std::function<Result<void>(const std::string&)> check_item,
    std::function<Result<void>(Config&, const std::vector<std::string>&)> set,
    std::function<std::string(const Config&)> show) {
  Setting s;
  s.key = std::move(key);
  s.help = std::move(help);
  s.default_text = std::move(default_text);
  s.shape = detail::Shape::kList;
  s.expected = "a list";
  s.check_item = std::move(check_item);
  s.apply = std::move(set);
  s.show = std::move(show);
  return s;
}

// A string setting stored as is.
template <typename Field>
Setting Text(std::string key, std::string help, std::string default_text,
             Field Config::*field) {
  return Scalar(
      std::move(key), std::move(help), std::move(default_text),
      "a single value",
      [field](Config& c, const std::string& v) -> Result<void> {
        c.*field = v;
        return Ok();
      },
      [field](const Config& c) {
        if constexpr (std::is_same_v<Field, std::filesystem::path>) {
          return (c.*field).string();
        } else {
          return c.*field;
        }
      });
}

// A threshold given as a fraction (0.015 is 1.5 %).
Setting Fraction(std::string key, std::string help, double default_value,
                 double Config::*field) {
  return Scalar(
      std::move(key), std::move(help), fmt::format("{}", default_value),
      "a number such as 0.015",
      [field](Config& c, const std::string& v) -> Result<void> {
        double d = 0;
        auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
        if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() ||
            !std::isfinite(d)) {
          return MakeError(ErrorCode::kInvalid,
                           "\"" + v +
                               "\" is not a number (a fraction of the limit "
                               "per hour, such as 0.015 for 1.5 %)");
        }
        c.*field = d;
        return Ok();
      },
      [field](const Config& c) { return fmt::format("{}", c.*field); });
}

Result<void> CheckRegex(const std::string& pattern) {
  RE2 re(pattern, RE2::Quiet);
  if (!re.ok()) {
    return MakeError(ErrorCode::kInvalid, "invalid regular expression \"" +
                                              pattern + "\": " + re.error());
  }
  return Ok();
}

Result<void> CheckWindow(const std::string& item) {
  auto d = ParseDuration(item);
  if (!d) return PassOn(d.error());
  if (d->count() == 0) {
    return MakeError(ErrorCode::kInvalid, "a window cannot be 0");
  }
  return Ok();
}

Result<std::vector<Window>> WindowsFrom(const std::vector<std::string>& items) {
  std::vector<Window> windows;
  std::set<std::int64_t> seen;
  for (const std::string& item : items) {
    if (auto ok = CheckWindow(item); !ok) {
      return PassOn(ok.error());
    }
    const milliseconds d = *ParseDuration(item);
    if (!seen.insert(d.count()).second) {
      return MakeError(ErrorCode::kInvalid,
                       "window " + item + " is listed twice");
    }
    windows.push_back(Window{d, item});
  }
  return windows;
}

std::vector<Setting> Settings(const std::string& docker_default) {
  std::vector<Setting> s;
  s.push_back(Text("web.listen-address",
                   "Address on which to expose metrics and the web interface "
                   "(host:port; port 0 picks a free one)",
                   ":9702", &Config::listen_address));
  s.push_back(Text("web.telemetry-path", "Path under which to expose metrics",
                   "/metrics", &Config::telemetry_path));
  s.push_back(Text("web.config.file",
                   "Path to a web configuration file (TLS and basic auth, "
                   "exporter-toolkit format); re-read on SIGHUP",
                   "", &Config::web_config_file));
  s.back().is_path = true;
  s.push_back(Text("config.file",
                   "Path to the YAML configuration file (flags and "
                   "environment win over it); re-read on SIGHUP",
                   "", &Config::config_file));
  s.back().sources = kFlagOrEnv;
  s.push_back(Text("cgroup.root",
                   "Root of the cgroup filesystem (v1, v2 and hybrid layouts "
                   "are detected under it)",
                   "/sys/fs/cgroup", &Config::cgroup_root));
  s.back().is_path = true;
  s.push_back(
      Text("path.procfs", "procfs mountpoint", "/proc", &Config::procfs));
  s.back().is_path = true;
  s.push_back(Text("docker.host",
                   "Docker Engine API endpoint (unix:// or tcp://); defaults "
                   "to $DOCKER_HOST when set; \"none\" turns Docker off",
                   docker_default, &Config::docker_host));
  s.push_back(Scalar(
      "sample.interval",
      "How often every container is sampled (Prometheus duration)", "5s",
      "a duration such as 5s",
      [](Config& c, const std::string& v) -> Result<void> {
        auto d = ParseDuration(v);
        if (!d) return PassOn(d.error());
        c.sample_interval = *d;
        return Ok();
      },
      [](const Config& c) { return FormatDuration(c.sample_interval); }));
  s.push_back(List(
      "leak.windows",
      "Sliding windows the leak estimator fits over (comma-separated "
      "durations)",
      std::string(kDefaultWindows), CheckWindow,
      [](Config& c, const std::vector<std::string>& items) -> Result<void> {
        auto w = WindowsFrom(items);
        if (!w) return PassOn(w.error());
        c.leak_windows = std::move(*w);
        return Ok();
      },
      [](const Config& c) {
        std::vector<std::string> labels;
        for (const Window& w : c.leak_windows) labels.push_back(w.label);
        return fmt::format("{}", fmt::join(labels, ","));
      }));
  s.back().expected = "a list of durations such as [15m, 1h]";
  // Estimator thresholds (leak.*) go here, one entry each.
  const estimator::Params defaults;
  s.push_back(Fraction(
      "leak.healthy-growth",
      "Growth, as a fraction of the memory limit per hour (the host's "
      "memory when unlimited), that is never a leak: the slope's lower "
      "confidence bound must exceed it",
      defaults.healthy_growth_per_hour, &Config::leak_healthy_growth));
  s.push_back(Fraction(
      "leak.min-growth",
      "Growth, as a fraction of the memory limit per hour, that is a leak: "
      "the slope itself must reach it (above leak.healthy-growth)",
      defaults.leak_growth_per_hour, &Config::leak_min_growth));
  s.push_back(Scalar(
      "leak.persistence",
      "Consecutive evaluations (one per window bucket, 1/32 of the window) "
      "that must agree before leak_suspected turns on or off",
      std::to_string(defaults.persistence), "a whole number such as 3",
      [](Config& c, const std::string& v) -> Result<void> {
        int n = 0;
        auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) {
          return MakeError(ErrorCode::kInvalid,
                           "\"" + v + "\" is not a whole number");
        }
        c.leak_persistence = n;
        return Ok();
      },
      [](const Config& c) { return std::to_string(c.leak_persistence); }));
  s.push_back(Scalar(
      "leak.process-interval",
      "How often each container's processes are read to name the one that "
      "leaks (never less often than 1/8 of the shortest leak window; needs "
      "the host's PID namespace)",
      "30s", "a duration such as 30s",
      [](Config& c, const std::string& v) -> Result<void> {
        auto d = ParseDuration(v);
        if (!d) return PassOn(d.error());
        c.leak_process_interval = *d;
        return Ok();
      },
      [](const Config& c) { return FormatDuration(c.leak_process_interval); }));
  s.push_back(Scalar(
      "log.level",
      "Only log messages with the given severity or above: debug, info, "
      "warn, error",
      "info", "one of debug, info, warn, error",
      [](Config& c, const std::string& v) -> Result<void> {
        auto l = log::ParseLevel(v);
        if (!l) return PassOn(l.error());
        c.log_level = *l;
        return Ok();
      },
      [](const Config& c) {
        return std::string(log::LevelName(c.log_level));
      }));
  s.push_back(Scalar(
      "log.format", "Output format of log messages: logfmt, json", "logfmt",
      "one of logfmt, json",
      [](Config& c, const std::string& v) -> Result<void> {
        auto f = log::ParseFormat(v);
        if (!f) return PassOn(f.error());
        c.log_format = *f;
        return Ok();
      },
      [](const Config& c) {
        return std::string(c.log_format == log::Format::kJson ? "json"
                                                              : "logfmt");
      }));
  s.push_back(Scalar(
      "config.check",
      "Validate the configuration (and the web configuration) and exit "
      "(0 valid, 1 invalid)",
      "", "true or false",
      [](Config& c, const std::string& v) -> Result<void> {
        auto b = ParseBool(v);
        if (!b) return PassOn(b.error());
        c.config_check = *b;
        return Ok();
      },
      nullptr));
  s.back().is_switch = true;
  s.back().sources = kFlagOrEnv;

  // containers: is file-only (regular expressions and label keys do not
  // fit a flag's comma list well).
  auto selection = [](std::vector<std::string> ContainerSelection::*field,
                      std::string key, std::string help,
                      std::function<Result<void>(const std::string&)> check) {
    Setting setting = List(
        std::move(key), std::move(help), "", std::move(check),
        [field](Config& c,
                const std::vector<std::string>& items) -> Result<void> {
          c.containers.*field = items;
          return Ok();
        },
        [field](const Config& c) {
          return fmt::format("{}", fmt::join(c.containers.*field, ","));
        });
    setting.sources = kFile;
    return setting;
  };
  s.push_back(selection(&ContainerSelection::include, "containers.include",
                        "Watch only containers whose name (or id where no "
                        "name is known) fully matches one of these RE2 "
                        "expressions; empty watches every container",
                        CheckRegex));
  s.back().expected = "a list of regular expressions";
  s.push_back(selection(&ContainerSelection::exclude, "containers.exclude",
                        "Never watch containers whose name (or id) fully "
                        "matches one of these; wins over include",
                        CheckRegex));
  s.back().expected = "a list of regular expressions";
  s.push_back(
      selection(&ContainerSelection::labels, "containers.labels",
                "Container label keys exported as container_label_<key>",
                [](const std::string& item) -> Result<void> {
                  if (item.empty()) {
                    return MakeError(ErrorCode::kInvalid, "empty label key");
                  }
                  return Ok();
                }));
  s.back().expected = "a list of label keys";
  s.push_back(selection(&ContainerSelection::include_images,
                        "containers.include-images",
                        "Watch only containers whose image (as created, "
                        "\"nginx:1.25\") fully matches one of these RE2 "
                        "expressions; empty watches every image",
                        CheckRegex));
  s.back().expected = "a list of regular expressions";
  s.push_back(selection(&ContainerSelection::exclude_images,
                        "containers.exclude-images",
                        "Never watch containers whose image fully matches "
                        "one of these; wins over include-images",
                        CheckRegex));
  s.back().expected = "a list of regular expressions";
  s.push_back(selection(
      &ContainerSelection::label_selector, "containers.label-selector",
      "Watch only containers whose labels meet every requirement: "
      "key=value, key!=value, key (set) or !key (not set)",
      [](const std::string& item) -> Result<void> {
        auto r = ParseLabelRequirement(item);
        if (!r) return PassOn(r.error());
        return Ok();
      }));
  s.back().expected = "a list of label requirements";
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

const Setting* Find(const std::vector<Setting>& settings,
                    std::string_view key) {
  for (const Setting& s : settings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

// A flag's or variable's text as the items apply takes.
Result<std::vector<std::string>> ItemsOf(const Setting& s,
                                         const std::string& text) {
  if (s.shape != detail::Shape::kList) return std::vector<std::string>{text};
  std::vector<std::string> items;
  std::string_view rest = text;
  if (rest.find_first_not_of(' ') == std::string_view::npos) return items;
  while (true) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) {
      return MakeError(ErrorCode::kInvalid, "empty item in \"" + text + "\"");
    }
    items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return items;
}

Result<void> ApplyItems(const Setting& s, Config& config,
                        const std::vector<std::string>& items) {
  if (s.check_item) {
    for (const std::string& item : items) {
      if (auto ok = s.check_item(item); !ok) return ok;
    }
  }
  return s.apply(config, items);
}

Result<void> ApplyFile(const std::vector<Setting>& settings,
                       const std::string& file, Config& config) {
  auto text = detail::ReadWholeFile(file, "config file");
  if (!text) return PassOn(text.error());
  std::vector<detail::Leaf> leaves;
  for (const Setting& s : settings) {
    detail::Leaf leaf;
    leaf.path = YamlPath(s.key);
    leaf.shape = s.shape;
    leaf.expected = s.expected;
    if ((s.sources & kFile) == 0) {
      leaf.forbidden = "can only be set by the flag --" + s.key +
                       " or the variable " + EnvName(s.key) +
                       ", not in the file";
    }
    leaves.push_back(std::move(leaf));
  }
  auto tree = detail::ReadYaml(*text, file, leaves);
  if (!tree) return PassOn(tree.error());

  const std::filesystem::path dir = std::filesystem::path(file).parent_path();
  for (const Setting& s : settings) {
    auto found = tree->find(YamlPath(s.key));
    if (found == tree->end()) continue;
    const detail::Value& value = found->second;
    std::vector<std::string> items;
    for (const detail::Item& item : value.items) {
      if (s.check_item) {
        if (auto ok = s.check_item(item.text); !ok) {
          return MakeError(ok.error().code, item.where + ": " + s.key + ": " +
                                                ok.error().message);
        }
      }
      std::string text_value = item.text;
      if (s.is_path && !text_value.empty() && text_value.front() != '/' &&
          !dir.empty()) {
        text_value = (dir / text_value).lexically_normal().string();
      }
      items.push_back(std::move(text_value));
    }
    if (auto ok = s.apply(config, items); !ok) {
      return MakeError(ok.error().code,
                       value.where + ": " + s.key + ": " + ok.error().message);
    }
    config.origin.file_locations[s.key] = value.where;
  }
  return Ok();
}

// A failed cross-field check: the settings involved, the first named being
// the one to point at, and what is wrong.
struct Problem {
  std::vector<std::string> keys;
  std::string message;
};

std::optional<Problem> Check(const Config& config) {
  if (config.sample_interval.count() <= 0) {
    return Problem{{"sample.interval"},
                   "sample.interval must be greater than 0"};
  }
  if (config.leak_windows.empty()) {
    return Problem{{"leak.windows"}, "leak.windows is empty"};
  }
  for (const Window& w : config.leak_windows) {
    if (w.duration < kMinSamplesPerWindow * config.sample_interval) {
      return Problem{
          {"leak.windows", "sample.interval"},
          "leak window " + w.label + " holds fewer than " +
              std::to_string(kMinSamplesPerWindow) + " samples at " +
              "sample.interval " + FormatDuration(config.sample_interval) +
              "; use a window of at least " +
              FormatDuration(kMinSamplesPerWindow * config.sample_interval) +
              " or a shorter interval"};
    }
  }
  if (!(config.leak_healthy_growth > 0)) {
    return Problem{{"leak.healthy-growth"},
                   "leak.healthy-growth must be greater than 0"};
  }
  if (!(config.leak_min_growth > config.leak_healthy_growth)) {
    return Problem{
        {"leak.min-growth", "leak.healthy-growth"},
        fmt::format("leak.min-growth ({}) must be greater than "
                    "leak.healthy-growth ({}): growth that is a leak cannot "
                    "be healthy",
                    config.leak_min_growth, config.leak_healthy_growth)};
  }
  if (config.leak_process_interval.count() <= 0) {
    return Problem{{"leak.process-interval"},
                   "leak.process-interval must be greater than 0"};
  }
  if (config.leak_persistence < 1) {
    return Problem{{"leak.persistence"},
                   "leak.persistence must be at least 1 (evaluations)"};
  }
  const std::string& path = config.telemetry_path;
  if (path.empty() || path.front() != '/') {
    return Problem{{"web.telemetry-path"},
                   "web.telemetry-path \"" + path + "\" must start with /"};
  }
  if (path == "/" || path == "/healthz") {
    return Problem{{"web.telemetry-path"},
                   "web.telemetry-path \"" + path +
                       "\" would hide a built-in page; choose another path"};
  }
  if (config.listen_address.find(':') == std::string::npos) {
    return Problem{{"web.listen-address"},
                   "web.listen-address \"" + config.listen_address +
                       "\" must be host:port (\":9702\" for every interface)"};
  }
  if (config.cgroup_root.empty() || config.procfs.empty()) {
    return Problem{{"cgroup.root", "path.procfs"},
                   "cgroup.root and path.procfs must not be empty"};
  }
  if (config.docker_host.empty()) {
    return Problem{{"docker.host"},
                   "docker.host is empty (use \"none\" to turn Docker off)"};
  }
  // Images and labels come from Docker; without it nothing would match
  // and every container would silently go unwatched.
  const ContainerSelection& sel = config.containers;
  if (!config.docker_enabled()) {
    for (const auto& [key, items] :
         {std::pair{"containers.include-images", &sel.include_images},
          std::pair{"containers.exclude-images", &sel.exclude_images},
          std::pair{"containers.label-selector", &sel.label_selector}}) {
      if (!items->empty()) {
        return Problem{{key, "docker.host"},
                       std::string(key) +
                           " selects by what Docker reports, but docker.host "
                           "is none"};
      }
    }
  }
  return std::nullopt;
}

// Builds a configuration from the defaults, the file and the overrides,
// in that order, and validates it.
Result<Config> Build(const std::vector<Setting>& settings,
                     const Origin& origin) {
  Config config;
  config.leak_windows = *ParseWindows(kDefaultWindows);
  config.docker_host = origin.docker_host_default;
  config.origin = origin;
  config.origin.file_locations.clear();

  std::string file;
  for (const Override& o : origin.overrides) {
    if (o.key == "config.file") file = o.value;
  }
  if (!file.empty()) {
    if (auto ok = ApplyFile(settings, file, config); !ok) {
      return PassOn(ok.error());
    }
  }
  for (const Override& o : origin.overrides) {
    const Setting* s = Find(settings, o.key);
    if (s == nullptr) continue;
    auto items = ItemsOf(*s, o.value);
    if (!items) return Prefixed(o.origin, items.error());
    if (auto ok = ApplyItems(*s, config, *items); !ok) {
      return Prefixed(o.origin, ok.error());
    }
    config.origin.file_locations.erase(o.key);
  }
  return Validate(std::move(config));
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
  std::vector<std::string> items;
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
    items.emplace_back(item);
    start = comma + 1;
  }
  return WindowsFrom(items);
}

Result<LabelRequirement> ParseLabelRequirement(std::string_view text) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    return v;
  };
  LabelRequirement r;
  std::string_view key = trim(text);
  if (!key.empty() && key.front() == '!') {
    r.op = LabelRequirement::Op::kNotExists;
    key = trim(key.substr(1));
  } else if (std::size_t at = key.find("!="); at != std::string_view::npos) {
    r.op = LabelRequirement::Op::kNotEquals;
    r.value = std::string(trim(key.substr(at + 2)));
    key = trim(key.substr(0, at));
  } else if (std::size_t eq = key.find('='); eq != std::string_view::npos) {
    r.op = LabelRequirement::Op::kEquals;
    std::string_view value = key.substr(eq + 1);
    if (!value.empty() && value.front() == '=') value.remove_prefix(1);
    r.value = std::string(trim(value));
    key = trim(key.substr(0, eq));
  }
  if (key.empty()) {
    return MakeError(ErrorCode::kInvalid,
                     "label requirement \"" + std::string(text) +
                         "\" has no key (want key=value, key!=value, key "
                         "or !key)");
  }
  if (key.find_first_of("=!") != std::string_view::npos ||
      r.value.find_first_of("=!") != std::string::npos) {
    return MakeError(ErrorCode::kInvalid,
                     "label requirement \"" + std::string(text) +
                         "\" is not key=value, key!=value, key or !key");
  }
  r.key = std::string(key);
  return r;
}

Getenv ProcessEnvironment() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<Config> Validate(Config config) {
  std::optional<Problem> problem = Check(config);
  if (!problem) return config;
  // Point at the file line of the first setting involved that the file
  // set, else at the flag or variable that set it.
  for (const std::string& key : problem->keys) {
    auto at = config.origin.file_locations.find(key);
    if (at != config.origin.file_locations.end()) {
      return MakeError(ErrorCode::kInvalid,
                       at->second + ": " + problem->message);
    }
  }
  for (const std::string& key : problem->keys) {
    for (const Override& o : config.origin.overrides) {
      if (o.key == key) {
        return MakeError(ErrorCode::kInvalid,
                         o.origin + ": " + problem->message);
      }
    }
  }
  return MakeError(ErrorCode::kInvalid, problem->message);
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
      "as LEAKWATCH_<FLAG> (upper case, dots and dashes as underscores) and, "
      "except --config.*, in the --config.file YAML (each dot a nested "
      "mapping, dashes as underscores: sample: {interval: 5s}). Precedence: "
      "flag > environment > file > default. SIGHUP re-reads the files.",
      "leakwatch"};
  app.get_formatter()->column_width(32);
  bool version = false;
  app.add_flag("--version", version, "Print the version and exit");
  std::vector<std::string> values(settings.size());
  std::vector<CLI::Option*> options(settings.size(), nullptr);
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const Setting& s = settings[i];
    if ((s.sources & kFlag) == 0) continue;
    std::string help = s.help + " [env " + EnvName(s.key) + "]";
    if (s.is_switch) {
      options[i] = app.add_flag_function(
          "--" + s.key, [&values, i](std::int64_t) { values[i] = "true"; },
          help);
    } else {
      options[i] = app.add_option("--" + s.key, values[i], help);
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

  Origin origin;
  origin.docker_host_default = docker_default;
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const Setting& s = settings[i];
    if (options[i] != nullptr && options[i]->count() > 0) {
      origin.overrides.push_back({s.key, values[i], "--" + s.key});
    } else if ((s.sources & kEnv) != 0) {
      if (auto env = getenv(EnvName(s.key).c_str()); env) {
        origin.overrides.push_back({s.key, *env, EnvName(s.key)});
      }
    }
  }
  auto config = Build(settings, origin);
  if (!config) return PassOn(config.error());
  return std::move(*config);
}

Result<Config> Reload(const Config& running) {
  return Build(Settings(running.origin.docker_host_default), running.origin);
}

std::vector<std::pair<std::string, std::string>> Describe(const Config& c) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Setting& s : Settings(c.origin.docker_host_default)) {
    if (s.show) out.emplace_back(s.key, s.show(c));
  }
  return out;
}

std::vector<std::string> FileSettings() {
  std::vector<std::string> keys;
  for (const Setting& s : Settings("")) {
    if ((s.sources & kFile) != 0) keys.push_back(s.key);
  }
  return keys;
}

std::string YamlPath(std::string_view key) {
  std::string path(key);
  std::replace(path.begin(), path.end(), '-', '_');
  return path;
}

std::string Version() { return LEAKWATCH_VERSION; }
std::string Revision() { return LEAKWATCH_REVISION; }

}  // namespace leakwatch::config
