# Writes OUTPUT (a header defining LEAKWATCH_REVISION) from `git rev-parse`,
# run at every build so the revision follows new commits; the file is only
# rewritten when the revision changes, so nothing rebuilds needlessly.
execute_process(
  COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${SOURCE_DIR}
  OUTPUT_VARIABLE revision
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT revision)
  set(revision "${FALLBACK}")
endif()
set(content "#pragma once\n#define LEAKWATCH_REVISION \"${revision}\"\n")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE ${OUTPUT} "${content}")
endif()
