# Imports Debian's Halide 14 as a plain shared library target `hybridc::Halide`.
# Deliberately not find_package(Halide): that pulls LLVM 14's CMake config into
# a project built against LLVM 19.
set(HYBRIDC_HALIDE_LIBRARY /usr/lib/x86_64-linux-gnu/libHalide14.so.0
    CACHE FILEPATH "Halide 14 shared library")
set(HYBRIDC_HALIDE_INCLUDE_DIR /usr/include/halide14
    CACHE PATH "Halide 14 headers")
if(NOT EXISTS "${HYBRIDC_HALIDE_LIBRARY}" OR NOT EXISTS "${HYBRIDC_HALIDE_INCLUDE_DIR}/Halide.h")
  message(FATAL_ERROR "Halide 14 not found (install libhalide14-0-dev): "
          "${HYBRIDC_HALIDE_LIBRARY}, ${HYBRIDC_HALIDE_INCLUDE_DIR}/Halide.h")
endif()
add_library(hybridc_halide SHARED IMPORTED GLOBAL)
set_target_properties(hybridc_halide PROPERTIES
  IMPORTED_LOCATION "${HYBRIDC_HALIDE_LIBRARY}"
  INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${HYBRIDC_HALIDE_INCLUDE_DIR}"
  INTERFACE_INCLUDE_DIRECTORIES "${HYBRIDC_HALIDE_INCLUDE_DIR}"
  INTERFACE_COMPILE_DEFINITIONS "HALIDE_ENABLE_RTTI;HALIDE_WITH_EXCEPTIONS"
  INTERFACE_COMPILE_OPTIONS "-fexceptions")
add_library(hybridc::Halide ALIAS hybridc_halide)
