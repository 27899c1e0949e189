# Fails when a file of the repository refers to notes outside it: every
# explanation the code needs lives in docs/, in the project's own words.
# Usage: cmake -DROOT=<folder> -P SelfContained.cmake
# Build folders (build*/) and .git are not the repository's text.
if(NOT ROOT)
  message(FATAL_ERROR "SelfContained.cmake: pass -DROOT=<folder>")
endif()
file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE ${ROOT}
  ${ROOT}/*.cpp ${ROOT}/*.h ${ROOT}/*.c ${ROOT}/*.td ${ROOT}/*.in ${ROOT}/*.cmake
  ${ROOT}/*CMakeLists.txt ${ROOT}/*.md ${ROOT}/*.mlir ${ROOT}/*.test ${ROOT}/*.py
  ${ROOT}/*.sh ${ROOT}/*.mjs ${ROOT}/*.js ${ROOT}/.ci/*)
set(offending)
set(checked 0)
foreach(f IN LISTS files)
  if(f MATCHES "^(build[^/]*|\\.git|tests/house/fixture-outside)/")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  file(STRINGS ${ROOT}/${f} hits REGEX "(^|[^a-zA-Z0-9_])shared/(design|spec|notes|golden|hooks)|\\.\\./shared")
  foreach(h IN LISTS hits)
    list(APPEND offending "${f}: ${h}")
  endforeach()
endforeach()
if(offending)
  list(JOIN offending "\n  " text)
  message(FATAL_ERROR "files refer outside the repository (write it in docs/ instead):\n  ${text}")
endif()
message(STATUS "${checked} files checked: none refers outside the repository")
