# cmake -DREADELF= -DNM= -DLIBRARY= -DPREFIX= [-DMACHINE=AArch64] -P CheckModelLinkage.cmake
# A compiled model library must run anywhere libc runs: it may need only the
# C runtime's libraries, and must export only its prefixed API (everything
# else, Halide runtime and hybridc runtime included, is hidden so that two
# models can share a process).
# MACHINE: the ELF machine the library must be for (readelf -h's name, a
# cross target's), when given.
if(DEFINED MACHINE)
  execute_process(COMMAND ${READELF} -h ${LIBRARY} OUTPUT_VARIABLE header RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT header MATCHES "Machine: +${MACHINE}\n")
    message(FATAL_ERROR "${LIBRARY} is not an ${MACHINE} library:\n${header}")
  endif()
endif()
execute_process(COMMAND ${READELF} -d ${LIBRARY} OUTPUT_VARIABLE dyn RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf -d ${LIBRARY} failed")
endif()
string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[[^]\n]+\\]" needed "${dyn}")
if(NOT needed)
  message(FATAL_ERROR "readelf -d ${LIBRARY} shows no NEEDED entries at all (not libc?)")
endif()
foreach(n IN LISTS needed)
  string(REGEX REPLACE ".*\\[(.*)\\]" "\\1" lib "${n}")
  if(NOT lib MATCHES "^(libc|libm|libpthread|libdl|libgcc_s)\\.so")
    message(FATAL_ERROR "${LIBRARY} needs ${lib}; only libc/libm/libpthread/libdl/libgcc_s "
                        "are allowed")
  endif()
  message(STATUS "NEEDED ${lib}")
endforeach()

execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY} OUTPUT_VARIABLE exported
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm -D --defined-only ${LIBRARY} failed")
endif()
string(REGEX MATCHALL "[0-9a-fA-F]+ [A-Za-z] [^\n]+" defs "${exported}")
set(count 0)
foreach(d IN LISTS defs)
  string(REGEX REPLACE "^[0-9a-fA-F]+ [A-Za-z] " "" sym "${d}")
  # Version-script node names (e.g. "HYBRIDC_1.0" as an absolute symbol)
  # are not code or data; everything else must carry the prefix.
  if(d MATCHES "^[0-9a-fA-F]+ A ")
    continue()
  endif()
  if(NOT sym MATCHES "^${PREFIX}")
    message(FATAL_ERROR "${LIBRARY} exports ${sym}; only ${PREFIX}* may be exported")
  endif()
  math(EXPR count "${count} + 1")
endforeach()
if(count LESS 10)
  message(FATAL_ERROR "${LIBRARY} exports only ${count} ${PREFIX}* symbols; the API has more")
endif()
message(STATUS "${LIBRARY}: ${count} exported ${PREFIX}* symbols, NEEDED ok")
