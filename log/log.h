// Structured logging: one line per event, in logfmt or JSON.
//
//   logger.Info("Listening on", {{"address", "127.0.0.1:9702"}});
//   ts=2026-11-24T10:00:00.000Z level=info msg="Listening on"
//   address=127.0.0.1:9702
//   {"ts":"2026-11-24T10:00:00.000Z","level":"info","msg":"Listening
//   on","address":"127.0.0.1:9702"}
//
// spdlog does the levels, the sink and the locking; this class only renders
// the key/value pairs. The logger is an object passed to whoever logs: no
// global registry.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"

namespace spdlog {
class logger;
namespace sinks {
class sink;
}
}  // namespace spdlog

namespace leakwatch::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kLogfmt, kJson };

Result<Level> ParseLevel(std::string_view text);
Result<Format> ParseFormat(std::string_view text);
std::string_view LevelName(Level level);

struct Field {
  std::string_view key;
  std::string value;
};

// Thread-safety: every method may be called from any thread.
class Logger {
 public:
  // Writes to standard error.
  Logger(Level level, Format format);
  // Writes to the given sink (tests capture lines this way).
  Logger(Level level, Format format, std::shared_ptr<spdlog::sinks::sink> sink);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool Enabled(Level level) const;
  void SetLevel(Level level);
  void Log(Level level, std::string_view msg,
           std::initializer_list<Field> fields = {});
  // The same with fields built at run time (the effective configuration,
  // logged once at startup as one line).
  void LogFields(Level level, std::string_view msg,
                 std::span<const Field> fields);

  void Debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kDebug, msg, fields);
  }
  void Info(std::string_view msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kInfo, msg, fields);
  }
  void Warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kWarn, msg, fields);
  }
  void Error(std::string_view msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kError, msg, fields);
  }

 private:
  Format format_;
  std::shared_ptr<spdlog::logger> backend_;
};

// Renders one event's payload (everything after ts and level) in a format;
// exposed for tests.
std::string RenderFields(Format format, std::string_view msg,
                         std::initializer_list<Field> fields);
std::string RenderFieldSpan(Format format, std::string_view msg,
                            std::span<const Field> fields);

// Renders the time of an event, the value of ts: RFC 3339 in UTC with
// milliseconds ("2026-11-24T10:00:00.000Z"), as Prometheus' own logs.
// Exposed for tests, which cannot set the time of a logged line.
std::string RenderTimestamp(std::chrono::system_clock::time_point time);

}  // namespace leakwatch::log
