//===- RequestsTest.cpp - OpenAI requests into typed ones ---------------------===//
//
// What a request becomes (the HTTP tests in test_errors.py cover refusals
// end to end); here the values that reach the engine, and the defaults.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Serve/ApiError.h"
#include "hybridc/Serve/Requests.h"

#include <gtest/gtest.h>

using namespace hybridc::serve;

namespace {

RequestLimits limits() {
  RequestLimits l;
  l.modelName = "m";
  l.vocab = 100;
  l.maxContext = 4096;
  return l;
}

TEST(Requests, CompletionValuesAndDefaults) {
  llvm::Expected<GenerationRequest> r = parseGenerationRequest(
      R"({"prompt": "hi", "temperature": 0.5, "top_k": 3, "top_p": 0.75, "min_p": 0.1,
          "repeat_penalty": 1.2, "seed": 9, "stop": "x", "stream": true,
          "stream_options": {"include_usage": true}, "user": "someone", "logit_bias": {}})",
      Endpoint::Completion, limits());
  ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
  EXPECT_EQ(r->model, "m");
  EXPECT_EQ(*r->promptText, "hi");
  EXPECT_EQ(*r->maxTokens, 16); // OpenAI's default for completions
  EXPECT_FLOAT_EQ(r->sampling.temperature, 0.5f);
  EXPECT_EQ(r->sampling.topK, 3);
  EXPECT_FLOAT_EQ(r->sampling.topP, 0.75f);
  EXPECT_FLOAT_EQ(r->sampling.minP, 0.1f);
  EXPECT_FLOAT_EQ(r->sampling.repeatPenalty, 1.2f);
  EXPECT_EQ(r->sampling.seed, 9u);
  EXPECT_EQ(r->stop, std::vector<std::string>{"x"});
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->includeUsage);
}

TEST(Requests, NullsAreUnset) {
  llvm::Expected<GenerationRequest> r = parseGenerationRequest(
      R"({"prompt": [1, 2, 99], "temperature": null, "stop": null, "max_tokens": null})",
      Endpoint::Completion, limits());
  ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
  EXPECT_EQ(r->promptTokens, (std::vector<int32_t>{1, 2, 99}));
  EXPECT_FLOAT_EQ(r->sampling.temperature, 1.0f); // OpenAI's default
  EXPECT_TRUE(r->stop.empty());
}

TEST(Requests, ChatKeepsMessagesAndToolsInOrder) {
  llvm::Expected<GenerationRequest> r = parseGenerationRequest(
      R"({"messages": [{"role": "user", "content": "a", "zeta": 1, "alpha": 2}],
          "tools": [{"type": "function", "function": {"name": "f"}}],
          "max_completion_tokens": 7})",
      Endpoint::ChatCompletion, limits());
  ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
  EXPECT_EQ(*r->maxTokens, 7);
  ASSERT_TRUE(r->tools.has_value());
  ASSERT_TRUE(r->messages.isList());
  // Unset for chat: until the context ends.
  llvm::Expected<GenerationRequest> r2 = parseGenerationRequest(
      R"({"messages": [{"role": "user", "content": "a"}], "tool_choice": "none",
          "tools": [{"type": "function", "function": {"name": "f"}}]})",
      Endpoint::ChatCompletion, limits());
  ASSERT_TRUE(bool(r2));
  EXPECT_FALSE(r2->maxTokens.has_value());
  EXPECT_FALSE(r2->tools.has_value()); // tool_choice none: no tools shown
}

TEST(Requests, RefusalsAreApiErrors) {
  llvm::Expected<GenerationRequest> r =
      parseGenerationRequest(R"({"prompt": [100]})", Endpoint::Completion, limits());
  ASSERT_FALSE(bool(r));
  ApiError e = toApiError(r.takeError());
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.param, "prompt");
  EXPECT_NE(e.message.find("outside the vocabulary [0, 100)"), std::string::npos);
}

TEST(Requests, SlotFileNames) {
  EXPECT_TRUE(bool(parseSlotFileRequest(R"({"filename": "conv-1.bin"})")));
  for (const char *bad : {R"({"filename": "a/b"})", R"({"filename": ".."})",
                          R"({"filename": ""})", R"({"filename": "a\u0000b"})"}) {
    llvm::Expected<std::string> n = parseSlotFileRequest(bad);
    ASSERT_FALSE(bool(n)) << bad;
    EXPECT_EQ(toApiError(n.takeError()).param, "filename");
  }
}

} // namespace
