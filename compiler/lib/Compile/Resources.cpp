//===- Resources.cpp - what a compile links into every library ------------===//
#include "Resources.h"

#include "hybridc/Support/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <initializer_list>

using namespace hybridc;

namespace {

std::string join(llvm::StringRef first, std::initializer_list<llvm::StringRef> rest) {
  llvm::SmallString<256> p(first);
  for (llvm::StringRef part : rest)
    llvm::sys::path::append(p, part);
  return std::string(p);
}

} // namespace

llvm::Expected<Resources> hybridc::findResources() {
  // /proc/self/exe on Linux: no argv[0] needed, and symlinks are resolved.
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable(nullptr, &anchor);
  if (exe.empty())
    return makeError("cannot find the running executable's path");
  Resources r;
  r.prefix = std::string(llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  r.templatesDir = join(r.prefix, {"share", "hybridc", "templates"});
  r.includeDir = join(r.prefix, {"include"});
  r.halideIncludeDir = join(r.prefix, {"include", "hybridc", "halide"});
  r.runtimeArchive = join(r.prefix, {"lib", "libhybridc_runtime.a"});
  r.pcre2Archive = join(r.prefix, {"lib", "libhybridc_pcre2.a"});
  for (const std::string &file :
       {join(r.templatesDir, {"model_api.h.in"}), join(r.templatesDir, {"model_api_glue.c.in"}),
        join(r.includeDir, {"hybridc", "runtime_abi.h"}),
        join(r.halideIncludeDir, {"HalideRuntime.h"}), r.runtimeArchive, r.pcre2Archive})
    if (!llvm::sys::fs::exists(file))
      return makeError(file + " is missing: hybridc looks for its runtime pieces under " +
                       r.prefix +
                       ", the folder above its own bin/ (install it with `cmake --install "
                       "BUILD --prefix P`, or run it from the build tree)");
  return r;
}

llvm::Error hybridc::selectRuntimeFor(const codegen::TargetSpec &target, Resources &resources) {
  if (!llvm::sys::findProgramByName(target.cc))
    return makeError("target " + target.name + ": its C compiler '" + target.cc +
                     "' is not on PATH (install Debian's " + target.ccPackage + ")");
  if (!target.crossCompiled())
    return llvm::Error::success();
  std::string archive = join(resources.prefix, {"lib", target.runtimeDir, "libhybridc_runtime.a"});
  std::string pcre2 = join(resources.prefix, {"lib", target.runtimeDir, "libhybridc_pcre2.a"});
  for (const std::string &file : {archive, pcre2})
    if (!llvm::sys::fs::exists(file))
      return makeError("target " + target.name + ": " + file +
                       " is missing: the runtime for this target is built with hybridc when the "
                       "cross toolchain (Debian's g++-aarch64-linux-gnu) and the target's "
                       "PCRE2 (libpcre2-dev:arm64, which `bash .ci/setup.sh` unpacks into "
                       "build-deps/arm64) are there at configure time; add them, reconfigure "
                       "and rebuild");
  resources.runtimeArchive = archive;
  resources.pcre2Archive = pcre2;
  return llvm::Error::success();
}
