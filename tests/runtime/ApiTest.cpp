//===- ApiTest.cpp - the prefixed public API from runtime/templates --------===//
#include "TestUtil.h"
#include "toyrt.h" // the model_api.h.in template, instantiated for "toyrt"

#include <type_traits>

// The generated glue declares the library; the compiler defines it in the
// glue, here one variant: the toy model with embedded weights.
static const hybridc_model_desc toyrt_variant = *toy::embedded_desc();
static const hybridc_model_desc *const toyrt_variants[] = {&toyrt_variant};
extern "C" const hybridc_library_desc hybridc_library = {"toyrt", 1, toyrt_variants};

namespace {

static_assert(int(TOYRT_OK) == int(HYBRIDC_OK) && int(TOYRT_ERR_INVALID_ARGUMENT) == int(HYBRIDC_ERR_INVALID_ARGUMENT) &&
                  int(TOYRT_ERR_OUT_OF_MEMORY) == int(HYBRIDC_ERR_OUT_OF_MEMORY) &&
                  int(TOYRT_ERR_IO) == int(HYBRIDC_ERR_IO) && int(TOYRT_ERR_FORMAT) == int(HYBRIDC_ERR_FORMAT) &&
                  int(TOYRT_ERR_CAPACITY) == int(HYBRIDC_ERR_CAPACITY) &&
                  int(TOYRT_ERR_KERNEL) == int(HYBRIDC_ERR_KERNEL),
              "public status codes mirror the runtime's");
static_assert(int(TOYRT_LOGITS_LAST) == int(HYBRIDC_LOGITS_LAST) && int(TOYRT_LOGITS_ALL) == int(HYBRIDC_LOGITS_ALL),
              "public flags mirror the runtime's");
static_assert(TOYRT_VOCAB_SIZE == toy::kVocab, "@MODEL_INFO@ is pasted into the header");

TEST(RuntimeApi, PrefixedFunctionsForwardToTheRuntime) {
  toy::reset_hooks();
  toyrt_model *m = nullptr;
  ASSERT_EQ(toyrt_model_open(nullptr, &m), TOYRT_OK) << toyrt_last_error(); // embedded
  ASSERT_EQ(toyrt_model_set_threads(m, 2), TOYRT_OK);
  toyrt_model *from_file = nullptr;
  std::string path = toy::write_weights("api");
  ASSERT_EQ(toyrt_model_open(path.c_str(), &from_file), TOYRT_OK) << toyrt_last_error();
  toyrt_model_close(from_file);

  toyrt_session *s = nullptr;
  ASSERT_EQ(toyrt_session_create(m, &s), TOYRT_OK);
  ASSERT_EQ(toyrt_session_set_threads(s, 3), TOYRT_OK);
  ASSERT_EQ(toyrt_session_set_max_tokens(s, 100), TOYRT_OK);
  std::vector<int32_t> t = random_tokens(7, 5);
  auto want = toy::reference(t);
  std::vector<float> l(toy::kVocab);
  ASSERT_EQ(toyrt_prefill(s, t.data(), 6, l.data(), TOYRT_LOGITS_LAST), TOYRT_OK);
  EXPECT_EQ(l, want[5]);
  ASSERT_EQ(toyrt_decode(s, t[6], l.data()), TOYRT_OK);
  EXPECT_EQ(l, want[6]);
  EXPECT_EQ(toyrt_session_position(s), 7);
  EXPECT_EQ(toyrt_session_state_bytes(s),
            2 * toy::kStateBytes + 7 * 4 + toy::kvBytes(7));
  EXPECT_EQ(toyrt_decode(s, 99, nullptr), TOYRT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(toyrt_last_error()).find("token 99"), std::string::npos);
  EXPECT_STREQ(toyrt_status_string(TOYRT_ERR_CAPACITY), "token capacity exceeded");
  ASSERT_EQ(toyrt_session_reset(s), TOYRT_OK);
  EXPECT_EQ(toyrt_session_position(s), 0);
  EXPECT_EQ(toy::hooks().last_threads.load(), 3);
  toyrt_session_free(s);
  toyrt_model_close(m);
  EXPECT_EQ(toy::hooks().violations.load(), 0) << toy::first_violation();
}

} // namespace
