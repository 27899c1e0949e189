//===- Bf16DotAsmTest.cpp - what x86-64-avx512-bf16 kernels compile to ----===//
//
// (bf16 weights: vdpbf16ps; int8 and int4 weights: vpdpbusd.)
//
// The bf16-dot path exists for its instructions, so its tests read the
// assembly (compiled ahead of time: no CPU support needed). Every matmul
// kind with bf16 weights must multiply with vdpbf16ps, never fall back to
// widening, never turn its vectorized pair reduction into compare-and-swap
// loops (atomic() next to a parallel loop), and never use an instruction
// Zen4 lacks although Halide's Sapphire Rapids feature allows it to LLVM
// (AVX512-FP16, AMX, VEX-encoded AVX-VNNI).
//
//===----------------------------------------------------------------------===//
#include "InstructionCheck.h"
#include "KernelAssembly.h"

#include "hybridc/kv_layout.h"


using namespace hybridc::codegen;
using namespace hybridc::test;

namespace {

std::string assemblyOf(const KernelSpec &spec) {
  return kernelAssembly(spec, testTarget("x86-64-avx512-bf16"));
}

void expectDot(const KernelSpec &spec, const char *instruction) {
  SCOPED_TRACE(spec.symbol);
  const std::vector<std::string> ms = mnemonics(assemblyOf(spec));
  ASSERT_FALSE(ms.empty());
  EXPECT_GT(std::count(ms.begin(), ms.end(), instruction), 0)
      << "no " << instruction << ": the dot-product pattern fell back to widening";
  EXPECT_EQ(countIf(ms, isCas), 0u) << "compare-and-swap loops in a kernel";
  EXPECT_EQ(countIf(ms, isFp16), 0u) << "AVX512-FP16 instruction (SIGILL on Zen4)";
  EXPECT_EQ(countIf(ms, isAmx), 0u) << "AMX instruction (SIGILL on Zen4)";
  EXPECT_EQ(countIf(ms, isVexVnni), 0u) << "VEX-encoded AVX-VNNI (SIGILL on Zen4)";
}

KernelSpec spec(const std::string &kind, const std::string &symbol,
                std::map<std::string, int64_t> sizes, WeightType type = WeightType::BF16) {
  return kernelSpec(kind, symbol, std::move(sizes), type);
}

void expectBf16Dot(const KernelSpec &s) { expectDot(s, "vdpbf16ps"); }

TEST(Bf16DotAsm, LinearGemm) {
  expectBf16Dot(spec("linear", "gemm", {{"IN", 768}, {"OUT", 3352}, {"has_bias", 0}, {"decode", 0}}));
}

TEST(Bf16DotAsm, LinearGemv) {
  expectBf16Dot(spec("linear", "gemv", {{"IN", 768}, {"OUT", 2048}, {"has_bias", 1}, {"decode", 1}}));
}

TEST(Bf16DotAsm, LinearGemvSlicedInput) {
  // Few output blocks: the input is sliced over parallel tasks.
  expectBf16Dot(
      spec("linear", "gemv_sliced", {{"IN", 4096}, {"OUT", 40}, {"has_bias", 0}, {"decode", 1}}));
}

TEST(Bf16DotAsm, MoeExpertsDecode) {
  expectBf16Dot(spec("moe_experts", "experts", {{"H", 768}, {"I", 384}, {"E", 32}, {"K", 4}}));
}

TEST(Bf16DotAsm, MoeExpertTilesPrefill) {
  expectBf16Dot(spec("moe_expert_tiles", "tiles",
                     {{"H", 768}, {"I", 384}, {"E", 32}, {"TILE", kMoeTileRows}}));
}

// Prefill attention of a bf16 model: both of its products (scores, then
// weighted values) in vdpbf16ps, at least one each per unrolled tile.
TEST(Bf16DotAsm, AttentionPrefill) {
  KernelSpec s = spec("attention", "attention_bf16",
                      {{"HEADS", 12}, {"KV", 4}, {"HD", 64}, {"decode", 0}, {"bf16", 1},
                       {"kv_dtype", HYBRIDC_KV_BF16}},
                      WeightType::F32);
  s.constants = {{"scale", 0.125}};
  expectBf16Dot(s);
  SCOPED_TRACE("f32 attention");
  s.sizes["bf16"] = 0;
  const std::vector<std::string> ms = mnemonics(assemblyOf(s));
  EXPECT_EQ(std::count(ms.begin(), ms.end(), "vdpbf16ps"), 0);
}

// Decode attention over an int8 KV cache: the scores are the keys' u8
// levels times the query's quantized blocks in vpdpbusd.
TEST(Int8DotAsm, AttentionDecodeOverAnInt8Cache) {
  KernelSpec s = spec("attention", "attention_int8_kv",
                      {{"HEADS", 12}, {"KV", 4}, {"HD", 64}, {"decode", 1}, {"bf16", 0},
                       {"kv_dtype", HYBRIDC_KV_INT8}},
                      WeightType::F32);
  s.constants = {{"scale", 0.125}};
  expectDot(s, "vpdpbusd");
}

TEST(Int8DotAsm, LinearGemmAndGemv) {
  for (int decode : {0, 1})
    expectDot(spec("linear", "int8_linear_" + std::to_string(decode),
                   {{"IN", 768}, {"OUT", 2048}, {"has_bias", 0}, {"decode", decode}},
                   WeightType::INT8),
              "vpdpbusd");
}

// Every int4 matmul kind: the nibbles, masked or shifted out of the byte
// lanes, still meet the activations in vpdpbusd.
TEST(Int4DotAsm, EveryMatmulKind) {
  for (int decode : {0, 1})
    expectDot(spec("linear", "int4_linear_" + std::to_string(decode),
                   {{"IN", 768}, {"OUT", 2048}, {"has_bias", 0}, {"decode", decode}},
                   WeightType::INT4),
              "vpdpbusd");
  expectDot(spec("moe_experts", "int4_experts", {{"H", 768}, {"I", 384}, {"E", 32}, {"K", 4}},
                 WeightType::INT4),
            "vpdpbusd");
  expectDot(spec("moe_expert_tiles", "int4_tiles",
                 {{"H", 768}, {"I", 384}, {"E", 32}, {"TILE", kMoeTileRows}}, WeightType::INT4),
            "vpdpbusd");
}

TEST(Bf16DotAsm, TheChecksSeeWhatTheyLookFor) {
  // The classifiers themselves, on lines as LLVM prints them.
  const std::vector<std::string> ms = mnemonics(
      "hk_tiles_0:\n\t.p2align 4\n\tvaddph\t%zmm1, %zmm2, %zmm3\n\tvcvtph2psx\t%ymm1, %zmm2\n"
      "\tvfmadd231ph\t%zmm1, %zmm2, %zmm3\n\tvcvtps2ph\t$4, %zmm1, %ymm2\n"
      "\tvpunpckhwd\t%zmm1, %zmm2, %zmm3\n\ttdpbf16ps\t%tmm1, %tmm2, %tmm3\n"
      "\ttileloadd\t(%rax,%rbx), %tmm1\n\t{vex} vpdpbusd\t%ymm1, %ymm2, %ymm3\n"
      "\tvpdpbusd\t%zmm1, %zmm2, %zmm3\n\tlock\t\tcmpxchgq\t%rcx, (%rdi)\n# tile comment\n");
  ASSERT_EQ(ms.size(), 10u);
  EXPECT_EQ(countIf(ms, isCas), 1u);
  EXPECT_EQ(countIf(ms, isFp16), 3u); // vaddph, vcvtph2psx, vfmadd231ph
  EXPECT_EQ(countIf(ms, isAmx), 2u);  // tdpbf16ps, tileloadd
  EXPECT_EQ(countIf(ms, isVexVnni), 1u);
}

} // namespace
