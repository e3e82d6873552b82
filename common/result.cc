#include "common/result.h"

namespace leakwatch {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kParse:
      return "parse error";
    case ErrorCode::kIo:
      return "I/O error";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInvalid:
      return "invalid";
  }
  return "unknown";
}

}  // namespace leakwatch
