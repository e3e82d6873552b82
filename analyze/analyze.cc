#include "analyze/analyze.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/result.h"
#include "config/config.h"
#include "estimator/estimator.h"

namespace leakwatch::analyze {
namespace {

using estimator::Observation;

// One input series: its name and its samples in time order.
struct Series {
  std::string name;
  std::vector<Observation> samples;
  // The input said what the memory is made of (shmem or kernel columns):
  // the output then names the kind that leaks.
  bool has_kinds = false;
};

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool ParseNumber(std::string_view text, double& out) {
  std::string s = Trim(text);
  if (s.empty()) return false;
  const char* begin = s.data();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(out);
}

std::vector<std::string_view> SplitCsv(std::string_view line) {
  std::vector<std::string_view> cells;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      cells.push_back(line.substr(start));
      return cells;
    }
    cells.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

Unexpected Malformed(const std::string& file, std::size_t line,
                     const std::string& why) {
  return MakeError(ErrorCode::kParse,
                   file + ":" + std::to_string(line) + ": " + why);
}

// CSV with a header row: Unix seconds first, then named value columns.
Result<std::vector<Series>> ParseCsv(const std::string& file,
                                     const std::string& text) {
  enum Column {
    kTime,
    kWorkingSet,
    kUsage,
    kRss,
    kCache,
    kLimit,
    kShmem,
    kKernel,
    kActiveFile,
    kInactiveFile,
    kMappedFile,
  };
  std::istringstream in(text);
  std::string line;
  std::size_t line_no = 0;
  std::vector<Column> columns;
  Series series{file, {}};
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Trim(line).empty()) continue;
    auto cells = SplitCsv(line);
    if (!have_header) {
      have_header = true;
      if (cells.size() < 2) {
        return Malformed(
            file, line_no,
            "the header needs a time column and at least one value column");
      }
      columns.push_back(kTime);
      std::vector<std::string> unknown;
      // The daemon's inputs, named as its series are; `anon` is `rss`
      // under the name the kinds use.
      std::map<std::string, Column> known = {{"working_set", kWorkingSet},
                                             {"usage", kUsage},
                                             {"rss", kRss},
                                             {"anon", kRss},
                                             {"cache", kCache},
                                             {"limit", kLimit},
                                             {"shmem", kShmem},
                                             {"kernel", kKernel},
                                             {"active_file", kActiveFile},
                                             {"inactive_file", kInactiveFile},
                                             {"mapped_file", kMappedFile}};
      std::map<Column, bool> seen;
      for (std::size_t i = 1; i < cells.size(); ++i) {
        std::string name = Lower(Trim(cells[i]));
        auto it = known.find(name);
        if (it == known.end()) {
          unknown.push_back(name.empty() ? "(empty)" : name);
          columns.push_back(kWorkingSet);
          continue;
        }
        if (seen[it->second]) {
          return Malformed(file, line_no,
                           "column \"" + name + "\" appears twice" +
                               (it->second == kRss ? " (anon is rss)" : ""));
        }
        seen[it->second] = true;
        columns.push_back(it->second);
      }
      series.has_kinds = seen[kShmem] || seen[kKernel];
      if (unknown.size() > 1 || (unknown.size() == 1 && seen[kWorkingSet])) {
        return Malformed(
            file, line_no,
            "more than one value column is not working_set, usage, rss, "
            "cache, limit or a memory kind (anon, shmem, kernel, "
            "active_file, inactive_file, mapped_file) (" +
                unknown.front() + ", ...)");
      }
      continue;
    }
    if (cells.size() != columns.size()) {
      return Malformed(file, line_no,
                       "expected " + std::to_string(columns.size()) +
                           " cells, found " + std::to_string(cells.size()));
    }
    Observation o;
    double seconds = 0;
    double inactive_file = estimator::kUnknown;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      double v = 0;
      // An empty value cell is a value not known at that time (a series
      // exported with gaps, a container without a limit); the time never
      // is.
      if (columns[i] != kTime && Trim(cells[i]).empty()) continue;
      if (!ParseNumber(cells[i], v)) {
        return Malformed(file, line_no,
                         "cell " + std::to_string(i + 1) + " (\"" +
                             Trim(cells[i]) + "\") is not a number");
      }
      switch (columns[i]) {
        case kTime:
          seconds = v;
          break;
        case kWorkingSet:
          o.working_set = v;
          break;
        case kUsage:
          o.usage = v;
          break;
        case kRss:
          o.rss = v;
          break;
        case kCache:
          o.cache = v;
          break;
        case kLimit:
          o.limit = v;
          break;
        case kShmem:
          o.shmem = v;
          break;
        case kKernel:
          o.kernel = v;
          break;
        case kInactiveFile:
          inactive_file = v;
          break;
        // File memory: read and checked, never part of the signal, as in
        // the daemon.
        case kActiveFile:
        case kMappedFile:
          break;
      }
    }
    // The working set as the daemon makes it, where only its parts are
    // given.
    if (!std::isfinite(o.working_set) && std::isfinite(o.usage) &&
        std::isfinite(inactive_file)) {
      o.working_set = std::max(0.0, o.usage - inactive_file);
    }
    o.t_ms = std::llround(seconds * 1000.0);
    series.samples.push_back(o);
  }
  if (!have_header) {
    return Malformed(file, std::max<std::size_t>(line_no, 1),
                     "empty input: no header row");
  }
  return std::vector<Series>{std::move(series)};
}

std::size_t LineOf(const std::string& text, std::size_t byte) {
  byte = std::min(byte, text.size());
  return 1 + static_cast<std::size_t>(std::count(
                 text.begin(), text.begin() + static_cast<std::ptrdiff_t>(byte),
                 '\n'));
}

// Prometheus' HTTP API reply to query_range: each result a working-set
// series named name{k="v",...} with its labels sorted.
Result<std::vector<Series>> ParseQueryRange(const std::string& file,
                                            const std::string& text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Malformed(file, LineOf(text, e.byte > 0 ? e.byte - 1 : 0),
                     std::string("invalid JSON: ") + e.what());
  }
  auto bad = [&](const std::string& why) {
    // nlohmann keeps no positions after parsing; the document is usually
    // one line anyway, so line 1 and the JSON path name the spot.
    return Malformed(file, 1, why);
  };
  if (!doc.is_object() || doc.value("status", "") != "success") {
    return bad("not a successful Prometheus API reply (status != \"success\")");
  }
  const auto data = doc.find("data");
  if (data == doc.end() || !data->is_object() ||
      data->value("resultType", "") != "matrix") {
    return bad("data.resultType is not \"matrix\" (use query_range)");
  }
  const auto result = data->find("result");
  if (result == data->end() || !result->is_array()) {
    return bad("data.result is not an array");
  }
  std::vector<Series> out;
  for (std::size_t r = 0; r < result->size(); ++r) {
    const auto& item = (*result)[r];
    const std::string where = "data.result[" + std::to_string(r) + "]";
    if (!item.is_object() || !item.contains("values") ||
        !item["values"].is_array()) {
      return bad(where + ".values is missing or not an array");
    }
    std::string name;
    std::map<std::string, std::string> labels;
    if (item.contains("metric") && item["metric"].is_object()) {
      for (const auto& [k, v] : item["metric"].items()) {
        if (!v.is_string())
          return bad(where + ".metric." + k + " is not a string");
        if (k == "__name__") {
          name = v.get<std::string>();
        } else {
          labels[k] = v.get<std::string>();
        }
      }
    }
    std::string full = name + "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
      full += (first ? "" : ",") + k + "=\"" + v + "\"";
      first = false;
    }
    full += "}";
    Series s{full, {}};
    const auto& values = item["values"];
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto& pair = values[i];
      const std::string at = where + ".values[" + std::to_string(i) + "]";
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() ||
          !pair[1].is_string()) {
        return bad(at + " is not [<unix seconds>, \"<value>\"]");
      }
      double v = 0;
      const std::string text_value = pair[1].get<std::string>();
      if (text_value == "NaN" || text_value == "+Inf" || text_value == "-Inf") {
        continue;  // a gap in the series, not a malformed reply
      }
      if (!ParseNumber(text_value, v)) {
        return bad(at + " value \"" + text_value + "\" is not a number");
      }
      Observation o;
      o.t_ms = std::llround(pair[0].get<double>() * 1000.0);
      o.working_set = v;
      s.samples.push_back(o);
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<Series>> ReadInput(const std::string& file,
                                      std::istream& stdin_stream) {
  std::string text;
  if (file == "-") {
    std::ostringstream buf;
    buf << stdin_stream.rdbuf();
    text = buf.str();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return MakeError(ErrorCode::kNotFound,
                       file + ": cannot open: " + std::strerror(errno));
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) return MakeError(ErrorCode::kIo, file + ": cannot read");
    text = buf.str();
  }
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    return ParseQueryRange(file, text);
  }
  return ParseCsv(file, text);
}

// The median spacing of the samples, in seconds (0 with fewer than two).
double MedianSpacing(const std::vector<Observation>& samples) {
  std::vector<double> gaps;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    gaps.push_back(static_cast<double>(samples[i].t_ms - samples[i - 1].t_ms) /
                   1000.0);
  }
  if (gaps.empty()) return 0;
  std::nth_element(gaps.begin(),
                   gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2),
                   gaps.end());
  return gaps[gaps.size() / 2];
}

struct Row {
  std::string series;
  std::string window;
  std::size_t samples = 0;
  bool has_kinds = false;
  estimator::Verdict verdict;
  double interval_s = 0;
};

void WriteJson(std::ostream& out, const Row& r) {
  nlohmann::ordered_json j;
  j["series"] = r.series;
  j["window"] = r.window;
  j["samples"] = r.samples;
  j["slope_bytes_per_second"] = r.verdict.slope_bytes_per_second;
  j["r_squared"] = r.verdict.r_squared;
  j["score"] = r.verdict.score;
  j["suspected"] = r.verdict.suspected;
  j["first_suspected_at"] =
      r.verdict.first_suspected_at_ms
          ? nlohmann::ordered_json(
                static_cast<double>(*r.verdict.first_suspected_at_ms) / 1000.0)
          : nlohmann::ordered_json(nullptr);
  j["time_to_limit_seconds"] =
      r.verdict.time_to_limit_seconds
          ? nlohmann::ordered_json(*r.verdict.time_to_limit_seconds)
          : nlohmann::ordered_json(nullptr);
  // Whether the window judges at the end (enough history, GC troughs
  // visible): a score of 0 from one that does not is no "fine".
  j["ready"] = r.verdict.ready && r.verdict.troughs_seen;
  // What leaks, where the input said what the memory is made of: the leak
  // kind of a suspected window, null for the others.
  if (r.has_kinds) {
    j["kind"] = r.verdict.suspected && r.verdict.kind
                    ? nlohmann::ordered_json(
                          std::string(estimator::KindName(*r.verdict.kind)))
                    : nlohmann::ordered_json(nullptr);
  }
  out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
      << "\n";
}

// The LEAK column: the verdict, or why the window cannot give one.
const char* LeakWord(const estimator::Verdict& v) {
  if (v.suspected) return "yes";
  if (!v.ready) return "judging";
  return v.troughs_seen ? "no" : "blind";
}

void WriteTable(std::ostream& out, const std::vector<Row>& rows) {
  out << std::left << std::setw(32) << "SERIES" << std::setw(8) << "WINDOW"
      << std::right << std::setw(8) << "SAMPLES" << std::setw(12) << "MiB/h"
      << std::setw(7) << "R2" << std::setw(7) << "SCORE"
      << "  " << std::left << std::setw(8) << "LEAK" << std::setw(22)
      << "FIRST SUSPECTED"
      << "TIME TO LIMIT\n";
  for (const Row& r : rows) {
    std::string name = r.series.size() > 31
                           ? "…" + r.series.substr(r.series.size() - 30)
                           : r.series;
    std::ostringstream first;
    if (r.verdict.first_suspected_at_ms) {
      std::time_t secs =
          static_cast<std::time_t>(*r.verdict.first_suspected_at_ms / 1000);
      std::tm tm{};
      gmtime_r(&secs, &tm);
      first << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
    } else {
      first << "-";
    }
    std::ostringstream ttl;
    if (r.verdict.time_to_limit_seconds) {
      ttl << config::FormatDuration(std::chrono::milliseconds(
          std::llround(*r.verdict.time_to_limit_seconds / 60.0) * 60'000));
    } else {
      ttl << "-";
    }
    out << std::left << std::setw(32) << name << std::setw(8) << r.window
        << std::right << std::setw(8) << r.samples << std::setw(12)
        << std::fixed << std::setprecision(2)
        << r.verdict.slope_bytes_per_second * 3600.0 / (1024.0 * 1024.0)
        << std::setw(7) << r.verdict.r_squared << std::setw(7)
        << r.verdict.score << "  " << std::left << std::setw(8)
        << LeakWord(r.verdict) << std::setw(22) << first.str() << ttl.str()
        << "\n";
  }
}

}  // namespace

int Run(const std::vector<std::string>& args, std::istream& in,
        std::ostream& out, std::ostream& err, bool stdout_is_tty) {
  CLI::App app{
      "Runs the daemon's leak estimator over recorded samples and reports "
      "each series' verdict per window.\n\nInput (detected from content): "
      "CSV with a header row (Unix seconds first; columns working_set, "
      "usage, rss, cache, limit, and the memory kinds anon, shmem, kernel, "
      "active_file, inactive_file, mapped_file), or a Prometheus "
      "query_range JSON reply. "
      "FILE may be - for standard input.",
      "leakwatch analyze"};
  std::string windows_text(config::kDefaultWindows);
  std::string limit_text;
  std::string format;
  std::vector<std::string> files;
  bool explain = false;
  app.add_flag("--explain", explain,
               "Also print every evaluation's evidence (JSON lines on "
               "standard error)");
  app.add_option("--windows", windows_text,
                 "Comma-separated leak windows (Prometheus durations)")
      ->default_str(std::string(config::kDefaultWindows));
  app.add_option("--limit", limit_text,
                 "Memory limit in bytes (overrides a limit column)");
  // The daemon's leak.* thresholds, with the same defaults.
  estimator::Params params;
  app.add_option("--healthy-growth", params.healthy_growth_per_hour,
                 "Growth, as a fraction of the limit per hour, that is never "
                 "a leak (the daemon's --leak.healthy-growth)")
      ->default_str(fmt::format("{}", params.healthy_growth_per_hour));
  app.add_option("--min-growth", params.leak_growth_per_hour,
                 "Growth, as a fraction of the limit per hour, that is a "
                 "leak (the daemon's --leak.min-growth)")
      ->default_str(fmt::format("{}", params.leak_growth_per_hour));
  app.add_option("--persistence", params.persistence,
                 "Consecutive evaluations that must agree before the "
                 "verdict changes (the daemon's --leak.persistence)")
      ->default_str(std::to_string(params.persistence));
  app.add_option("--format", format,
                 "json (one object per line) or table; default json unless "
                 "standard output is a terminal");
  app.add_option("FILE", files, "CSV or query_range JSON files, - for stdin")
      ->required();
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "leakwatch analyze: " << e.what() << "\n";
    return 2;
  }
  auto windows = config::ParseWindows(windows_text);
  if (!windows) {
    err << "leakwatch analyze: --windows: " << windows.error().message << "\n";
    return 2;
  }
  if (!(params.healthy_growth_per_hour > 0) ||
      !std::isfinite(params.healthy_growth_per_hour)) {
    err << "leakwatch analyze: --healthy-growth must be greater than 0\n";
    return 2;
  }
  if (!(params.leak_growth_per_hour > params.healthy_growth_per_hour) ||
      !std::isfinite(params.leak_growth_per_hour)) {
    err << "leakwatch analyze: --min-growth must be greater than "
           "--healthy-growth\n";
    return 2;
  }
  if (params.persistence < 1) {
    err << "leakwatch analyze: --persistence must be at least 1\n";
    return 2;
  }
  std::optional<double> limit;
  if (!limit_text.empty()) {
    double v = 0;
    if (!ParseNumber(limit_text, v) || v <= 0) {
      err << "leakwatch analyze: --limit: \"" << limit_text
          << "\" is not a positive number of bytes\n";
      return 2;
    }
    limit = v;
  }
  if (format.empty()) format = stdout_is_tty ? "table" : "json";
  if (format != "json" && format != "table") {
    err << "leakwatch analyze: --format: \"" << format
        << "\" (want json or table)\n";
    return 2;
  }

  std::vector<std::chrono::milliseconds> durations;
  for (const auto& w : *windows) durations.push_back(w.duration);
  std::vector<Row> rows;
  for (const std::string& file : files) {
    auto series = ReadInput(file, in);
    if (!series) {
      err << "leakwatch analyze: " << series.error().message << "\n";
      return 2;
    }
    for (Series& s : *series) {
      std::stable_sort(s.samples.begin(), s.samples.end(),
                       [](const Observation& a, const Observation& b) {
                         return a.t_ms < b.t_ms;
                       });
      estimator::Estimator est(durations, params);
      std::vector<std::uint64_t> seen(durations.size(), 0);
      for (Observation o : s.samples) {
        if (limit) o.limit = *limit;
        est.Update(o);
        if (!explain) continue;
        const auto v = est.verdicts();
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (v[i].evaluations == seen[i]) continue;
          seen[i] = v[i].evaluations;
          nlohmann::ordered_json j;
          j["series"] = s.name;
          j["window"] = (*windows)[i].label;
          j["t"] = static_cast<double>(o.t_ms) / 1000.0;
          j["ready"] = v[i].ready;
          j["troughs_seen"] = v[i].troughs_seen;
          j["slope_mib_per_hour"] =
              v[i].slope_bytes_per_second * 3600 / 1048576;
          j["lower_mib_per_hour"] =
              v[i].evidence.slope_lower_bytes_per_second * 3600 / 1048576;
          j["rate"] = v[i].evidence.rate;
          j["keeps_going"] = v[i].evidence.keeps_going;
          j["not_slowing"] = v[i].evidence.not_slowing;
          j["score"] = v[i].score;
          j["suspected"] = v[i].suspected;
          err << j.dump() << "\n";
        }
      }
      const double interval = MedianSpacing(s.samples);
      const auto verdicts = est.verdicts();
      for (std::size_t i = 0; i < windows->size(); ++i) {
        Row row;
        row.series = s.name;
        row.window = (*windows)[i].label;
        row.verdict = verdicts[i];
        row.interval_s = interval;
        row.has_kinds = s.has_kinds;
        if (!s.samples.empty()) {
          // Raw samples in (last - window, last].
          const std::int64_t from =
              s.samples.back().t_ms - (*windows)[i].duration.count();
          row.samples = static_cast<std::size_t>(std::count_if(
              s.samples.begin(), s.samples.end(),
              [from](const Observation& o) { return o.t_ms > from; }));
        }
        rows.push_back(std::move(row));
      }
    }
  }
  if (format == "json") {
    for (const Row& r : rows) WriteJson(out, r);
  } else {
    WriteTable(out, rows);
  }
  return 0;
}

}  // namespace leakwatch::analyze
