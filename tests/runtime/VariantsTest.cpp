//===- VariantsTest.cpp - which CPU variant of a library a model opens ----===//
//
// The choice itself (hybridc_rt_choose_variant) with made-up CPUs: what the
// best variant is, HYBRIDC_CPU forcing one, and the refusals. Then opening a
// library of two variants of the toy model, whose second reads its weights
// from its own layout past the first's: its logits are the reference only
// if the runtime hands its driver that layout.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "hybridc/cpu_check.h"
#include "hybridc/payload_hash.h"

#include <cstdlib>
#include <cstring>

namespace {

const char *runsEverything(const char *) { return nullptr; }
const char *avx2Only(const char *target) {
  return std::strcmp(target, "x86-64-avx2") == 0 ? nullptr : "avx512f";
}
const char *runsNothing(const char *target) {
  return std::strcmp(target, "x86-64-avx2") == 0 ? "avx2" : "avx512f";
}
const char *noBf16(const char *target) {
  return std::strcmp(target, "x86-64-avx512-bf16") == 0 ? "avx512bf16" : nullptr;
}

// A library of three x86 variants listed out of level order.
class ChooseVariant : public ::testing::Test {
protected:
  ChooseVariant() {
    const char *targets[] = {"x86-64-avx512", "x86-64-avx512-bf16", "x86-64-avx2"};
    for (int i = 0; i < 3; ++i) {
      descs[i] = *toy::embedded_desc();
      descs[i].target = targets[i];
      variants[i] = &descs[i];
    }
  }
  int choose(const char *forced, const char *(*missing)(const char *)) {
    chosen = -1;
    return hybridc_rt_choose_variant(&lib, forced, missing, &chosen);
  }
  hybridc_model_desc descs[3];
  const hybridc_model_desc *variants[3];
  hybridc_library_desc lib{"toy3", 3, variants};
  int32_t chosen = -1;
};

TEST_F(ChooseVariant, TheHighestLevelThisCpuRuns) {
  ASSERT_EQ(choose(nullptr, runsEverything), HYBRIDC_OK);
  EXPECT_EQ(chosen, 1); // x86-64-avx512-bf16
  ASSERT_EQ(choose(nullptr, noBf16), HYBRIDC_OK);
  EXPECT_EQ(chosen, 0); // x86-64-avx512
  ASSERT_EQ(choose(nullptr, avx2Only), HYBRIDC_OK);
  EXPECT_EQ(chosen, 2);
  ASSERT_EQ(choose("", avx2Only), HYBRIDC_OK) << "an empty HYBRIDC_CPU is unset";
  EXPECT_EQ(chosen, 2);
}

TEST_F(ChooseVariant, ACpuThatRunsNoneIsToldWhatEachNeeds) {
  EXPECT_EQ(choose(nullptr, runsNothing), HYBRIDC_ERR_CPU);
  EXPECT_EQ(chosen, -1);
  EXPECT_STREQ(hybridc_rt_last_error(),
               "model_open: this CPU runs no variant of 'toy3': x86-64-avx512 (lacks avx512f), "
               "x86-64-avx512-bf16 (lacks avx512f), x86-64-avx2 (lacks avx2) (compile it with "
               "--target host, or a target this CPU runs)");
}

TEST_F(ChooseVariant, HybridcCpuForcesAListedVariantThisCpuRuns) {
  ASSERT_EQ(choose("x86-64-avx2", runsEverything), HYBRIDC_OK);
  EXPECT_EQ(chosen, 2);
  ASSERT_EQ(choose("x86-64-avx512", noBf16), HYBRIDC_OK);
  EXPECT_EQ(chosen, 0);
}

TEST_F(ChooseVariant, HybridcCpuNamingAnUnsupportedOrUnlistedVariantIsRefused) {
  EXPECT_EQ(choose("x86-64-avx512-bf16", noBf16), HYBRIDC_ERR_CPU);
  EXPECT_STREQ(hybridc_rt_last_error(),
               "model_open: HYBRIDC_CPU=x86-64-avx512-bf16 asks for variant x86-64-avx512-bf16 "
               "of 'toy3', but this CPU lacks avx512bf16");
  EXPECT_EQ(choose("aarch64", runsEverything), HYBRIDC_ERR_CPU);
  EXPECT_STREQ(hybridc_rt_last_error(),
               "model_open: HYBRIDC_CPU=aarch64 names no variant of 'toy3' (it holds "
               "x86-64-avx512, x86-64-avx512-bf16, x86-64-avx2)");
  EXPECT_EQ(choose("avx2", runsEverything), HYBRIDC_ERR_CPU) << "names are matched whole";
  EXPECT_EQ(chosen, -1);
}

TEST_F(ChooseVariant, MalformedLibrariesAreRefused) {
  EXPECT_EQ(hybridc_rt_choose_variant(nullptr, nullptr, runsEverything, &chosen),
            HYBRIDC_ERR_INVALID_ARGUMENT);
  hybridc_library_desc empty{"none", 0, variants};
  EXPECT_EQ(hybridc_rt_choose_variant(&empty, nullptr, runsEverything, &chosen),
            HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(hybridc_rt_last_error(), "library descriptor of 'none' lists no variant (0)");
  const hybridc_model_desc *holes[] = {&descs[0], nullptr};
  hybridc_library_desc withHole{"holes", 2, holes};
  EXPECT_EQ(hybridc_rt_choose_variant(&withHole, nullptr, runsEverything, &chosen),
            HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(choose(nullptr, nullptr), HYBRIDC_ERR_INVALID_ARGUMENT);
}

// Two variants of the toy model in one payload whose first layout (bytes
// [0, HYBRIDC_WEIGHTS_LAYOUT_ALIGN)) is another variant's, here filler: both
// read the toy's weights from the second. The toy driver checks every
// weight it reads, so a runtime that ignored the offset fails. The payload
// hash covers both layouts (the library is opened with verification).
class TwoVariantLibrary : public ::testing::Test {
protected:
  void SetUp() override {
    toy::reset_hooks();
    std::vector<uint8_t> toyWeights = toy::payload();
    payload.assign(HYBRIDC_WEIGHTS_LAYOUT_ALIGN, 0xA5);
    payload.insert(payload.end(), toyWeights.begin(), toyWeights.end());
    hybridc_payload_hash h;
    hybridc_payload_hash_init(&h);
    hybridc_payload_hash_update(&h, payload.data(), payload.size());
    for (int i = 0; i < 2; ++i) {
      descs[i] = *toy::embedded_desc();
      descs[i].embedded_weights = payload.data();
      descs[i].weights_bytes = payload.size();
      descs[i].model_hash = hybridc_payload_hash_final(&h);
      descs[i].weights_offset = HYBRIDC_WEIGHTS_LAYOUT_ALIGN;
      variants[i] = &descs[i];
    }
    descs[0].target = "x86-64-avx2";
    descs[1].target = "x86-64-avx512";
  }
  void TearDown() override {
    unsetenv(HYBRIDC_CPU_ENV);
    EXPECT_EQ(toy::hooks().violations.load(), 0) << toy::first_violation();
  }
  // The last logits row of `tokens` through variant `target` (forced).
  std::vector<float> run(const char *target, const std::vector<int32_t> &tokens) {
    setenv(HYBRIDC_CPU_ENV, target, 1);
    hybridc_model *m = nullptr;
    EXPECT_EQ(hybridc_rt_library_open(&lib, nullptr, HYBRIDC_OPEN_VERIFY_WEIGHTS, &m),
              HYBRIDC_OK)
        << hybridc_rt_last_error();
    if (!m)
      return {};
    EXPECT_STREQ(hybridc_rt_model_target(m), target);
    hybridc_session *s = nullptr;
    EXPECT_EQ(hybridc_rt_session_create(m, &s), HYBRIDC_OK);
    std::vector<float> logits(toy::kVocab);
    EXPECT_EQ(hybridc_rt_prefill(s, tokens.data(), int64_t(tokens.size()), logits.data(),
                                 HYBRIDC_LOGITS_LAST),
              HYBRIDC_OK)
        << hybridc_rt_last_error();
    hybridc_rt_session_free(s);
    hybridc_rt_model_close(m);
    return logits;
  }
  std::vector<uint8_t> payload;
  hybridc_model_desc descs[2];
  const hybridc_model_desc *variants[2];
  hybridc_library_desc lib{"toy2", 2, variants};
};

TEST_F(TwoVariantLibrary, EachVariantReadsItsOwnLayout) {
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5};
  const std::vector<float> expected = toy::reference(tokens).back();
  EXPECT_EQ(run("x86-64-avx2", tokens), expected);
  if (hybridc_cpu_missing_feature("x86-64-avx512"))
    GTEST_SKIP() << "this CPU does not run x86-64-avx512";
  EXPECT_EQ(run("x86-64-avx512", tokens), expected);
}

TEST_F(TwoVariantLibrary, WithoutHybridcCpuTheBestVariantThisCpuRunsOpens) {
  unsetenv(HYBRIDC_CPU_ENV);
  hybridc_model *m = nullptr;
  ASSERT_EQ(hybridc_rt_library_open(&lib, nullptr, 0, &m), HYBRIDC_OK) << hybridc_rt_last_error();
  EXPECT_STREQ(hybridc_rt_model_target(m),
               hybridc_cpu_missing_feature("x86-64-avx512") ? "x86-64-avx2" : "x86-64-avx512");
  hybridc_rt_model_close(m);
}

TEST_F(TwoVariantLibrary, AVariantWhoseLayoutLiesOutsideThePayloadIsRefused) {
  descs[0].weights_offset = 2 * HYBRIDC_WEIGHTS_LAYOUT_ALIGN; // past the end
  setenv(HYBRIDC_CPU_ENV, "x86-64-avx2", 1);
  hybridc_model *m = nullptr;
  EXPECT_EQ(hybridc_rt_library_open(&lib, nullptr, 0, &m), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::strstr(hybridc_rt_last_error(), "weights layout of 256 bytes at 8192 of 4352"),
            nullptr)
      << hybridc_rt_last_error();
  descs[0].weights_offset = 64; // not a layout boundary
  EXPECT_EQ(hybridc_rt_library_open(&lib, nullptr, 0, &m), HYBRIDC_ERR_INVALID_ARGUMENT);
  descs[0].weights_offset = HYBRIDC_WEIGHTS_LAYOUT_ALIGN;
  descs[0].weights_layout_bytes = payload.size(); // reaches past the payload
  EXPECT_EQ(hybridc_rt_library_open(&lib, nullptr, 0, &m), HYBRIDC_ERR_INVALID_ARGUMENT);
}

} // namespace
