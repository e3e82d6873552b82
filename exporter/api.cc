#include "exporter/detail/api.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "exporter/detail/snapshot.h"

namespace leakwatch::exporter::detail {
namespace {

// Insertion order, so a reply reads in the order docs/api.md lists the
// fields.
using Json = nlohmann::ordered_json;

constexpr std::string_view kJsonContentType = "application/json";
constexpr std::string_view kContainersPath = "/api/v1/containers";

double Seconds(store::Millis t_ms) { return static_cast<double>(t_ms) / 1e3; }

// Container names, labels and the echoed query come from outside; dump()
// throws on invalid UTF-8 unless told to replace it.
std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

web::Response JsonResponse(unsigned status, const Json& body) {
  web::Response response;
  response.status = status;
  response.content_type = kJsonContentType;
  response.body = Dump(body);
  response.body += '\n';
  // Live data: a cached copy would show a leak that has moved on. And the
  // body echoes the query, so no browser may read it as anything but JSON.
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

web::Response Error(unsigned status, std::string message) {
  return JsonResponse(status, Json{{"error", std::move(message)}});
}

// What a request asks for, from its path alone.
struct Endpoint {
  enum class Kind { kUnknown, kList, kContainer, kSeries };
  Kind kind = Kind::kUnknown;
  std::string id;
};

Endpoint Parse(std::string_view path) {
  if (path == kContainersPath) return {Endpoint::Kind::kList, {}};
  if (!path.starts_with(kContainersPath) ||
      path[kContainersPath.size()] != '/') {
    return {};
  }
  std::string_view rest = path.substr(kContainersPath.size() + 1);
  const std::size_t slash = rest.find('/');
  std::string_view id = rest.substr(0, slash);
  if (id.empty()) return {};
  if (slash == std::string_view::npos) {
    return {Endpoint::Kind::kContainer, std::string(id)};
  }
  if (rest.substr(slash) == "/series") {
    return {Endpoint::Kind::kSeries, std::string(id)};
  }
  return {};
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding: "+" is a space, "%XX" a
// byte. nullopt for a "%" not followed by two hex digits.
std::optional<std::string> Unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

using Query = std::vector<std::pair<std::string, std::string>>;

// Splits a query string into decoded name/value pairs, or says what is
// wrong with it.
Result<Query> ParseQuery(std::string_view query) {
  Query out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    auto name = Unescape(item.substr(0, eq));
    auto value = Unescape(eq == std::string_view::npos ? std::string_view()
                                                       : item.substr(eq + 1));
    if (!name || !value) {
      return MakeError(ErrorCode::kInvalid,
                       "malformed percent-encoding in query parameter \"" +
                           std::string(item) + "\"");
    }
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

// Refuses any parameter not in `allowed`, and any given twice: a typo
// ("windw=1h") must not quietly give the default.
Result<void> CheckParameters(const Query& query,
                             std::initializer_list<std::string_view> allowed) {
  for (std::size_t i = 0; i < query.size(); ++i) {
    const std::string& name = query[i].first;
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string known;
      for (std::string_view a : allowed) {
        known += known.empty() ? "" : ", ";
        known += a;
      }
      return MakeError(
          ErrorCode::kInvalid,
          "unknown query parameter \"" + name + "\" (" +
              (known.empty() ? "this endpoint takes none" : "known: " + known) +
              ")");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (query[j].first == name) {
        return MakeError(ErrorCode::kInvalid,
                         "query parameter \"" + name + "\" given twice");
      }
    }
  }
  return {};
}

std::string JoinLabels(const std::vector<std::string>& labels) {
  std::string out;
  for (const std::string& l : labels) {
    out += out.empty() ? "" : ", ";
    out += l;
  }
  return out.empty() ? "none" : out;
}

// The configured window a "window" parameter names: by its label as
// written ("1h"), else by its length ("60m" is the "1h" window). Returns
// its index in the snapshot's windows.
Result<std::size_t> FindWindow(const Snapshot& snapshot,
                               const std::string& text) {
  const std::vector<std::string>& labels = *snapshot.window_labels;
  const auto& durations = *snapshot.window_durations;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == text) return i;
  }
  auto duration = config::ParseDuration(text);
  if (!duration) {
    return MakeError(ErrorCode::kInvalid,
                     "window \"" + text +
                         "\" is not a duration (configured windows: " +
                         JoinLabels(labels) + ")");
  }
  for (std::size_t i = 0; i < durations.size(); ++i) {
    if (durations[i] == *duration) return i;
  }
  return MakeError(ErrorCode::kInvalid,
                   "window \"" + text + "\" is not configured (configured " +
                       "windows: " + JoinLabels(labels) + ")");
}

Json Optional(const std::optional<double>& v) {
  return v ? Json(*v) : Json(nullptr);
}
Json Optional(const std::optional<std::uint64_t>& v) {
  return v ? Json(*v) : Json(nullptr);
}
Json Text(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

// The verdict in one word, for a badge: "leaking" (the estimator's
// verdict, with its hysteresis), "ok" (judged, not leaking),
// "collecting" (not enough history yet to judge) or "no_troughs" (the
// history is there, but some quarter of the window holds no garbage
// collection, so its minima are no troughs and it cannot judge). Only
// "ok" says the container is fine.
const char* VerdictWord(const LeakVerdict& v) {
  if (v.suspected) return "leaking";
  if (!v.ready) return "collecting";
  return v.troughs_seen ? "ok" : "no_troughs";
}

// Mirrors the leak series on /metrics: score 0 and the fit's numbers null
// until the window holds enough history.
Json LeakJson(const LeakVerdict& v) {
  auto fitted = [&v](double x) { return v.ready ? Json(x) : Json(nullptr); };
  Json out;
  out["ready"] = v.ready;
  out["troughs_seen"] = v.troughs_seen;
  out["judges"] = v.judges();
  out["verdict"] = VerdictWord(v);
  out["suspected"] = v.suspected;
  out["score"] = v.ready ? v.score : 0.0;
  out["slope_bytes_per_second"] = fitted(v.slope_bytes_per_second);
  out["r_squared"] = fitted(v.r_squared);
  out["time_to_limit_seconds"] =
      v.ready ? Optional(v.time_to_limit_seconds) : Json(nullptr);
  out["baseline_bytes"] = fitted(v.baseline_bytes);
  out["baseline_at"] = fitted(Seconds(v.baseline_at_ms));
  // What leaks, as leak_info and leak_kind_slope: suspected windows only.
  out["kind"] =
      v.kind ? Json(std::string(estimator::KindName(*v.kind))) : Json(nullptr);
  out["process"] =
      v.process ? Json{{"comm", v.process->comm}, {"pid", v.process->pid}}
                : Json(nullptr);
  Json slopes = nullptr;
  if (v.kind) {
    slopes = Json::object();
    for (std::size_t k = 0; k < estimator::kKinds; ++k) {
      if (!std::isfinite(v.kind_slopes[k])) continue;
      slopes[std::string(estimator::KindName(
          static_cast<estimator::Kind>(k)))] = v.kind_slopes[k];
    }
  }
  out["kind_slopes_bytes_per_second"] = std::move(slopes);
  return out;
}

Json ContainerJson(const ContainerSnapshot& c, const Snapshot& snapshot) {
  const ContainerMetadata* m = c.metadata.get();
  Json out;
  out["id"] = c.id;
  out["name"] = m != nullptr ? Text(m->name) : Json(nullptr);
  out["image"] = m != nullptr ? Text(m->image) : Json(nullptr);
  out["compose_project"] = m != nullptr ? Text(m->compose_project) : nullptr;
  out["compose_service"] = m != nullptr ? Text(m->compose_service) : nullptr;
  // Only the allow-listed keys (containers.labels), as on /metrics: labels
  // the operator chose not to export may hold what should not be shown.
  Json labels = Json::object();
  if (m != nullptr) {
    for (const std::string& key : *snapshot.label_keys) {
      auto it = m->labels.find(key);
      if (it != m->labels.end()) labels[key] = it->second;
    }
  }
  out["labels"] = std::move(labels);
  out["cgroup"] = c.cgroup_path;
  out["started_at"] = m != nullptr && m->started_at_seconds
                          ? *m->started_at_seconds
                          : c.first_seen_seconds;
  const cgroup::Sample& s = c.sample;
  Json memory;
  memory["usage_bytes"] = s.usage_bytes;
  memory["working_set_bytes"] = s.working_set_bytes;
  memory["rss_bytes"] = s.rss_bytes;
  memory["cache_bytes"] = s.cache_bytes;
  memory["swap_bytes"] = Optional(s.swap_bytes);
  memory["shmem_bytes"] = Optional(s.shmem_bytes);
  memory["kernel_bytes"] = Optional(s.kernel_bytes);
  memory["mapped_file_bytes"] = Optional(s.mapped_file_bytes);
  memory["limit_bytes"] = Optional(s.limit_bytes);
  // As leakwatch_container_memory_oom_events_total: the kernel's counter,
  // else the runtime's oom events.
  memory["oom_events"] =
      s.oom_kills ? Optional(s.oom_kills)
                  : (m != nullptr ? Optional(m->oom_events) : nullptr);
  out["memory"] = std::move(memory);
  Json leak = Json::object();
  const std::vector<std::string>& windows = *snapshot.window_labels;
  // Verdicts and labels come from the same pass; a snapshot made without
  // them (no estimator) has none, as on /metrics.
  if (c.leak.size() == windows.size()) {
    for (std::size_t i = 0; i < windows.size(); ++i) {
      leak[windows[i]] = LeakJson(c.leak[i]);
    }
  }
  out["leak"] = std::move(leak);
  return out;
}

web::Response List(const Snapshot& snapshot, double now_seconds) {
  Json out;
  out["time"] = snapshot.pass_end_seconds;
  out["sampling_current"] =
      SamplingCurrent(snapshot, now_seconds, snapshot.sample_interval);
  out["sample_interval_seconds"] =
      std::chrono::duration<double>(snapshot.sample_interval).count();
  out["windows"] = *snapshot.window_labels;
  Json containers = Json::array();
  for (const ContainerSnapshot& c : snapshot.containers) {
    containers.push_back(ContainerJson(c, snapshot));
  }
  out["containers"] = std::move(containers);
  return JsonResponse(200, out);
}

const ContainerSnapshot* Find(const Snapshot& snapshot, const std::string& id) {
  // Snapshot::containers is sorted by id.
  auto it = std::lower_bound(snapshot.containers.begin(),
                             snapshot.containers.end(), id,
                             [](const ContainerSnapshot& c,
                                const std::string& key) { return c.id < key; });
  if (it == snapshot.containers.end() || it->id != id) return nullptr;
  return &*it;
}

web::Response UnknownContainer(const std::string& id) {
  return Error(404, "no container with id \"" + id +
                        "\" (ids are the 64-hex container IDs that "
                        "/api/v1/containers lists)");
}

// The memory kinds the page draws, as the history stores them, and their
// names in the reply.
constexpr std::size_t kShown[] = {
    static_cast<std::size_t>(store::Input::kWorkingSet),
    static_cast<std::size_t>(store::Input::kRss),
    static_cast<std::size_t>(store::Input::kCache),
    static_cast<std::size_t>(store::Input::kUnreclaimable)};
constexpr const char* kNames[] = {"working_set_bytes", "rss_bytes",
                                  "cache_bytes", "unreclaimable_bytes"};
constexpr int kShownCount = static_cast<int>(std::size(kShown));

// Buckets fill in what the raw tier no longer reaches: those that start
// inside the window (at start_ms or later) and before raw_from, the first
// raw sample in it. data_from becomes the first one's start.
Json BucketsJson(const store::History& history, store::Millis start_ms,
                 store::Millis raw_from,
                 std::optional<store::Millis>& data_from) {
  Json bt = Json::array(), count = Json::array();
  Json bmin[kShownCount], bmax[kShownCount], blast[kShownCount];
  for (int i = 0; i < kShownCount; ++i) {
    bmin[i] = Json::array();
    bmax[i] = Json::array();
    blast[i] = Json::array();
  }
  history.ForEachBucket([&](const store::Bucket& b) {
    if (b.start_ms < start_ms || b.start_ms >= raw_from) return;
    if (!data_from) data_from = b.start_ms;
    bt.push_back(Seconds(b.start_ms));
    count.push_back(b.count);
    for (int i = 0; i < kShownCount; ++i) {
      bmin[i].push_back(b.min[kShown[i]]);
      bmax[i].push_back(b.max[kShown[i]]);
      blast[i].push_back(b.last[kShown[i]]);
    }
  });
  Json buckets;
  buckets["t"] = std::move(bt);
  buckets["count"] = std::move(count);
  for (int i = 0; i < kShownCount; ++i) {
    buckets[kNames[i]] = Json{{"min", std::move(bmin[i])},
                              {"max", std::move(bmax[i])},
                              {"last", std::move(blast[i])}};
  }
  return buckets;
}

// Raw samples from first_raw on, oldest first; data_from becomes the
// first one's time unless buckets came before.
Json SamplesJson(const store::History& history, std::size_t first_raw,
                 std::optional<store::Millis>& data_from) {
  Json rt = Json::array(), rv[kShownCount];
  for (int i = 0; i < kShownCount; ++i) rv[i] = Json::array();
  for (std::size_t k = first_raw; k < history.RawSize(); ++k) {
    const store::Point p = history.Raw(k);
    if (!data_from) data_from = p.t_ms;
    rt.push_back(Seconds(p.t_ms));
    for (int i = 0; i < kShownCount; ++i) rv[i].push_back(p.bytes[kShown[i]]);
  }
  Json samples;
  samples["t"] = std::move(rt);
  for (int i = 0; i < kShownCount; ++i) samples[kNames[i]] = std::move(rv[i]);
  return samples;
}

// The line the estimator judged: its fit of the post-GC minima of the
// unreclaimable memory (estimator::SignalOf), drawn where there is data in
// the window. Only once the window is ready: before that there is no fit
// worth drawing.
Json TrendJson(const ContainerSnapshot& c, std::size_t w,
               std::optional<store::Millis> data_from, store::Millis end_ms) {
  if (w >= c.leak.size() || !c.leak[w].ready || !data_from) return nullptr;
  const LeakVerdict& v = c.leak[w];
  auto at = [&v](store::Millis t_ms) {
    return v.baseline_bytes +
           v.slope_bytes_per_second * Seconds(t_ms - v.baseline_at_ms);
  };
  Json trend = Json::object();
  trend["input"] = "unreclaimable_bytes";
  trend["slope_bytes_per_second"] = v.slope_bytes_per_second;
  trend["baseline_bytes"] = v.baseline_bytes;
  trend["baseline_at"] = Seconds(v.baseline_at_ms);
  trend["t"] = Json::array({Seconds(*data_from), Seconds(end_ms)});
  trend["bytes"] = Json::array({at(*data_from), at(end_ms)});
  return trend;
}

// The ring buffers over one window: raw samples where the raw tier
// reaches, buckets (min, max, last) before that, and the trend line.
web::Response Series(const Snapshot& snapshot, const ContainerSnapshot& c,
                     const Query& query) {
  const std::vector<std::string>& labels = *snapshot.window_labels;
  if (labels.empty() || labels.size() != snapshot.window_durations->size()) {
    return Error(400, "no leak windows are configured");
  }
  std::size_t w = 0;  // the first configured window by default
  if (!query.empty()) {
    auto found = FindWindow(snapshot, query.front().second);
    if (!found) return Error(400, found.error().message);
    w = *found;
  }
  const std::chrono::milliseconds duration = (*snapshot.window_durations)[w];

  // The copy is the only moment the sampling thread can be held up, and
  // it is one pass over two small arrays; the JSON is built without it.
  const store::History history = c.history != nullptr
                                     ? c.history->Copy()
                                     : store::History(store::Geometry{});
  const store::Millis end_ms = history.RawSize() > 0
                                   ? history.Latest().t_ms
                                   : static_cast<store::Millis>(std::llround(
                                         snapshot.pass_end_seconds * 1e3));
  const store::Millis start_ms = end_ms - duration.count();
  std::size_t first_raw = 0;
  while (first_raw < history.RawSize() &&
         history.Raw(first_raw).t_ms < start_ms) {
    ++first_raw;
  }
  const store::Millis raw_from =
      first_raw < history.RawSize() ? history.Raw(first_raw).t_ms : end_ms + 1;
  std::optional<store::Millis> data_from;
  Json buckets = BucketsJson(history, start_ms, raw_from, data_from);
  Json samples = SamplesJson(history, first_raw, data_from);

  Json out;
  out["id"] = c.id;
  out["window"] = labels[w];
  out["window_seconds"] = std::chrono::duration<double>(duration).count();
  out["start"] = Seconds(start_ms);
  out["end"] = Seconds(end_ms);
  out["sample_interval_seconds"] =
      std::chrono::duration<double>(snapshot.sample_interval).count();
  out["bucket_seconds"] = Seconds(history.geometry().bucket_ms);
  out["limit_bytes"] = Optional(c.sample.limit_bytes);
  out["samples"] = std::move(samples);
  out["buckets"] = std::move(buckets);
  out["trend"] = TrendJson(c, w, data_from, end_ms);
  out["leak"] = w < c.leak.size() ? LeakJson(c.leak[w]) : Json(nullptr);
  return JsonResponse(200, out);
}

}  // namespace

web::Response ServeApi(const web::Request& request, const Snapshot& snapshot,
                       double now_seconds) {
  std::string_view target = request.target;
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query_text = question == std::string_view::npos
                                          ? std::string_view()
                                          : target.substr(question + 1);
  const Endpoint endpoint = Parse(path);
  if (endpoint.kind == Endpoint::Kind::kUnknown) {
    return Error(404, "unknown API path \"" + std::string(path) +
                          "\" (docs/api.md lists /api/v1/containers, "
                          "/api/v1/containers/{id} and "
                          "/api/v1/containers/{id}/series)");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    web::Response response =
        Error(405, "method " + request.method + " not allowed");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  auto query = ParseQuery(query_text);
  if (!query) return Error(400, query.error().message);
  auto allowed = endpoint.kind == Endpoint::Kind::kSeries
                     ? CheckParameters(*query, {"window"})
                     : CheckParameters(*query, {});
  if (!allowed) return Error(400, allowed.error().message);

  if (endpoint.kind == Endpoint::Kind::kList) {
    return List(snapshot, now_seconds);
  }
  const ContainerSnapshot* c = Find(snapshot, endpoint.id);
  if (c == nullptr) return UnknownContainer(endpoint.id);
  if (endpoint.kind == Endpoint::Kind::kContainer) {
    return JsonResponse(200, ContainerJson(*c, snapshot));
  }
  return Series(snapshot, *c, *query);
}

}  // namespace leakwatch::exporter::detail
