// Errors as values at module boundaries.
//
// Result<T> is tl::expected<T, Error>. Only the parts that std::expected also
// has are used (value, error, has_value, and_then, or_else), errors are
// made through MakeError alone and passed on through PassOn alone, so moving
// to C++23's std::expected is a change to this file.
#pragma once

#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>

namespace leakwatch {

enum class ErrorCode {
  // A file or object that is not there. A normal race when a container exits
  // between discovery and reading.
  kNotFound,
  // Content that does not have the documented format: a bug or a kernel we
  // do not know, never a race.
  kParse,
  // Any other failed system call.
  kIo,
  // A source that cannot answer now (a daemon that is down).
  kUnavailable,
  // A setting or argument that is not acceptable.
  kInvalid,
};

std::string_view ErrorCodeName(ErrorCode code);

// Thread-safety: a plain value.
struct Error {
  ErrorCode code;
  // Names the path, field or flag concerned.
  std::string message;
};

template <typename T>
using Result = tl::expected<T, Error>;

// What MakeError and PassOn return: it converts to a failed Result<T> of
// any T. A helper that builds errors for its callers (a parser's "line N:"
// prefix) returns it too, so no file but this one names tl::unexpected.
using Unexpected = tl::unexpected<Error>;

// Passes an existing error on, unchanged: from a Result of another type,
// `if (!r) return PassOn(r.error());`, or an Error kept as a plain value.
// A message that gains context is a new error, made with MakeError.
inline Unexpected PassOn(Error error) { return Unexpected(std::move(error)); }

// Makes a new error.
inline Unexpected MakeError(ErrorCode code, std::string message) {
  return PassOn(Error{code, std::move(message)});
}

}  // namespace leakwatch
