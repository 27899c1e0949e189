//===- Bf16TargetTest.cpp - what an x86-64-avx512-bf16 library contains ---===//
//
// Every instruction of the whole library (kernels, Halide runtime, driver,
// glue, runtime) as objdump disassembles it: vdpbf16ps where bf16 matmuls
// are, vpdpbusd where int8 ones are, and nothing Zen4 cannot run although
// Halide's Sapphire Rapids feature allows it to LLVM (see
// tests/support/InstructionCheck.h); and an x86-64-avx2 library's int8
// matmuls in vpmaddwd. Reads the library only, so it runs on any CPU.
//
//===----------------------------------------------------------------------===//
#include "E2eSupport.h"
#include "InstructionCheck.h"

#include <gtest/gtest.h>

#include <cstdio>

using namespace hybridc::e2e;
using namespace hybridc::test;

namespace {

std::string disassemble(const std::string &library) {
  std::string text;
  std::string cmd = std::string(HYBRIDC_OBJDUMP) + " -d --no-show-raw-insn '" + library + "'";
  FILE *p = ::popen(cmd.c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "cannot run " << cmd;
    return text;
  }
  char buf[1 << 16];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
    text.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << cmd;
  return text;
}

/// Disassembles the variant's library and counts `dot` (the matmuls' dot
/// product instruction): some when `expectDot`, else none.
void checkLibrary(const std::string &variant, const std::string &dot, bool expectDot) {
  auto lib = loadLibrary(outDir(variant));
  ASSERT_TRUE(lib);
  EXPECT_EQ(lib->manifest().target, "x86-64-avx512-bf16");
  const std::vector<std::string> ms =
      mnemonics(disassemble(outDir(variant) + "/" + lib->manifest().library));
  ASSERT_GT(ms.size(), 1000u) << "objdump printed next to nothing";
  EXPECT_EQ(firstZen4Trap(ms), "") << "an instruction Zen4 lacks (AVX512-FP16, AMX, AVX-VNNI)";
  const auto dots = std::count(ms.begin(), ms.end(), dot);
  if (expectDot)
    EXPECT_GT(dots, 0) << "no " << dot << ": the matmuls fell back to widening";
  else
    EXPECT_EQ(dots, 0) << dot << " where no matmul should use it";
}

TEST(tiny_bf16dot_Instructions, VdpBf16PsAndNothingZen4Lacks) {
  checkLibrary("tiny_bf16dot", "vdpbf16ps", true);
}

TEST(golden_bf16exact_Instructions, F32ActivationsUseNoBf16DotAndNothingZen4Lacks) {
  checkLibrary("golden_bf16exact", "vdpbf16ps", false);
}

// The int8 matmuls use the EVEX (AVX512-VNNI) vpdpbusd, never the VEX one.
TEST(tiny_int8_Instructions, VpdpbusdAndNothingZen4Lacks) {
  checkLibrary("tiny_int8", "vpdpbusd", true);
}

TEST(tiny_int4_Instructions, VpdpbusdAndNothingZen4Lacks) {
  checkLibrary("tiny_int4", "vpdpbusd", true);
}

// An x86-64-avx2 library's int8 / int4 matmuls: vpmaddwd on 256-bit
// vectors, no VNNI (VEX or EVEX) and no AVX-512 register anywhere.
void checkAvx2Library(const std::string &variant) {
  auto lib = loadLibrary(outDir(variant));
  ASSERT_TRUE(lib);
  EXPECT_EQ(lib->manifest().target, "x86-64-avx2");
  const std::string text = disassemble(outDir(variant) + "/" + lib->manifest().library);
  const std::vector<std::string> ms = mnemonics(text);
  ASSERT_GT(ms.size(), 1000u) << "objdump printed next to nothing";
  EXPECT_GT(std::count(ms.begin(), ms.end(), "vpmaddwd"), 0)
      << "no vpmaddwd: the int8 matmuls fell back to 32-bit multiplies";
  EXPECT_EQ(std::count(ms.begin(), ms.end(), "vpdpbusd"), 0);
  EXPECT_EQ(text.find("%zmm"), std::string::npos) << "an AVX-512 register in an AVX2 library";
}

TEST(tiny_int8_avx2_Instructions, VpmaddwdAndNoAvx512) { checkAvx2Library("tiny_int8_avx2"); }
TEST(tiny_int4_avx2_Instructions, VpmaddwdAndNoAvx512) { checkAvx2Library("tiny_int4_avx2"); }

} // namespace
