// Reading procfs text files: whole, and their decimal fields.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace leakwatch::proc::detail {

// The whole file; kNotFound naming the path when it cannot be opened (a
// process that exited).
Result<std::string> Slurp(const std::filesystem::path& path);

// The whole of s as an unsigned decimal.
bool ParseU64(std::string_view s, std::uint64_t& out);

}  // namespace leakwatch::proc::detail
