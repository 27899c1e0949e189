//===- Resources.h - what a compile links into every library ----*- C++ -*-===//
//
// `hybridc compile` writes C glue from two templates, compiles it against
// the runtime's ABI headers and Halide's runtime header, and links the
// runtime archive into the library. It finds them relative to its own
// executable, in the layout `cmake --install` writes and the build tree
// mirrors:
//   <prefix>/bin/hybridc
//   <prefix>/share/hybridc/templates/model_api.h.in, model_api_glue.c.in
//   <prefix>/include/hybridc/runtime_abi.h (and the other runtime headers)
//   <prefix>/include/hybridc/halide/HalideRuntime.h
//   <prefix>/lib/libhybridc_runtime.a
// so an installed hybridc reads nothing from the source or build tree, and
// an installed prefix can be moved.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_RESOURCES_H
#define HYBRIDC_COMPILE_RESOURCES_H

#include "llvm/Support/Error.h"

#include <string>

namespace hybridc {

struct Resources {
  std::string prefix;
  std::string templatesDir;    // model_api.h.in, model_api_glue.c.in
  std::string includeDir;      // holds hybridc/runtime_abi.h
  std::string halideIncludeDir; // holds HalideRuntime.h
  std::string runtimeArchive;  // libhybridc_runtime.a
};

/// The pieces next to the running executable; an error names the first one
/// missing and where it was looked for.
llvm::Expected<Resources> findResources();

} // namespace hybridc

#endif // HYBRIDC_COMPILE_RESOURCES_H
