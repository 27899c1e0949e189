//===- ModelTest.cpp - model_open / close and weights file validation ------===//
#include "TestUtil.h"
#include "hybridc/cpu_check.h"

#include <cstring>

namespace {

using toy::WeightsFileOptions;

int open_with(const WeightsFileOptions &o, const char *name, std::string *msg) {
  std::string path = toy::write_weights(name, o);
  hybridc_model *m = reinterpret_cast<hybridc_model *>(0x1);
  int st = hybridc_rt_model_open(toy::file_desc(), path.c_str(), &m);
  *msg = hybridc_rt_last_error();
  EXPECT_EQ(m, nullptr) << "a failed open must leave *out NULL";
  if (st == HYBRIDC_OK)
    hybridc_rt_model_close(m);
  return st;
}

TEST(RuntimeModel, OpensValidWeightsFile) {
  std::string path = toy::write_weights("ok");
  hybridc_model *m = nullptr;
  ASSERT_EQ(hybridc_rt_model_open(toy::file_desc(), path.c_str(), &m), HYBRIDC_OK)
      << hybridc_rt_last_error();
  ASSERT_NE(m, nullptr);
  hybridc_rt_model_close(m);
  hybridc_rt_model_close(nullptr); // ignored
}

TEST(RuntimeModel, MissingFileIsIoErrorNamingThePath) {
  hybridc_model *m = nullptr;
  std::string path = ::testing::TempDir() + "hybridc-rt-does-not-exist.weights";
  EXPECT_EQ(hybridc_rt_model_open(toy::file_desc(), path.c_str(), &m), HYBRIDC_ERR_IO);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find(path), std::string::npos)
      << hybridc_rt_last_error();
}

TEST(RuntimeModel, DirectoryIsIoError) {
  hybridc_model *m = nullptr;
  EXPECT_EQ(hybridc_rt_model_open(toy::file_desc(), ::testing::TempDir().c_str(), &m),
            HYBRIDC_ERR_IO);
}

TEST(RuntimeModel, TruncatedPayloadIsFormatError) {
  WeightsFileOptions o;
  o.drop_bytes = 10;
  std::string msg;
  EXPECT_EQ(open_with(o, "truncated", &msg), HYBRIDC_ERR_FORMAT);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(RuntimeModel, TruncatedHeaderIsFormatError) {
  WeightsFileOptions o;
  o.drop_bytes = int64_t(HYBRIDC_WEIGHTS_HEADER_BYTES + toy::kWeightsBytes - 20);
  std::string msg;
  EXPECT_EQ(open_with(o, "short", &msg), HYBRIDC_ERR_FORMAT);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(RuntimeModel, TrailingBytesAreFormatError) {
  WeightsFileOptions o;
  o.extra_bytes = 64;
  std::string msg;
  EXPECT_EQ(open_with(o, "long", &msg), HYBRIDC_ERR_FORMAT);
  EXPECT_NE(msg.find("longer"), std::string::npos) << msg;
}

TEST(RuntimeModel, WrongMagicIsFormatError) {
  WeightsFileOptions o;
  o.magic = "GGUF\0\0\0\0";
  std::string msg;
  EXPECT_EQ(open_with(o, "magic", &msg), HYBRIDC_ERR_FORMAT);
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
}

TEST(RuntimeModel, OtherModelsHashIsFormatErrorNamingBothModels) {
  WeightsFileOptions o;
  o.hash = toy::kHash ^ 1;
  o.model_name = "granite_other";
  std::string msg;
  EXPECT_EQ(open_with(o, "hash", &msg), HYBRIDC_ERR_FORMAT);
  EXPECT_NE(msg.find("granite_other"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'toy'"), std::string::npos) << msg;
}

TEST(RuntimeModel, OtherFormatVersionIsFormatError) {
  WeightsFileOptions o;
  o.version = HYBRIDC_WEIGHTS_FORMAT_VERSION + 1;
  std::string msg;
  EXPECT_EQ(open_with(o, "version", &msg), HYBRIDC_ERR_FORMAT);
  EXPECT_NE(msg.find("version 2"), std::string::npos) << msg;
}

TEST(RuntimeModel, OtherHeaderSizeIsFormatError) {
  WeightsFileOptions o;
  o.header_bytes = 512;
  std::string msg;
  EXPECT_EQ(open_with(o, "header", &msg), HYBRIDC_ERR_FORMAT);
  EXPECT_NE(msg.find("header_bytes"), std::string::npos) << msg;
}

TEST(RuntimeModel, PayloadSizeOtherThanDescriptorsIsFormatError) {
  WeightsFileOptions o;
  o.declared_payload = toy::kWeightsBytes - 64;
  o.drop_bytes = 64; // consistent file, but not this model's size
  std::string msg;
  EXPECT_EQ(open_with(o, "payload", &msg), HYBRIDC_ERR_FORMAT);
  EXPECT_NE(msg.find("payload"), std::string::npos) << msg;
}

TEST(RuntimeModel, EmbeddedWeights) {
  hybridc_model *m = nullptr;
  ASSERT_EQ(hybridc_rt_model_open(toy::embedded_desc(), nullptr, &m), HYBRIDC_OK)
      << hybridc_rt_last_error();
  toy::reset_hooks();
  hybridc_session *s = nullptr;
  ASSERT_EQ(hybridc_rt_session_create(m, &s), HYBRIDC_OK);
  std::vector<int32_t> t = {1, 2, 3};
  std::vector<float> logits(toy::kVocab);
  ASSERT_EQ(hybridc_rt_prefill(s, t.data(), 3, logits.data(), HYBRIDC_LOGITS_LAST), HYBRIDC_OK);
  EXPECT_EQ(logits, toy::reference(t).back());
  EXPECT_EQ(toy::hooks().violations.load(), 0) << toy::first_violation();
  hybridc_rt_session_free(s);
  hybridc_rt_model_close(m);
}

TEST(RuntimeModel, NoPathAndNoEmbeddedWeightsIsInvalidArgument) {
  hybridc_model *m = nullptr;
  EXPECT_EQ(hybridc_rt_model_open(toy::file_desc(), nullptr, &m), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("embedded"), std::string::npos);
}

TEST(RuntimeModel, NullArgumentsAndBadDescriptor) {
  std::string path = toy::write_weights("nulls");
  EXPECT_EQ(hybridc_rt_model_open(toy::file_desc(), path.c_str(), nullptr),
            HYBRIDC_ERR_INVALID_ARGUMENT);
  hybridc_model *m = nullptr;
  EXPECT_EQ(hybridc_rt_model_open(nullptr, path.c_str(), &m), HYBRIDC_ERR_INVALID_ARGUMENT);
  hybridc_model_desc bad = *toy::file_desc();
  bad.max_chunk_tokens = 0;
  EXPECT_EQ(hybridc_rt_model_open(&bad, path.c_str(), &m), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("max_chunk_tokens 0"), std::string::npos);
  EXPECT_EQ(hybridc_rt_model_set_threads(nullptr, 2), HYBRIDC_ERR_INVALID_ARGUMENT);
}

// A library is refused on a CPU without its target's instruction sets, and
// a target name the runtime does not know is refused too (nothing says what
// such a library's kernels need).
TEST(RuntimeModel, TargetThisCpuCannotRunIsRefused) {
  std::string path = toy::write_weights("target");
  hybridc_model_desc other = *toy::file_desc();
  other.target = "pdp-11";
  hybridc_model *m = reinterpret_cast<hybridc_model *>(0x1);
  EXPECT_EQ(hybridc_rt_model_open(&other, path.c_str(), &m), HYBRIDC_ERR_CPU);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("target 'pdp-11', which this runtime does not know"),
            std::string::npos)
      << hybridc_rt_last_error();
  other.target = "x86-64-avx512-bf16";
  const char *missing = hybridc_cpu_missing_feature(other.target);
  if (!missing)
    GTEST_SKIP() << "this CPU runs every target";
  EXPECT_EQ(hybridc_rt_model_open(&other, path.c_str(), &m), HYBRIDC_ERR_CPU);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("this CPU lacks " + std::string(missing)),
            std::string::npos)
      << hybridc_rt_last_error();
}

TEST(RuntimeModel, SessionsOutliveClosedModel) {
  std::string path = toy::write_weights("outlive");
  hybridc_model *m = nullptr;
  ASSERT_EQ(hybridc_rt_model_open(toy::file_desc(), path.c_str(), &m), HYBRIDC_OK);
  hybridc_session *s = nullptr;
  ASSERT_EQ(hybridc_rt_session_create(m, &s), HYBRIDC_OK);
  hybridc_rt_model_close(m); // deferred until the session goes
  std::vector<float> l = decode(s, 4);
  EXPECT_EQ(l, toy::reference({4}).back());
  hybridc_rt_session_free(s);
}

TEST(RuntimeErrors, StatusStrings) {
  for (int st = HYBRIDC_OK; st <= HYBRIDC_ERR_NO_TOKENIZER; ++st)
    EXPECT_STRNE(hybridc_rt_status_string(st), "unknown status") << st;
  EXPECT_STREQ(hybridc_rt_status_string(HYBRIDC_OK), "ok");
  EXPECT_STREQ(hybridc_rt_status_string(99), "unknown status");
  EXPECT_STREQ(hybridc_rt_status_string(-1), "unknown status");
}

} // namespace
