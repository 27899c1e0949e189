//===- KernelCache.h - compiled kernels reused across compiles --*- C++ -*-===//
//
// Most of a compile's time is Halide compiling kernels, and many compiles
// ask for the same kernels: a model compiled again with other weights or
// another KV type, the test suite's dozens of variants of one shape. With
// HYBRIDC_KERNEL_CACHE=DIR set, each kernel object is kept in DIR under a
// key of everything it depends on: this hybridc executable's bytes, the
// Halide library's file, the target and the kernel's spec (kind, symbol,
// sizes, constants, weight type). A kernel compiles the same in every run (each in
// a fresh child process), so a library built from the cache is
// byte-identical to one built without it. Entries are written to a
// temporary name and renamed, so compiles sharing DIR never see half an
// object, and carry a hash of their bytes: a damaged one is compiled again.
// Nothing is ever evicted (delete DIR to empty it).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_KERNELCACHE_H
#define HYBRIDC_COMPILE_KERNELCACHE_H

#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Codegen/Targets.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace hybridc {

class KernelCache {
public:
  /// The cache HYBRIDC_KERNEL_CACHE names, or none (unset or empty). An
  /// unusable folder is an error naming it.
  static llvm::Expected<std::optional<KernelCache>> fromEnvironment();

  /// The key of a kernel, or of the Halide runtime when `spec` is null.
  std::string key(const codegen::KernelSpec *spec, const codegen::TargetSpec &target) const;
  /// Copies the cached object of `key` to `objectPath`; false on a miss.
  bool fetch(const std::string &key, const std::string &objectPath) const;
  /// Keeps `objectPath` under `key` (a failure to keep it is no error: the
  /// compile has its object either way).
  void store(const std::string &key, const std::string &objectPath) const;

private:
  std::string dir;
  std::string compilerIdentity; // executable hash + Halide library
};

} // namespace hybridc

#endif // HYBRIDC_COMPILE_KERNELCACHE_H
