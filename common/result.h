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

// Passes an error on, unchanged, from a Result of another type:
// `if (!r) return PassOn(r.error());`. With MakeError, the one place that
// spells tl::unexpected.
inline tl::unexpected<Error> PassOn(Error error) {
  return tl::unexpected<Error>(std::move(error));
}

// Makes a new error.
inline tl::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return PassOn(Error{code, std::move(message)});
}

}  // namespace leakwatch
