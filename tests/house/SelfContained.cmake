# Fails when a file of the repository refers to notes outside it: every
# explanation the code needs lives in docs/, in the project's own words.
# Usage: cmake -DROOT=<folder> [-DWRITE_FIXTURE=ON] -P SelfContained.cmake
# Build folders (build*/) and .git are not the repository's text.
# WRITE_FIXTURE first writes into ROOT a file holding such a pointer, so a
# test can show that the check fails on it.
if(NOT ROOT)
  message(FATAL_ERROR "SelfContained.cmake: pass -DROOT=<folder>")
endif()
# The folder of those notes, spelled in pieces so this file does not match
# its own pattern.
string(CONCAT notes "sha" "red")
if(WRITE_FIXTURE)
  file(REMOVE_RECURSE ${ROOT})
  file(WRITE ${ROOT}/comment.cpp
       "// A comment pointing at the team's notes (../${notes}/spec/granite-hybrid.md).\n")
endif()
file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE ${ROOT}
  ${ROOT}/*.cpp ${ROOT}/*.h ${ROOT}/*.c ${ROOT}/*.td ${ROOT}/*.in ${ROOT}/*.cmake
  ${ROOT}/*CMakeLists.txt ${ROOT}/*.md ${ROOT}/*.mlir ${ROOT}/*.test ${ROOT}/*.py
  ${ROOT}/*.sh ${ROOT}/*.mjs ${ROOT}/*.js ${ROOT}/.ci/*)
set(offending)
set(checked 0)
foreach(f IN LISTS files)
  if(f MATCHES "^(build[^/]*|\\.git)/")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  file(STRINGS ${ROOT}/${f} hits REGEX "(^|[^a-zA-Z0-9_])${notes}/(design|spec|notes|golden|hooks)|\\.\\./${notes}")
  foreach(h IN LISTS hits)
    list(APPEND offending "${f}: ${h}")
  endforeach()
endforeach()
if(offending)
  list(JOIN offending "\n  " text)
  message(FATAL_ERROR "files refer outside the repository (write it in docs/ instead):\n  ${text}")
endif()
message(STATUS "${checked} files checked: none refers outside the repository")
