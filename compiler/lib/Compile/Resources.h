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
//   <prefix>/lib/libhybridc_pcre2.a (Debian's libpcre2-8.a, which the
//     runtime's tokenizer uses, linked into every library)
//   <prefix>/lib/aarch64-linux-gnu/libhybridc_runtime.a, libhybridc_pcre2.a
//     (the same, cross-built, when hybridc was built with the cross toolchain
//     present)
// so an installed hybridc reads nothing from the source or build tree, and
// an installed prefix can be moved.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_RESOURCES_H
#define HYBRIDC_COMPILE_RESOURCES_H

#include "hybridc/Codegen/KernelSpec.h"

#include "llvm/Support/Error.h"

#include <string>

namespace hybridc {

struct Resources {
  std::string prefix;
  std::string templatesDir;    // model_api.h.in, model_api_glue.c.in
  std::string includeDir;      // holds hybridc/runtime_abi.h
  std::string halideIncludeDir; // holds HalideRuntime.h
  std::string runtimeArchive;  // libhybridc_runtime.a for the target compiled for
  std::string pcre2Archive;    // libhybridc_pcre2.a beside it
};

/// The pieces next to the running executable; an error names the first one
/// missing and where it was looked for.
llvm::Expected<Resources> findResources();

/// Points `resources` at the runtime archive of `target` (a cross target's
/// lies in lib/<triple>/) and checks, before any work is done, that the
/// archive and the target's C toolchain are there; the error says which
/// package or build step provides the missing one.
llvm::Error selectRuntimeFor(const codegen::TargetSpec &target, Resources &resources);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_RESOURCES_H
