# Writes OUTPUT, a C++ file defining
#   extern const std::string_view leakwatch::exporter::detail::<NAME>
# as the bytes of INPUT, so the daemon serves a file from its own binary
# (the page at "/" with no file to install and nothing fetched at run time).
# Bytes rather than a raw string literal: no delimiter can clash with the
# content. Rewritten only when the content changes.
file(READ ${INPUT} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
get_filename_component(source ${INPUT} NAME)
set(content "// Generated from ${source} by cmake/embed.cmake; do not edit.
#include <string_view>

namespace leakwatch::exporter::detail {
namespace {
constexpr char kBytes[] = {${bytes}0};
}  // namespace
extern const std::string_view ${NAME};
const std::string_view ${NAME}(kBytes, sizeof kBytes - 1);
}  // namespace leakwatch::exporter::detail
")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE ${OUTPUT} "${content}")
endif()
