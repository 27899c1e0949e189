//===- AArch64AsmTest.cpp - what --target aarch64 kernels compile to ------===//
//
// aarch64 kernels are compiled here ahead of time (no ARM CPU needed) and
// their assembly read: every hot kernel must compute in NEON vectors of 4
// f32 lanes (fmla vN.4s), the matmuls' register tiles must be unrolled into
// as many independent FMAs as the 32 registers allow, and the int8 blocks
// must be summed with vector integer instructions, never element by element.
// Their numbers are checked under qemu (tests/e2e/CrossTargetTest.cpp).
//
//===----------------------------------------------------------------------===//
#include "KernelAssembly.h"

#include "hybridc/kv_layout.h"

#include <regex>
#include <sstream>

using namespace hybridc::codegen;
using namespace hybridc::test;

namespace {

std::string assemblyOf(const KernelSpec &spec) {
  return kernelAssembly(spec, testTarget("aarch64"));
}

/// Lines of `text` whose instruction matches `pattern` (mnemonic and
/// operands, as LLVM prints them after a tab).
size_t countInstructions(const std::string &text, const std::string &pattern) {
  const std::regex re("^\\s+" + pattern);
  size_t n = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    n += std::regex_search(line, re);
  return n;
}

constexpr const char *kVectorFma = "fmla\\tv[0-9]+\\.4s";

KernelSpec spec(const std::string &kind, const std::string &symbol,
                std::map<std::string, int64_t> sizes, WeightType type = WeightType::F32) {
  return kernelSpec(kind, symbol, std::move(sizes), type);
}

TEST(AArch64Asm, LinearGemmHoldsAnEightByThreeRegisterTile) {
  // 8 token rows x 3 vectors of 4 outputs: 24 accumulators, all unrolled.
  const std::string s = assemblyOf(
      spec("linear", "a64_gemm", {{"IN", 768}, {"OUT", 2048}, {"has_bias", 0}, {"decode", 0}}));
  EXPECT_GE(countInstructions(s, kVectorFma), 24u);
  EXPECT_EQ(countInstructions(s, "fmadd\\ts"), 0u) << "scalar FMAs in a GEMM";
}

TEST(AArch64Asm, LinearGemvF32AndBf16AreNeon) {
  for (WeightType w : {WeightType::F32, WeightType::BF16}) {
    SCOPED_TRACE(weightTypeName(w));
    const std::string s =
        assemblyOf(spec("linear", std::string("a64_gemv_") + weightTypeName(w),
                        {{"IN", 768}, {"OUT", 2048}, {"has_bias", 1}, {"decode", 1}}, w));
    // Four independent accumulators per output block (FMA latency).
    EXPECT_GE(countInstructions(s, kVectorFma), 4u);
    if (w == WeightType::BF16) // bf16 widened by a 16-bit shift into f32 lanes
      EXPECT_GT(countInstructions(s, "(shll|ushll|sshll)2?\\tv[0-9]+\\.4s"), 0u);
  }
}

TEST(AArch64Asm, Int8BlocksAreSummedInVectors) {
  for (int decode : {0, 1}) {
    SCOPED_TRACE(decode ? "gemv" : "gemm");
    const std::string s =
        assemblyOf(spec("linear", "a64_int8_" + std::to_string(decode),
                        {{"IN", 768}, {"OUT", 2048}, {"has_bias", 0}, {"decode", decode}},
                        WeightType::INT8));
    // Products of widened bytes, pairs added into i32 lanes (sadalp), or
    // four at once where Halide finds the dot-product pattern (sdot).
    EXPECT_GT(countInstructions(s, "(mul|smull2?|smlal2?)\\tv[0-9]+\\.[48]h") +
                  countInstructions(s, "sdot\\tv"),
              0u);
    EXPECT_GT(countInstructions(s, "(sadalp|sdot|saddlp|addp)\\tv[0-9]+\\.4s"), 0u);
  }
}

TEST(AArch64Asm, MoeAttentionAndScanAreNeon) {
  std::vector<KernelSpec> kernels = {
      spec("moe_experts", "a64_experts", {{"H", 768}, {"I", 384}, {"E", 32}, {"K", 4}}),
      spec("moe_expert_tiles", "a64_tiles",
           {{"H", 768}, {"I", 384}, {"E", 32}, {"TILE", kMoeTileRows}}),
      spec("ssm_chunk", "a64_ssm", {{"NH", 8}, {"P", 64}, {"N", 64}, {"G", 1}, {"Q", 64}}),
  };
  KernelSpec attention = spec("attention", "a64_attention",
                              {{"HEADS", 12}, {"KV", 4}, {"HD", 64}, {"decode", 0}, {"bf16", 0},
                               {"kv_dtype", HYBRIDC_KV_F32}});
  attention.constants = {{"scale", 0.125}};
  kernels.push_back(attention);
  for (const KernelSpec &k : kernels) {
    SCOPED_TRACE(k.symbol);
    // Unrolled register tiles: many independent vector FMAs per kernel.
    EXPECT_GE(countInstructions(assemblyOf(k), kVectorFma), 16u);
  }
}

TEST(AArch64Asm, TheCountSeesWhatItLooksFor) {
  const std::string listing = "a:\n\tfmla\tv0.4s, v1.4s, v2.s[0]\n\tfmla\tv3.2s, v1.2s, v2.2s\n"
                              "\tfmadd\ts0, s1, s2, s3\n\tsadalp\tv4.4s, v5.8h\n";
  EXPECT_EQ(countInstructions(listing, kVectorFma), 1u);
  EXPECT_EQ(countInstructions(listing, "fmadd\\ts"), 1u);
  EXPECT_EQ(countInstructions(listing, "(sadalp|sdot)\\tv[0-9]+\\.4s"), 1u);
}

} // namespace
