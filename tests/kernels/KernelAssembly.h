//===- KernelAssembly.h - a kernel's AOT assembly, for the asm tests --*- C++ -*-===//
//
// The instruction tests compile a kernel ahead of time for a target (no CPU
// support needed) and read the listing LLVM prints.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_KERNELS_KERNELASSEMBLY_H
#define HYBRIDC_TESTS_KERNELS_KERNELASSEMBLY_H

#include "TestUtil.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace hybridc::test {

/// A kernel spec with these sizes and weight type.
inline KernelSpec kernelSpec(const std::string &kind, const std::string &symbol,
                             std::map<std::string, int64_t> sizes, WeightType type) {
  KernelSpec k;
  k.kind = kind;
  k.symbol = symbol;
  k.sizes = std::move(sizes);
  k.weightType = type;
  return k;
}

/// The kernel's assembly for `target` (a test failure if it does not compile).
inline std::string kernelAssembly(const KernelSpec &spec, const TargetSpec &target) {
  const std::string base = (std::filesystem::temp_directory_path() /
                            ("hybridc-asm-" + std::to_string(::getpid()) + "-" + spec.symbol))
                               .string();
  EXPECT_EQ(hybridc::codegen::compileKernel(spec, target, base + ".o", "", base + ".s"), "");
  std::ifstream in(base + ".s");
  std::stringstream text;
  text << in.rdbuf();
  std::error_code ec;
  std::filesystem::remove(base + ".o", ec);
  std::filesystem::remove(base + ".s", ec);
  return text.str();
}

} // namespace hybridc::test

#endif // HYBRIDC_TESTS_KERNELS_KERNELASSEMBLY_H
