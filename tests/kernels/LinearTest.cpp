//===- LinearTest.cpp - linear (GEMV and GEMM schedules) -------------------===//
#include "TestUtil.h"

using namespace hybridc::codegen;
using namespace hybridc::test;

namespace {

struct LinearCase {
  int in, out;
  bool bias;
  float scale;
};

// out[t][o] = scale * (sum_i x[t][i] * w[o][i] + bias[o]), in double, with
// the weights as the kernel sees them (bf16-rounded when packed as bf16).
std::vector<double> reference(const std::vector<float> &x, const std::vector<float> &w,
                              const std::vector<float> &bias, int T, const LinearCase &c) {
  std::vector<double> r(size_t(T) * c.out);
  for (int t = 0; t < T; ++t)
    for (int o = 0; o < c.out; ++o) {
      double s = c.bias ? bias[o] : 0.0;
      for (int i = 0; i < c.in; ++i)
        s += double(x[size_t(t) * c.in + i]) * w[size_t(o) * c.in + i];
      r[size_t(t) * c.out + o] = s * c.scale;
    }
  return r;
}

void runLinear(const std::string &targetName, bool decode, WeightType type,
               const LinearCase &c) {
  SCOPED_TRACE(targetName + (decode ? " decode" : " prefill") +
               (type == WeightType::BF16 ? " bf16" : " f32") + " IN=" + std::to_string(c.in) +
               " OUT=" + std::to_string(c.out));
  TargetSpec target = testTarget(targetName);
  KernelSpec spec;
  spec.kind = "linear";
  spec.symbol = "test_linear";
  spec.sizes = {{"IN", c.in}, {"OUT", c.out}, {"has_bias", c.bias ? 1 : 0},
                {"decode", decode ? 1 : 0}};
  if (c.scale != 1.0f)
    spec.constants["scale"] = c.scale;
  spec.weightType = type;
  BuiltKernel k = buildJit(spec, target);
  ASSERT_EQ(k.buffers.size(), c.bias ? 3u : 2u);

  std::vector<float> w = randomVector(size_t(c.out) * c.in, 11 + c.in);
  std::vector<float> bias = randomVector(size_t(c.out), 12 + c.out);
  const LinearPacking packing = linearPacking(target, type);
  Halide::Buffer<> wBuf = packedWeightBuffer(w.data(), c.out, c.in, packing, type);
  std::vector<float> wSeen = roundedTo(w, type);

  for (int T : testTokenCounts()) {
    SCOPED_TRACE("T=" + std::to_string(T));
    std::vector<float> x = randomVector(size_t(T) * c.in, 13 + T);
    Halide::Buffer<float> xBuf = bufferFrom(x, {T, c.in});
    Halide::Buffer<float> bBuf = bufferFrom(bias, {c.out});
    k.buffers[0].set(xBuf);
    k.buffers[1].set(wBuf);
    if (c.bias)
      k.buffers[2].set(bBuf);
    Halide::Buffer<float> out = makeBuffer<float>({T, c.out});
    k.pipeline.realize(out);
    // With bf16 pairs the kernel rounds x to bf16 first; the products of
    // bf16 values are exact in f32, so the f32 tolerance still holds.
    EXPECT_TRUE(closeRel(toVector(out), reference(inputsSeen(x, packing), wSeen, bias, T, c),
                         kTolF32));
  }
}

const std::vector<LinearCase> kCases = {
    {7, 13, true, 1.0f},     // odd everything, one partial block
    {33, 296, false, 0.25f}, // 296 = 18.5 blocks of 16, 37 of 8; lm_head-like scale
    {64, 8, true, 1.0f},     // a single block on avx2, half a block on avx512
    {5, 1, false, 1.0f},     // one output
    {1100, 20, true, 1.0f},  // decode: few blocks, IN sliced for parallelism + tail
    {9, 1030, false, 1.0f},  // decode: enough blocks to group them per task
};

//===--- int8 and int4 weights (VNNI targets) ---===//

void runLinearBlocks(const std::string &targetName, WeightType type, bool decode,
                     const LinearCase &c) {
  SCOPED_TRACE(targetName + (decode ? " decode " : " prefill ") + weightTypeName(type) + " IN=" +
               std::to_string(c.in) + " OUT=" + std::to_string(c.out));
  TargetSpec target = testTarget(targetName);
  KernelSpec spec;
  spec.kind = "linear";
  spec.symbol = "test_linear_blocks";
  spec.sizes = {{"IN", c.in}, {"OUT", c.out}, {"has_bias", c.bias ? 1 : 0},
                {"decode", decode ? 1 : 0}};
  if (c.scale != 1.0f)
    spec.constants["scale"] = c.scale;
  spec.weightType = type;
  BuiltKernel k = buildJit(spec, target);
  ASSERT_EQ(k.buffers.size(), c.bias ? 4u : 3u);

  const LinearPacking pk = linearPacking(target, type);
  std::vector<float> w = randomVector(size_t(c.out) * c.in, 21 + c.in);
  std::vector<float> bias = randomVector(size_t(c.out), 22 + c.out);
  Halide::Buffer<> wBuf = packedWeightBuffer(w.data(), c.out, c.in, pk, type);
  Halide::Buffer<> sBuf = packedScaleBuffer(w.data(), c.out, c.in, pk, type);
  // What the kernel multiplies: the weights as blocks of `type`, the
  // activations as int8 blocks, both dequantized.
  std::vector<std::vector<float>> wq;
  for (int o = 0; o < c.out; ++o)
    wq.push_back(blockSeen(&w[size_t(o) * c.in], c.in, type));

  for (int T : testTokenCounts()) {
    SCOPED_TRACE("T=" + std::to_string(T));
    std::vector<float> x = randomVector(size_t(T) * c.in, 23 + T);
    std::vector<double> want(size_t(T) * c.out);
    for (int t = 0; t < T; ++t) {
      std::vector<float> xq = blockSeen(&x[size_t(t) * c.in], c.in);
      for (int o = 0; o < c.out; ++o) {
        double acc = c.bias ? bias[o] : 0.0;
        for (int i = 0; i < c.in; ++i)
          acc += double(wq[o][i]) * xq[i];
        want[size_t(t) * c.out + o] = acc * c.scale;
      }
    }
    Halide::Buffer<float> xBuf = bufferFrom(x, {T, c.in});
    Halide::Buffer<float> bBuf = bufferFrom(bias, {c.out});
    k.buffers[0].set(xBuf);
    k.buffers[1].set(wBuf);
    k.buffers[2].set(sBuf);
    if (c.bias)
      k.buffers[3].set(bBuf);
    Halide::Buffer<float> out = makeBuffer<float>({T, c.out});
    k.pipeline.realize(out);
    // Integer block sums are exact; what is left is the f32 sum of the
    // scaled block sums.
    EXPECT_TRUE(closeRel(toVector(out), want, kTolF32));
  }
}

class LinearTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LinearTest, PrefillInt8) {
  for (const LinearCase &c : kCases)
    runLinearBlocks(GetParam(), WeightType::INT8, false, c);
}
TEST_P(LinearTest, DecodeInt8) {
  for (const LinearCase &c : kCases)
    runLinearBlocks(GetParam(), WeightType::INT8, true, c);
}
TEST_P(LinearTest, PrefillInt4) {
  for (const LinearCase &c : kCases)
    runLinearBlocks(GetParam(), WeightType::INT4, false, c);
}
TEST_P(LinearTest, DecodeInt4) {
  for (const LinearCase &c : kCases)
    runLinearBlocks(GetParam(), WeightType::INT4, true, c);
}

TEST_P(LinearTest, PrefillF32) {
  for (const LinearCase &c : kCases)
    runLinear(GetParam(), false, WeightType::F32, c);
}
TEST_P(LinearTest, DecodeF32) {
  for (const LinearCase &c : kCases)
    runLinear(GetParam(), true, WeightType::F32, c);
}
// bf16 weights: on x86-64-avx512-bf16 the vdpbf16ps path (odd IN pads the
// last pair), elsewhere widened to f32.
TEST_P(LinearTest, PrefillBF16) {
  for (const LinearCase &c : kCases)
    runLinear(GetParam(), false, WeightType::BF16, c);
}
TEST_P(LinearTest, DecodeBF16) {
  for (const LinearCase &c : kCases)
    runLinear(GetParam(), true, WeightType::BF16, c);
}

INSTANTIATE_TEST_SUITE_P(Targets, LinearTest, ::testing::ValuesIn(testTargetNames()));

} // namespace

//===--- AOT path and registry errors ---===//

#include <unistd.h>
#include <filesystem>

namespace {

std::string tempPath(const std::string &name) {
  return (std::filesystem::temp_directory_path() /
          ("hybridc-kern-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

TEST(KernelAot, LinearObjectForEachTarget) {
  // Compiling needs no CPU support: every named target, not only those
  // this machine runs.
  for (std::string name : knownTargets()) {
    if (name == "host")
      continue;
    TargetSpec target = testTarget(name);
    KernelSpec spec;
    spec.kind = "linear";
    std::replace(name.begin(), name.end(), '-', '_');
    spec.symbol = "aot_linear_" + name;
    spec.sizes = {{"IN", 24}, {"OUT", 13}, {"has_bias", 1}, {"decode", 0}};
    spec.weightType = WeightType::BF16;
    std::string obj = tempPath(spec.symbol + ".o"), stmt = tempPath(spec.symbol + ".stmt");
    EXPECT_EQ(compileKernel(spec, target, obj, stmt), "");
    std::error_code ec;
    EXPECT_GT(std::filesystem::file_size(obj, ec), 0u) << name;
    EXPECT_GT(std::filesystem::file_size(stmt, ec), 0u) << name;
    std::filesystem::remove(obj, ec);
    std::filesystem::remove(stmt, ec);
  }
}

TEST(KernelAot, HalideRuntimeObject) {
  TargetSpec target = testTarget("x86-64-avx2");
  std::string obj = tempPath("runtime.o");
  EXPECT_EQ(compileHalideRuntime(target, obj), "");
  std::error_code ec;
  EXPECT_GT(std::filesystem::file_size(obj, ec), 0u);
  std::filesystem::remove(obj, ec);
}

TEST(KernelAot, UnknownKindIsAnErrorNamingIt) {
  KernelSpec spec;
  spec.kind = "frobnicate";
  spec.symbol = "bad_kernel";
  std::string err = compileKernel(spec, testTarget("x86-64-avx2"), tempPath("bad.o"));
  EXPECT_NE(err.find("frobnicate"), std::string::npos) << err;
  EXPECT_NE(err.find("kernel bad_kernel"), std::string::npos) << err;
  EXPECT_THROW(buildKernel(spec, testTarget("x86-64-avx2")), Halide::CompileError);
}

TEST(KernelAot, EveryKindIsDispatched) {
  // With no sizes every builder must fail on the spec, never on the kind.
  for (const char *kind : {"embed", "rms_norm", "linear", "swiglu", "residual_add",
                           "moe_router", "moe_experts", "conv1d", "conv_state", "ssm_chunk",
                           "ssm_step", "gated_rms_norm", "attention"}) {
    KernelSpec spec;
    spec.kind = kind;
    spec.symbol = std::string("empty_") + kind;
    try {
      buildKernel(spec, testTarget("x86-64-avx2"));
      ADD_FAILURE() << kind << ": built without sizes";
    } catch (const Halide::Error &e) {
      EXPECT_EQ(std::string(e.what()).find("unknown kernel kind"), std::string::npos)
          << kind << ": " << e.what();
    }
  }
}

TEST(KernelAot, MissingSizeIsAnError) {
  KernelSpec spec;
  spec.kind = "linear";
  spec.symbol = "no_sizes";
  std::string err = compileKernel(spec, testTarget("x86-64-avx512"), tempPath("nosize.o"));
  EXPECT_NE(err.find("no_sizes"), std::string::npos) << err;
  EXPECT_NE(err.find("missing size"), std::string::npos) << err;
}

} // namespace
