#include "log/log.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace leakwatch::log {
namespace {

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::string_view SpdName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    default:
      return "error";
  }
}

// go-kit's logfmt quotes a value that is empty or holds a space, '=', '"'
// or a control character; Prometheus users grep for exactly this shape.
void AppendLogfmtValue(std::string& out, std::string_view value) {
  bool quote = value.empty();
  for (char c : value) {
    if (c == ' ' || c == '=' || c == '"' || c == '\\' ||
        static_cast<unsigned char>(c) < 0x20) {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (char c : value) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\r':
        out.append("\\r");
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('"');
}

void AppendJsonString(std::string& out, std::string_view value) {
  // nlohmann escapes per RFC 8259; invalid UTF-8 (a hostile container
  // name) is replaced rather than thrown.
  out.append(
      nlohmann::json(std::string(value))
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// Prefixes the rendered payload with ts and level, in the logger's format.
class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(Format format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    std::string ts = RenderTimestamp(msg.time);
    std::string_view level = SpdName(msg.level);
    std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string line;
    line.reserve(payload.size() + 64);
    if (format_ == Format::kJson) {
      line.append("{\"ts\":\"").append(ts).append("\",\"level\":\"");
      line.append(level).append("\",").append(payload).append("}\n");
    } else {
      line.append("ts=").append(ts).append(" level=").append(level);
      line.append(" ").append(payload).append("\n");
    }
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(format_);
  }

 private:
  Format format_;
};

}  // namespace

Result<Level> ParseLevel(std::string_view text) {
  if (text == "debug") return Level::kDebug;
  if (text == "info") return Level::kInfo;
  if (text == "warn") return Level::kWarn;
  if (text == "error") return Level::kError;
  return MakeError(ErrorCode::kInvalid,
                   "unknown log level \"" + std::string(text) +
                       "\" (want debug, info, warn or error)");
}

Result<Format> ParseFormat(std::string_view text) {
  if (text == "logfmt") return Format::kLogfmt;
  if (text == "json") return Format::kJson;
  return MakeError(
      ErrorCode::kInvalid,
      "unknown log format \"" + std::string(text) + "\" (want logfmt or json)");
}

std::string_view LevelName(Level level) { return SpdName(ToSpd(level)); }

std::string RenderTimestamp(std::chrono::system_clock::time_point time) {
  using std::chrono::floor, std::chrono::milliseconds, std::chrono::seconds;
  const auto second = floor<seconds>(time);
  const auto ms = floor<milliseconds>(time) - second;
  // fmt 9 formats a time_point in local time; fmt::gmtime gives UTC.
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(second),
                     ms.count());
}

std::string RenderFields(Format format, std::string_view msg,
                         std::initializer_list<Field> fields) {
  return RenderFieldSpan(format, msg,
                         std::span<const Field>(fields.begin(), fields.size()));
}

std::string RenderFieldSpan(Format format, std::string_view msg,
                            std::span<const Field> fields) {
  std::string out;
  if (format == Format::kJson) {
    out.append("\"msg\":");
    AppendJsonString(out, msg);
    for (const Field& f : fields) {
      out.push_back(',');
      AppendJsonString(out, f.key);
      out.push_back(':');
      AppendJsonString(out, f.value);
    }
  } else {
    out.append("msg=");
    AppendLogfmtValue(out, msg);
    for (const Field& f : fields) {
      out.push_back(' ');
      out.append(f.key);
      out.push_back('=');
      AppendLogfmtValue(out, f.value);
    }
  }
  return out;
}

Logger::Logger(Level level, Format format)
    : Logger(level, format, std::make_shared<spdlog::sinks::stderr_sink_mt>()) {
}

Logger::Logger(Level level, Format format,
               std::shared_ptr<spdlog::sinks::sink> sink)
    : format_(format),
      backend_(std::make_shared<spdlog::logger>("leakwatch", std::move(sink))) {
  backend_->set_formatter(std::make_unique<LineFormatter>(format));
  backend_->set_level(ToSpd(level));
  // Every line is flushed: a daemon's last words before a crash matter most.
  backend_->flush_on(spdlog::level::trace);
}

Logger::~Logger() = default;

bool Logger::Enabled(Level level) const {
  return backend_->should_log(ToSpd(level));
}

void Logger::SetLevel(Level level) { backend_->set_level(ToSpd(level)); }

void Logger::Log(Level level, std::string_view msg,
                 std::initializer_list<Field> fields) {
  LogFields(level, msg, std::span<const Field>(fields.begin(), fields.size()));
}

void Logger::LogFields(Level level, std::string_view msg,
                       std::span<const Field> fields) {
  if (!Enabled(level)) return;
  std::string payload = RenderFieldSpan(format_, msg, fields);
  backend_->log(ToSpd(level),
                spdlog::string_view_t(payload.data(), payload.size()));
}

}  // namespace leakwatch::log
