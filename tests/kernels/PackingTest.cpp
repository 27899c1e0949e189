//===- PackingTest.cpp - weight layouts, bf16 rounding, int8 blocks --------===//
#include "TestUtil.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace hybridc::codegen;

namespace {

float fromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

std::vector<float> asFloats(const std::vector<uint8_t> &bytes) {
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

std::vector<uint16_t> asHalves(const std::vector<uint8_t> &bytes) {
  std::vector<uint16_t> v(bytes.size() / 2);
  std::memcpy(v.data(), bytes.data(), v.size() * 2);
  return v;
}

TEST(BF16, RoundsToNearestEven) {
  EXPECT_EQ(floatToBF16(1.0f), 0x3F80);
  EXPECT_EQ(floatToBF16(-1.5f), 0xBFC0);
  EXPECT_EQ(floatToBF16(0.0f), 0x0000);
  EXPECT_EQ(floatToBF16(-0.0f), 0x8000);
  EXPECT_EQ(floatToBF16(fromBits(0x3F808000)), 0x3F80); // tie, even stays
  EXPECT_EQ(floatToBF16(fromBits(0x3F818000)), 0x3F82); // tie, odd rounds up
  EXPECT_EQ(floatToBF16(fromBits(0x3F808001)), 0x3F81); // above the tie
  EXPECT_EQ(floatToBF16(fromBits(0x3F807FFF)), 0x3F80); // below the tie
  EXPECT_EQ(floatToBF16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(floatToBF16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_EQ(floatToBF16(std::numeric_limits<float>::max()), 0x7F80); // overflows to inf
}

TEST(BF16, NaNStaysNaN) {
  for (uint32_t bits : {0x7FC00000u, 0x7F800001u, 0xFF800001u, 0x7F80FFFFu, 0x7FFFFFFFu}) {
    uint16_t h = floatToBF16(fromBits(bits));
    EXPECT_EQ(h & 0x7F80, 0x7F80) << std::hex << bits;
    EXPECT_NE(h & 0x007F, 0) << std::hex << bits; // not an infinity
    EXPECT_EQ(h & 0x8000, (bits >> 16) & 0x8000) << std::hex << bits;
  }
}

TEST(Packing, LinearLayoutPadsTheLastBlock) {
  // w[OUT=3][IN=2] with L=2: W[ob][i][l] = w[ob*2+l][i], row 3 is padding.
  const float w[] = {1, 2, 3, 4, 5, 6};
  std::vector<uint8_t> bytes = {0xAA}; // appends after existing content
  packLinear(w, 3, 2, LinearPacking{2, 1}, WeightType::F32, bytes);
  ASSERT_EQ(bytes.size(), 1u + 2 * 2 * 2 * 4);
  std::vector<uint8_t> tail(bytes.begin() + 1, bytes.end());
  EXPECT_EQ(bytes[0], 0xAA);
  EXPECT_EQ(asFloats(tail), (std::vector<float>{1, 3, 2, 4, 5, 0, 6, 0}));
}

TEST(Packing, LinearBF16) {
  const float w[] = {1.0f, -2.0f, 0.5f};
  std::vector<uint8_t> bytes;
  packLinear(w, 1, 3, LinearPacking{4, 1}, WeightType::BF16, bytes); // OUT=1, IN=3, L=4
  EXPECT_EQ(asHalves(bytes), (std::vector<uint16_t>{0x3F80, 0, 0, 0, 0xC000, 0, 0, 0,
                                                    0x3F00, 0, 0, 0}));
}

TEST(Packing, LinearMatchesIndexFormula) {
  // W[b][k][l][g] = w[b*L + l][k*G + g], zero past OUT and IN.
  const int OUT = 13, IN = 7;
  for (LinearPacking pk : {LinearPacking{8, 1}, LinearPacking{16, 1}, LinearPacking{16, 2},
                           LinearPacking{4, 2}}) {
    SCOPED_TRACE("L=" + std::to_string(pk.lanes) + " G=" + std::to_string(pk.group));
    const int L = pk.lanes, G = pk.group;
    std::vector<float> w = hybridc::test::randomVector(OUT * IN, 5);
    std::vector<uint8_t> bytes;
    packLinear(w.data(), OUT, IN, pk, WeightType::F32, bytes);
    std::vector<float> p = asFloats(bytes);
    const int NB = (OUT + L - 1) / L, KG = (IN + G - 1) / G;
    ASSERT_EQ(p.size(), size_t(NB * KG * L * G));
    for (int b = 0; b < NB; ++b)
      for (int k = 0; k < KG; ++k)
        for (int l = 0; l < L; ++l)
          for (int g = 0; g < G; ++g) {
            int o = b * L + l, i = k * G + g;
            EXPECT_EQ(p[((b * KG + k) * L + l) * G + g], o < OUT && i < IN ? w[o * IN + i] : 0.0f);
          }
  }
}

TEST(Packing, ExpertsInterleaveByBlock) {
  // W[b][e][k][l][g] = w[e][b*L + l][k*G + g].
  const int E = 3, OUT = 5, IN = 3;
  const LinearPacking pk{4, 2};
  std::vector<float> w = hybridc::test::randomVector(E * OUT * IN, 9);
  std::vector<uint8_t> bytes;
  packExperts(w.data(), E, OUT, IN, pk, WeightType::F32, bytes);
  std::vector<float> p = asFloats(bytes);
  const int NB = 2, KG = 2, L = 4, G = 2;
  ASSERT_EQ(p.size(), size_t(NB * E * KG * L * G));
  for (int b = 0; b < NB; ++b)
    for (int e = 0; e < E; ++e)
      for (int k = 0; k < KG; ++k)
        for (int l = 0; l < L; ++l)
          for (int g = 0; g < G; ++g) {
            int o = b * L + l, i = k * G + g;
            EXPECT_EQ(p[(((b * E + e) * KG + k) * L + l) * G + g],
                      o < OUT && i < IN ? w[(e * OUT + o) * IN + i] : 0.0f);
          }
}

TEST(Packing, Bf16PairsOnlyOnBf16DotTargets) {
  std::string error;
  for (const char *name : {"x86-64-avx2", "x86-64-avx512", "x86-64-avx512-bf16"}) {
    auto t = resolveTarget(name, error);
    ASSERT_TRUE(t) << error;
    EXPECT_EQ(linearPacking(*t, WeightType::F32).group, 1) << name;
    EXPECT_EQ(linearPacking(*t, WeightType::BF16).group, t->bf16Dot ? 2 : 1) << name;
    EXPECT_EQ(linearPacking(*t, WeightType::BF16).lanes, t->lanes) << name;
  }
  EXPECT_TRUE(resolveTarget("x86-64-avx512-bf16", error)->bf16Dot);
}

TEST(Packing, PlainAppends) {
  const float w[] = {1.0f, 3.0f};
  std::vector<uint8_t> bytes;
  packPlain(w, 2, WeightType::F32, bytes);
  packPlain(w, 2, WeightType::BF16, bytes);
  ASSERT_EQ(bytes.size(), 8u + 4u);
  EXPECT_EQ(asFloats(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 8)),
            (std::vector<float>{1.0f, 3.0f}));
  EXPECT_EQ(asHalves(std::vector<uint8_t>(bytes.begin() + 8, bytes.end())),
            (std::vector<uint16_t>{0x3F80, 0x4040}));
}

TEST(Int8Block, ScaleIsTheLargestMagnitudeOver127) {
  const float x[] = {0.5f, -2.54f, 1.0f, 0.0f, 0.00999f};
  int8_t q[5];
  const float d = quantizeInt8Block(x, 5, q);
  EXPECT_FLOAT_EQ(d, 2.54f / 127.0f);
  EXPECT_EQ(q[1], -127); // the largest magnitude maps to +-127 exactly
  EXPECT_EQ(q[0], 25);
  EXPECT_EQ(q[2], 50);
  EXPECT_EQ(q[3], 0);
  EXPECT_EQ(q[4], 0); // 0.4995 steps
  int8_t zeros[3];
  const float none[] = {0.0f, -0.0f, 0.0f};
  EXPECT_EQ(quantizeInt8Block(none, 3, zeros), 0.0f);
  EXPECT_EQ(zeros[0] | zeros[1] | zeros[2], 0);
}

TEST(Int8Block, HalfStepsRoundToEven) {
  const float x[] = {127.0f, 2.5f, 3.5f, -0.5f, -1.5f}; // d = 1 exactly
  int8_t q[5];
  EXPECT_EQ(quantizeInt8Block(x, 5, q), 1.0f);
  EXPECT_EQ(q[1], 2);
  EXPECT_EQ(q[2], 4);
  EXPECT_EQ(q[3], 0);
  EXPECT_EQ(q[4], -2);
}

TEST(Int8Block, RequantizingAQ8_0BlockIsExact) {
  // A GGUF Q8_0 block dequantizes to q * d with d an fp16 value and some
  // |q| = 127; quantized again, it gives back the same q and d, so an int8
  // library keeps a Q8_0 file's weights as they are.
  const float d = 0.0029296875f; // 3 * 2^-10, an fp16 value
  std::vector<int8_t> q(kQuantBlock);
  std::vector<float> x(kQuantBlock);
  for (int i = 0; i < kQuantBlock; ++i) {
    q[i] = int8_t(i == 7 ? -127 : (i * 37) % 255 - 127);
    x[i] = float(q[i]) * d;
  }
  std::vector<int8_t> again(kQuantBlock);
  EXPECT_EQ(quantizeInt8Block(x.data(), kQuantBlock, again.data()), d);
  EXPECT_EQ(again, q);
}

/// Packs a random w[5][40] as `type` blocks with groups of G in 4 lanes (IN
/// padded to 64), checks the byte count (`storedGroups` deep) and every
/// scale S[b][s][l] against the block quantizer, and calls
/// `checkInput(bytes, b, l, i, q)` for each input i < 64 of each row b*L + l
/// with the q it must hold (0 past IN and for rows past OUT, scale 0).
template <typename Check>
void checkQuantizedPacking(WeightType type, int G, const Check &checkInput) {
  SCOPED_TRACE(std::string(weightTypeName(type)) + " G=" + std::to_string(G));
  const int OUT = 5, IN = 40, L = 4, NB = 2, SB = 2;
  LinearPacking pk{L, G, kQuantBlock};
  pk.groupsPerByte = type == WeightType::INT4 ? 2 : 1;
  std::vector<float> w = hybridc::test::randomVector(OUT * IN, 3);
  std::vector<uint8_t> bytes, scaleBytes;
  packLinear(w.data(), OUT, IN, pk, type, bytes);
  packLinearScales(w.data(), OUT, IN, pk, type, scaleBytes);
  std::vector<float> scales = asFloats(scaleBytes);
  ASSERT_EQ(bytes.size(), size_t(NB * pk.storedGroups(IN) * L * G));
  ASSERT_EQ(scales.size(), size_t(NB * SB * L));
  for (int b = 0; b < NB; ++b)
    for (int l = 0; l < L; ++l) {
      const int o = b * L + l;
      for (int s = 0; s < SB; ++s) {
        int8_t q[kQuantBlock] = {};
        const int first = s * kQuantBlock, n = std::min(kQuantBlock, IN - first);
        const float *x = &w[o * IN + first];
        const float d = o >= OUT                  ? 0.0f
                        : type == WeightType::INT4 ? quantizeInt4Block(x, n, q)
                                                   : quantizeInt8Block(x, n, q);
        EXPECT_EQ(scales[(b * SB + s) * L + l], d) << "row " << o << " block " << s;
        for (int i = first; i < first + kQuantBlock; ++i)
          checkInput(bytes, b, l, i, i < IN && o < OUT ? q[i - first] : 0);
      }
    }
}

TEST(Packing, Int8MatchesIndexFormula) {
  // u8 W[b][k][l][g] = q(w[b*L + l])[k*G + g] + 128 and S[b][s][l] = the
  // scale of inputs [32s, 32s + 32) of row b*L + l; IN padded to 64 with q = 0,
  // rows past OUT all zero (u8 128, scale 0). G = 4 (vpdpbusd), 2 (vpmaddwd).
  for (const int G : {4, 2}) {
    const int KG = 64 / G, L = 4;
    checkQuantizedPacking(WeightType::INT8, G, [&](const std::vector<uint8_t> &bytes, int b,
                                                   int l, int i, int q) {
      EXPECT_EQ(int(bytes[((b * KG + i / G) * L + l) * G + i % G]), q + 128)
          << "row " << b * L + l << " input " << i;
    });
  }
}

TEST(Int4Block, TheLargestMagnitudeIsMinus8) {
  // d = m / -8 for the signed value m of largest magnitude: m is q = -8 and
  // the other side of the grid stops at 7 (clamped).
  const float x[] = {0.5f, -1.5f, 4.0f, 0.0f, -4.0f, 0.26f};
  int8_t q[6];
  const float d = quantizeInt4Block(x, 6, q);
  EXPECT_EQ(d, -0.5f); // m = 4.0, the first of the two of magnitude 4
  EXPECT_EQ(q[2], -8);
  EXPECT_EQ(q[4], 7); // -4 / -0.5 = 8, clamped to 7
  EXPECT_EQ(q[0], -1);
  EXPECT_EQ(q[1], 3);
  EXPECT_EQ(q[3], 0);
  EXPECT_EQ(q[5], -1); // -0.52 to nearest
  int8_t zeros[2];
  const float none[] = {0.0f, -0.0f};
  EXPECT_EQ(quantizeInt4Block(none, 2, zeros), 0.0f);
  EXPECT_EQ(zeros[0] | zeros[1], 0);
  EXPECT_EQ(blockScale(x, 6, WeightType::INT4), d);
  EXPECT_EQ(blockScale(x, 6, WeightType::INT8), 4.0f / 127.0f);
}

TEST(Int4Block, RequantizingAQ4_0BlockIsExact) {
  // A GGUF Q4_0 block dequantizes to (n - 8) * d, nibbles n, d an fp16 value
  // of either sign, and its quantizer maps the block's extreme to n = 0;
  // quantized again it gives back the same q = n - 8 and d.
  for (float d : {0.0029296875f, -0.013671875f}) {
    std::vector<int8_t> q(kQuantBlock);
    std::vector<float> x(kQuantBlock);
    for (int i = 0; i < kQuantBlock; ++i) {
      q[i] = int8_t(i == 11 ? -8 : (i * 7) % 15 - 7);
      x[i] = float(q[i]) * d;
    }
    std::vector<int8_t> again(kQuantBlock);
    EXPECT_EQ(quantizeInt4Block(x.data(), kQuantBlock, again.data()), d);
    EXPECT_EQ(again, q) << "d = " << d;
  }
}

TEST(Packing, Int4MatchesIndexFormula) {
  // Byte W[b][j][l][g] = (q[2Gj + g] + 8) | (q[2Gj + G + g] + 8) << 4 for
  // row b*L + l: groups 2j and 2j + 1 of G inputs share a byte lane, low
  // nibble first; IN padded to 64 with q = 0 (nibble 8), rows past OUT all
  // q = 0, scale 0. G = 4 (vpdpbusd) and 2 (vpmaddwd).
  for (const int G : {4, 2}) {
    const int KP = 64 / (2 * G), L = 4; // pairs of groups
    checkQuantizedPacking(WeightType::INT4, G, [&](const std::vector<uint8_t> &bytes, int b,
                                                   int l, int i, int q) {
      const int byte = bytes[((b * KP + i / (2 * G)) * L + l) * G + i % G];
      EXPECT_EQ((i / G) % 2 ? byte >> 4 : byte & 15, q + 8)
          << "row " << b * L + l << " input " << i;
    });
  }
}

TEST(Packing, QuantizedGroupIsWhatTheDotInstructionSums) {
  std::string error;
  auto t = resolveTarget("x86-64-avx512-bf16", error);
  ASSERT_TRUE(t) << error;
  EXPECT_TRUE(t->int8Dot);
  const LinearPacking p = linearPacking(*t, WeightType::INT8);
  EXPECT_EQ(p.group, 4);
  EXPECT_EQ(p.scaleBlock, kQuantBlock);
  EXPECT_EQ(p.groupsPerByte, 1);
  const LinearPacking p4 = linearPacking(*t, WeightType::INT4);
  EXPECT_EQ(p4.group, 4);
  EXPECT_EQ(p4.groupsPerByte, 2);
  EXPECT_EQ(p4.storedGroups(40), 8); // 64 inputs padded, 16 groups, 8 bytes lanes deep
  // Without VNNI, vpmaddwd sums pairs: int8 and int4 keep their blocks of
  // 32 and scales, in groups of 2.
  for (const char *name : {"x86-64-avx2", "x86-64-avx512"}) {
    auto other = resolveTarget(name, error);
    ASSERT_TRUE(other) << error;
    EXPECT_FALSE(other->int8Dot) << name;
    for (WeightType type : {WeightType::INT8, WeightType::INT4}) {
      const LinearPacking q = linearPacking(*other, type);
      EXPECT_EQ(q.group, 2) << name;
      EXPECT_EQ(q.scaleBlock, kQuantBlock) << name;
      EXPECT_EQ(q.lanes, other->lanes) << name;
    }
    EXPECT_EQ(linearPacking(*other, WeightType::INT4).storedGroups(40), 16) << name;
  }
}

} // namespace
