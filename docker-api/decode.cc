#include "docker-api/detail/decode.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace leakwatch::docker::detail {
namespace {

using nlohmann::json;

// Docker's documents nest a few levels; a reply nested deeper than this is
// hostile (nlohmann's recursive algorithms would use the stack for it).
constexpr int kMaxDepth = 64;

bool TooDeep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

Result<json> Parse(std::string_view text, std::string_view what) {
  if (TooDeep(text)) {
    return MakeError(ErrorCode::kParse,
                     std::string(what) + ": JSON nested too deeply");
  }
  json doc = json::parse(text.begin(), text.end(), nullptr,
                         /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return MakeError(ErrorCode::kParse, std::string(what) + ": not JSON");
  }
  return doc;
}

Unexpected FieldError(std::string_view what, std::string_view field,
                      std::string_view problem) {
  return MakeError(ErrorCode::kParse, std::string(what) + ": " +
                                          std::string(field) + " " +
                                          std::string(problem));
}

// The member `key` of an object, or nullptr when absent or null.
const json* Member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> RequiredString(const json& obj, const char* key,
                                   std::string_view what) {
  const json* v = Member(obj, key);
  if (v == nullptr) return FieldError(what, key, "missing");
  if (!v->is_string()) return FieldError(what, key, "is not a string");
  return v->get<std::string>();
}

Result<std::string> OptionalString(const json& obj, const char* key,
                                   std::string_view what) {
  const json* v = Member(obj, key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return FieldError(what, key, "is not a string");
  return v->get<std::string>();
}

Result<std::optional<std::uint64_t>> OptionalUnsigned(const json& obj,
                                                      const char* key,
                                                      std::string_view what) {
  const json* v = Member(obj, key);
  if (v == nullptr) return std::optional<std::uint64_t>();
  if (v->is_number_unsigned()) {
    return std::optional<std::uint64_t>(v->get<std::uint64_t>());
  }
  if (v->is_number_integer() && v->get<std::int64_t>() >= 0) {
    return std::optional<std::uint64_t>(
        static_cast<std::uint64_t>(v->get<std::int64_t>()));
  }
  return FieldError(what, key, "is not a non-negative integer");
}

Result<const json*> RequiredObject(const json& obj, const char* key,
                                   std::string_view what) {
  const json* v = Member(obj, key);
  if (v == nullptr) return FieldError(what, key, "missing");
  if (!v->is_object()) return FieldError(what, key, "is not an object");
  return v;
}

bool IsContainerId(std::string_view id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

template <typename T>
bool ParseInt(std::string_view text, T& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// The systemd driver expands a slice name into its ancestors:
// "a-b-c.slice" lives at /a.slice/a-b.slice/a-b-c.slice.
std::string ExpandSlice(std::string_view slice) {
  constexpr std::string_view kSuffix = ".slice";
  if (slice.size() <= kSuffix.size() ||
      slice.substr(slice.size() - kSuffix.size()) != kSuffix) {
    return "/" + std::string(slice);
  }
  const std::string_view stem = slice.substr(0, slice.size() - kSuffix.size());
  std::string path;
  std::size_t pos = 0;
  while (true) {
    const std::size_t dash = stem.find('-', pos);
    const std::string_view prefix =
        stem.substr(0, dash == std::string_view::npos ? stem.size() : dash);
    path += "/" + std::string(prefix) + std::string(kSuffix);
    if (dash == std::string_view::npos) break;
    pos = dash + 1;
  }
  return path;
}

}  // namespace

std::string ApiVersion::ToString() const {
  return std::to_string(major) + "." + std::to_string(minor);
}

Result<ApiVersion> ParseApiVersion(std::string_view text) {
  const std::size_t dot = text.find('.');
  ApiVersion v;
  if (dot == std::string_view::npos ||
      !ParseInt(text.substr(0, dot), v.major) ||
      !ParseInt(text.substr(dot + 1), v.minor) || v.major < 0 || v.minor < 0) {
    return MakeError(ErrorCode::kParse, "API version \"" +
                                            std::string(text.substr(0, 32)) +
                                            "\" is not MAJOR.MINOR");
  }
  return v;
}

Result<ApiVersion> Negotiate(ApiVersion daemon) {
  if (daemon < kMinApiVersion) {
    return MakeError(ErrorCode::kUnavailable,
                     "Docker API " + daemon.ToString() +
                         " is older than the oldest supported, " +
                         kMinApiVersion.ToString());
  }
  return std::min(daemon, kMaxApiVersion);
}

Result<ApiVersion> DecodeVersion(std::string_view body) {
  constexpr std::string_view kWhat = "/version";
  auto doc = Parse(body, kWhat);
  if (!doc) return PassOn(doc.error());
  auto v = RequiredString(*doc, "ApiVersion", kWhat);
  if (!v) return PassOn(v.error());
  return ParseApiVersion(*v);
}

Result<DaemonInfo> DecodeInfo(std::string_view body) {
  constexpr std::string_view kWhat = "/info";
  auto doc = Parse(body, kWhat);
  if (!doc) return PassOn(doc.error());
  if (!doc->is_object()) return FieldError(kWhat, "reply", "is not an object");
  DaemonInfo info;
  auto driver = OptionalString(*doc, "CgroupDriver", kWhat);
  if (!driver) return PassOn(driver.error());
  if (!driver->empty()) info.cgroup_driver = *driver;
  // CgroupVersion arrived with API 1.40; older daemons only knew v1.
  auto version = OptionalString(*doc, "CgroupVersion", kWhat);
  if (!version) return PassOn(version.error());
  if (!version->empty()) info.cgroup_version = *version;
  return info;
}

Result<std::vector<std::string>> DecodeList(std::string_view body) {
  constexpr std::string_view kWhat = "/containers/json";
  auto doc = Parse(body, kWhat);
  if (!doc) return PassOn(doc.error());
  if (!doc->is_array()) return FieldError(kWhat, "reply", "is not an array");
  std::vector<std::string> ids;
  ids.reserve(doc->size());
  for (const json& entry : *doc) {
    auto id = RequiredString(entry, "Id", kWhat);
    if (!id) return PassOn(id.error());
    if (!IsContainerId(*id)) {
      return FieldError(kWhat, "Id", "is not a 64-hex container ID");
    }
    ids.push_back(std::move(*id));
  }
  return ids;
}

Result<std::optional<double>> ParseTime(std::string_view text) {
  using std::chrono::hours, std::chrono::minutes, std::chrono::seconds,
      std::chrono::sys_days, std::chrono::sys_seconds,
      std::chrono::year_month_day;
  auto bad = [&] {
    return MakeError(
        ErrorCode::kParse,
        "time \"" + std::string(text.substr(0, 40)) + "\" is not RFC 3339");
  };
  // 2026-11-25T00:12:49[.100510834](Z|+hh:mm|-hh:mm)
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return bad();
  }
  int year = 0;
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ParseInt(text.substr(0, 4), year) ||
      !ParseInt(text.substr(5, 2), month) ||
      !ParseInt(text.substr(8, 2), day) ||
      !ParseInt(text.substr(11, 2), hour) ||
      !ParseInt(text.substr(14, 2), minute) ||
      !ParseInt(text.substr(17, 2), second) || hour > 23 || minute > 59 ||
      second > 60) {
    return bad();
  }
  // The month must be 1..12 and the day 1..31, but the day is not checked
  // against the month's length (date.ok() would): sys_days counts the 30th
  // of February as the 2nd of March. Go never writes such a day.
  const year_month_day date{std::chrono::year(year), std::chrono::month(month),
                            std::chrono::day(day)};
  if (!date.month().ok() || !date.day().ok()) return bad();
  std::size_t pos = 19;
  double fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    double scale = 0.1;
    ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  minutes offset{0};
  const std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
    offset = minutes(0);
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') &&
             zone[3] == ':') {
    unsigned oh = 0, om = 0;
    if (!ParseInt(zone.substr(1, 2), oh) || !ParseInt(zone.substr(4, 2), om)) {
      return bad();
    }
    offset = hours(oh) + minutes(om);
    if (zone[0] == '-') offset = -offset;
  } else {
    return bad();
  }
  // Go's zero time.Time, which Docker writes for "never".
  if (year <= 1) return std::optional<double>();
  const sys_seconds utc =
      sys_days(date) + hours(hour) + minutes(minute) + seconds(second) - offset;
  return std::optional<double>(
      static_cast<double>(utc.time_since_epoch().count()) + fraction);
}

std::string CgroupPath(const DaemonInfo& info, std::string_view cgroup_parent,
                       std::string_view id) {
  if (info.cgroup_driver == "systemd") {
    const std::string_view slice = cgroup_parent.empty()
                                       ? std::string_view("system.slice")
                                       : cgroup_parent;
    return ExpandSlice(slice) + "/docker-" + std::string(id) + ".scope";
  }
  std::string parent = cgroup_parent.empty() ? std::string("/docker")
                                             : std::string(cgroup_parent);
  if (parent.front() != '/') parent.insert(parent.begin(), '/');
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  return parent + "/" + std::string(id);
}

Result<Container> DecodeInspect(std::string_view body, const DaemonInfo& info) {
  constexpr std::string_view kWhat = "/containers/{id}/json";
  auto doc = Parse(body, kWhat);
  if (!doc) return PassOn(doc.error());
  if (!doc->is_object()) return FieldError(kWhat, "reply", "is not an object");
  Container c;

  auto id = RequiredString(*doc, "Id", kWhat);
  if (!id) return PassOn(id.error());
  if (!IsContainerId(*id)) {
    return FieldError(kWhat, "Id", "is not a 64-hex container ID");
  }
  c.id = std::move(*id);

  auto name = RequiredString(*doc, "Name", kWhat);
  if (!name) return PassOn(name.error());
  c.name = name->starts_with('/') ? name->substr(1) : *name;

  auto config = RequiredObject(*doc, "Config", kWhat);
  if (!config) return PassOn(config.error());
  auto image = RequiredString(**config, "Image", kWhat);
  if (!image) return PassOn(image.error());
  c.image = std::move(*image);
  if (const json* labels = Member(**config, "Labels")) {
    if (!labels->is_object()) {
      return FieldError(kWhat, "Config.Labels", "is not an object");
    }
    for (const auto& [key, value] : labels->items()) {
      if (!value.is_string()) {
        return FieldError(kWhat, "Config.Labels." + key, "is not a string");
      }
      c.labels.emplace(key, value.get<std::string>());
    }
  }
  if (auto it = c.labels.find("com.docker.compose.project");
      it != c.labels.end()) {
    c.compose_project = it->second;
  }
  if (auto it = c.labels.find("com.docker.compose.service");
      it != c.labels.end()) {
    c.compose_service = it->second;
  }

  auto state = RequiredObject(*doc, "State", kWhat);
  if (!state) return PassOn(state.error());
  auto status = RequiredString(**state, "Status", kWhat);
  if (!status) return PassOn(status.error());
  c.state = std::move(*status);
  auto started = OptionalString(**state, "StartedAt", kWhat);
  if (!started) return PassOn(started.error());
  if (!started->empty()) {
    auto t = ParseTime(*started);
    if (!t) return FieldError(kWhat, "State.StartedAt", t.error().message);
    c.started_at_seconds = *t;
  }

  if (const json* restarts = Member(*doc, "RestartCount")) {
    if (!restarts->is_number_integer()) {
      return FieldError(kWhat, "RestartCount", "is not an integer");
    }
    c.restart_count = restarts->get<std::int64_t>();
  }

  std::string cgroup_parent;
  if (const json* host = Member(*doc, "HostConfig")) {
    if (!host->is_object()) {
      return FieldError(kWhat, "HostConfig", "is not an object");
    }
    auto memory = OptionalUnsigned(*host, "Memory", kWhat);
    if (!memory) return PassOn(memory.error());
    if (*memory && **memory > 0) c.memory_limit_bytes = *memory;
    auto parent = OptionalString(*host, "CgroupParent", kWhat);
    if (!parent) return PassOn(parent.error());
    cgroup_parent = std::move(*parent);
  }
  c.cgroup_path = CgroupPath(info, cgroup_parent, c.id);
  return c;
}

Result<Event> DecodeEvent(std::string_view line) {
  constexpr std::string_view kWhat = "/events";
  auto doc = Parse(line, kWhat);
  if (!doc) return PassOn(doc.error());
  if (!doc->is_object()) return FieldError(kWhat, "event", "is not an object");
  // API 1.22 added Type/Action/Actor; status/id are the older spelling,
  // kept by dockerd for compatibility.
  auto action = OptionalString(*doc, "Action", kWhat);
  if (!action) return PassOn(action.error());
  if (action->empty()) {
    action = OptionalString(*doc, "status", kWhat);
    if (!action) return PassOn(action.error());
  }
  std::string id;
  if (const json* actor = Member(*doc, "Actor")) {
    auto actor_id = OptionalString(*actor, "ID", kWhat);
    if (!actor_id) return PassOn(actor_id.error());
    id = std::move(*actor_id);
  }
  if (id.empty()) {
    auto old_id = OptionalString(*doc, "id", kWhat);
    if (!old_id) return PassOn(old_id.error());
    id = std::move(*old_id);
  }
  auto type = OptionalString(*doc, "Type", kWhat);
  if (!type) return PassOn(type.error());

  Event e;
  if (!type->empty() && *type != "container") return e;  // kOther
  if (!IsContainerId(id)) {
    return FieldError(kWhat, "Actor.ID", "is not a 64-hex container ID");
  }
  e.id = std::move(id);
  if (*action == "start") {
    e.action = Event::Action::kStart;
  } else if (*action == "die") {
    e.action = Event::Action::kDie;
  } else if (*action == "oom") {
    e.action = Event::Action::kOom;
  } else if (*action == "destroy") {
    e.action = Event::Action::kDestroy;
  } else if (*action == "rename") {
    e.action = Event::Action::kRename;
  } else if (*action == "update") {
    e.action = Event::Action::kUpdate;
  }
  return e;
}

Result<Stats> DecodeStats(std::string_view body) {
  constexpr std::string_view kWhat = "/containers/{id}/stats";
  auto doc = Parse(body, kWhat);
  if (!doc) return PassOn(doc.error());
  if (!doc->is_object()) return FieldError(kWhat, "reply", "is not an object");
  const json* memory = Member(*doc, "memory_stats");
  if (memory != nullptr && !memory->is_object()) {
    return FieldError(kWhat, "memory_stats", "is not an object");
  }
  auto usage = memory != nullptr
                   ? OptionalUnsigned(*memory, "usage", kWhat)
                   : Result<std::optional<std::uint64_t>>(std::nullopt);
  if (!usage) return PassOn(usage.error());
  if (!*usage) {
    // A stopped container: dockerd answers with empty memory_stats.
    return MakeError(ErrorCode::kNotFound,
                     std::string(kWhat) + ": no memory usage (not running)");
  }
  Stats s;
  s.usage_bytes = **usage;
  const json* stats = Member(*memory, "stats");
  if (stats != nullptr && !stats->is_object()) {
    return FieldError(kWhat, "memory_stats.stats", "is not an object");
  }
  auto stat = [&](const char* key) -> Result<std::optional<std::uint64_t>> {
    if (stats == nullptr) return std::optional<std::uint64_t>();
    return OptionalUnsigned(*stats, key, kWhat);
  };
  // cgroup v1 reports total_* (the hierarchy's totals); v2 anon/file.
  const bool v1 = stats != nullptr && stats->contains("total_rss");
  auto rss = stat(v1 ? "total_rss" : "anon");
  auto cache = stat(v1 ? "total_cache" : "file");
  auto inactive = stat(v1 ? "total_inactive_file" : "inactive_file");
  auto swap = stat("total_swap");
  for (const auto* r : {&rss, &cache, &inactive, &swap}) {
    if (!*r) return PassOn(r->error());
  }
  s.rss_bytes = rss->value_or(0);
  s.cache_bytes = cache->value_or(0);
  const std::uint64_t inactive_bytes = inactive->value_or(0);
  s.working_set_bytes =
      s.usage_bytes > inactive_bytes ? s.usage_bytes - inactive_bytes : 0;
  if (v1) s.swap_bytes = *swap;

  if (const json* cpu = Member(*doc, "cpu_stats")) {
    if (const json* usage_obj = Member(*cpu, "cpu_usage")) {
      auto total = OptionalUnsigned(*usage_obj, "total_usage", kWhat);
      if (!total) return PassOn(total.error());
      s.cpu_usage_ns = *total;
    }
    if (const json* throttling = Member(*cpu, "throttling_data")) {
      auto throttled = OptionalUnsigned(*throttling, "throttled_time", kWhat);
      if (!throttled) return PassOn(throttled.error());
      s.cpu_throttled_ns = *throttled;
    }
  }
  return s;
}

std::string ErrorMessage(std::string_view body) {
  if (!TooDeep(body)) {
    json doc = json::parse(body.begin(), body.end(), nullptr, false);
    if (doc.is_object()) {
      auto it = doc.find("message");
      if (it != doc.end() && it->is_string()) {
        return it->get<std::string>().substr(0, 200);
      }
    }
  }
  std::string text(body.substr(0, 200));
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace leakwatch::docker::detail
