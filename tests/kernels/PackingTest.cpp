//===- PackingTest.cpp - weight layouts and bf16 rounding ------------------===//
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

} // namespace
