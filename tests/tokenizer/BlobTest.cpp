//===- BlobTest.cpp - the runtime refuses a damaged tokenizer blob --------===//
//
// A library's tokenizer blob is checked before use (model_open fails on a
// bad one). Each test damages one field of the sample tokenizer's blob and
// expects HYBRIDC_ERR_FORMAT with a message naming it; the engine's own
// arguments get the same treatment.
//
//===----------------------------------------------------------------------===//
#include "TokenizerTestUtil.h"

#include "hybridc/runtime_abi.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <functional>

using namespace hybridc;
using namespace hybridc::test;

namespace {

class Blob : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::Expected<std::optional<TokenizerSpec>> spec = readTokenizer(tokenizerDataDir() + "/sample");
    ASSERT_TRUE(spec && *spec);
    // Two chat templates, so the blob has that section too.
    (*spec)->chatTemplates = {{"default", "{{ messages[0].content }}"},
                              {"tool_use", "{% for t in tools %}{{ t }}{% endfor %}"}};
    good = serializeTokenizer(**spec);
    std::memcpy(&header, good.data(), sizeof header);
  }

  // Where the sections start (text_abi.h's order).
  size_t tokensAt() const { return HYBRIDC_TOKENIZER_HEADER_BYTES; }
  size_t mergesAt() const { return tokensAt() + header.num_tokens * sizeof(hybridc_tokenizer_token); }
  size_t bytesAt() const { return mergesAt() + header.num_merges * sizeof(hybridc_tokenizer_merge); }
  size_t fallbackAt() const { return bytesAt() + 256 * sizeof(int32_t); }
  size_t templateAt() const { return fallbackAt() + 256 * sizeof(hybridc_tokenizer_fallback); }
  size_t stepsAt() const { return templateAt() + header.num_template * sizeof(int32_t); }
  size_t chatAt() const { return stepsAt() + header.num_steps * sizeof(hybridc_tokenizer_step); }
  size_t stringsAt() const {
    return chatAt() + header.num_chat_templates * sizeof(hybridc_tokenizer_chat_template);
  }

  template <typename T> void put(std::vector<uint8_t> &b, size_t at, T v) {
    std::memcpy(b.data() + at, &v, sizeof v);
  }
  template <typename T> T get(const std::vector<uint8_t> &b, size_t at) {
    T v;
    std::memcpy(&v, b.data() + at, sizeof v);
    return v;
  }
  /// The good blob with `damage` applied is refused with HYBRIDC_ERR_FORMAT
  /// and a message holding `needle`.
  void expectRefused(const std::function<void(std::vector<uint8_t> &)> &damage,
                     const std::string &needle) {
    std::vector<uint8_t> b = good;
    damage(b);
    hybridc_rt_tokenizer *t = reinterpret_cast<hybridc_rt_tokenizer *>(1);
    EXPECT_EQ(hybridc_rt_tokenizer_open(b.data(), b.size(), 0, &t), HYBRIDC_ERR_FORMAT) << needle;
    EXPECT_EQ(t, nullptr);
    EXPECT_NE(std::string(hybridc_rt_last_error()).find(needle), std::string::npos)
        << hybridc_rt_last_error();
  }

  std::vector<uint8_t> good;
  hybridc_tokenizer_header header{};
};

TEST_F(Blob, TheGoodOneOpens) {
  Engine e(good);
  EXPECT_TRUE(e.ok()) << e.error();
}

TEST_F(Blob, Header) {
  expectRefused([](auto &b) { b.resize(40); }, "smaller than its 64-byte header");
  expectRefused([](auto &b) { b[0] = 'X'; }, "bad magic");
  expectRefused([&](auto &b) { put<uint32_t>(b, 8, HYBRIDC_TOKENIZER_FORMAT_VERSION + 1); },
                "format version " + std::to_string(HYBRIDC_TOKENIZER_FORMAT_VERSION + 1) +
                    ", this runtime reads version " +
                    std::to_string(HYBRIDC_TOKENIZER_FORMAT_VERSION));
  expectRefused([&](auto &b) { put<uint32_t>(b, 12, 32); }, "header_bytes 32");
  expectRefused([&](auto &b) { b[60] = 1; }, "reserved header bytes");
  expectRefused([&](auto &b) { b.pop_back(); }, "total_bytes");
  expectRefused([&](auto &b) { put<int32_t>(b, 24, 0); }, "counts out of range (tokens 0");
  expectRefused([&](auto &b) { put<int32_t>(b, 28, -1); }, "merges -1");
  expectRefused([&](auto &b) { put<uint32_t>(b, 48, 6); }, "unknown flags 0x6");
  expectRefused([&](auto &b) { put<uint32_t>(b, 52, header.string_bytes + 4); },
                "its sections take");
}

TEST_F(Blob, Tokens) {
  const size_t t7 = tokensAt() + 7 * sizeof(hybridc_tokenizer_token);
  expectRefused([&](auto &b) { put<uint32_t>(b, t7 + offsetof(hybridc_tokenizer_token, flags), 0x80 | 1); },
                "token 7 has unknown flags 0x81");
  expectRefused(
      [&](auto &b) { put<uint32_t>(b, t7 + offsetof(hybridc_tokenizer_token, piece_offset), header.string_bytes); },
      "token 7 points past the strings");
  expectRefused([&](auto &b) { put<uint32_t>(b, t7 + offsetof(hybridc_tokenizer_token, flags), 1 | 4 | 32); },
                "token 7 has added-token flags but is not an added token");
  expectRefused([&](auto &b) { put<uint32_t>(b, t7 + offsetof(hybridc_tokenizer_token, flags), 1); },
                "token 7: its key has 1 bytes but its flags say it has no one");
  // The last token is an added one (<tool_call>): its text must be UTF-8.
  const size_t last = tokensAt() + (header.num_tokens - 1) * sizeof(hybridc_tokenizer_token);
  expectRefused(
      [&](auto &b) {
        b[stringsAt() + get<uint32_t>(b, last + offsetof(hybridc_tokenizer_token, piece_offset))] = 0xff;
      },
      "added token 511 has an empty or ill-formed UTF-8 text");
}

TEST_F(Blob, Merges) {
  const size_t m0 = mergesAt();
  expectRefused([&](auto &b) { put<int32_t>(b, m0 + 8, 512); }, "merge 0 names a token out of range");
  expectRefused([&](auto &b) { put<int32_t>(b, m0 + 8, 511); },
                "merge 0 names token 511, which is not a vocabulary entry");
  expectRefused([&](auto &b) { put<int32_t>(b, m0 + 8, get<int32_t>(b, m0 + 12 + 8)); },
                "merge 0: token");
  expectRefused(
      [&](auto &b) {
        put<int32_t>(b, m0 + 12, get<int32_t>(b, m0));
        put<int32_t>(b, m0 + 16, get<int32_t>(b, m0 + 4));
        put<int32_t>(b, m0 + 20, get<int32_t>(b, m0 + 8));
      },
      "merges 0 and 1 both merge tokens");
}

TEST_F(Blob, ByteTablesTemplateAndEnds) {
  expectRefused([&](auto &b) { put<int32_t>(b, bytesAt() + 'a' * 4, 'b'); },
                "byte 0x61 maps to token 98, which is not that byte");
  expectRefused([&](auto &b) { put<int32_t>(b, fallbackAt() + 3 * 12, 3); },
                "byte 0x03 has 3 fallback tokens");
  expectRefused([&](auto &b) { put<int32_t>(b, templateAt(), -1); },
                "the template holds the input 2 times");
  expectRefused([&](auto &b) { put<int32_t>(b, templateAt(), 9999); },
                "template item 0 is token 9999");
  expectRefused([&](auto &b) { put<int32_t>(b, 40, 600); }, "BOS/EOS token 600 does not exist");
}

TEST_F(Blob, Steps) {
  const size_t s0 = stepsAt();
  expectRefused([&](auto &b) { put<uint32_t>(b, s0, 9); }, "step 0 has unknown kind 9");
  expectRefused([&](auto &b) { put<uint32_t>(b, s0 + 4, 7); }, "step 0 has unknown split mode 7");
  expectRefused([&](auto &b) { put<uint32_t>(b, s0 + 12, 0); }, "step 0: its pattern is empty");
  // A pattern PCRE2 cannot compile: its first byte made '('.
  expectRefused(
      [&](auto &b) {
        const uint32_t at = get<uint32_t>(b, s0 + 8), n = get<uint32_t>(b, s0 + 12);
        std::memset(b.data() + stringsAt() + at, '(', n);
      },
      "step 0: PCRE2 refuses its pattern");
}

TEST_F(Blob, ChatTemplates) {
  Engine e(good);
  ASSERT_TRUE(e.ok()) << e.error();
  ASSERT_EQ(hybridc_rt_tokenizer_chat_template_count(e.get()), 2);
  EXPECT_STREQ(hybridc_rt_tokenizer_chat_template_name(e.get(), 0), "default");
  EXPECT_STREQ(hybridc_rt_tokenizer_chat_template_name(e.get(), 1), "tool_use");
  EXPECT_EQ(hybridc_rt_tokenizer_chat_template_name(e.get(), 2), nullptr);
  EXPECT_EQ(hybridc_rt_tokenizer_chat_template_name(e.get(), -1), nullptr);
  const char *text = nullptr;
  int64_t len = -1;
  ASSERT_EQ(hybridc_rt_tokenizer_chat_template(e.get(), nullptr, &text, &len), HYBRIDC_OK);
  EXPECT_EQ(std::string(text, len), "{{ messages[0].content }}");
  EXPECT_EQ(text[len], '\0');
  ASSERT_EQ(hybridc_rt_tokenizer_chat_template(e.get(), "tool_use", &text, &len), HYBRIDC_OK);
  EXPECT_EQ(std::string(text), "{% for t in tools %}{{ t }}{% endfor %}");
  // An unknown name names the ones there are, and leaves the outputs alone.
  const char *kept = text;
  EXPECT_EQ(hybridc_rt_tokenizer_chat_template(e.get(), "rag", &text, &len),
            HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("no chat template named 'rag' (the model "
                                                      "has 'default', 'tool_use')"),
            std::string::npos)
      << hybridc_rt_last_error();
  EXPECT_EQ(text, kept);
  EXPECT_EQ(hybridc_rt_tokenizer_chat_template(e.get(), "default", nullptr, &len),
            HYBRIDC_ERR_INVALID_ARGUMENT);

  const size_t c0 = chatAt(), c1 = c0 + sizeof(hybridc_tokenizer_chat_template);
  const size_t count = offsetof(hybridc_tokenizer_header, num_chat_templates);
  expectRefused([&](auto &b) { put<int32_t>(b, count, 65); }, "chat templates 65");
  expectRefused([&](auto &b) { put<int32_t>(b, count, -1); }, "chat templates -1");
  expectRefused(
      [&](auto &b) {
        put<uint32_t>(b, c1 + offsetof(hybridc_tokenizer_chat_template, text_offset),
                      header.string_bytes);
      },
      "chat template 1: its text points past the strings");
  expectRefused(
      [&](auto &b) {
        const auto at = get<uint32_t>(b, c0 + offsetof(hybridc_tokenizer_chat_template, text_offset));
        const auto n = get<uint32_t>(b, c0 + offsetof(hybridc_tokenizer_chat_template, text_bytes));
        b[stringsAt() + at + n] = '!'; // its NUL
      },
      "chat template 0: its text is not one NUL-terminated string");
  expectRefused(
      [&](auto &b) {
        const auto at = get<uint32_t>(b, c0 + offsetof(hybridc_tokenizer_chat_template, text_offset));
        b[stringsAt() + at + 2] = 0; // a NUL inside
      },
      "chat template 0: its text is not one NUL-terminated string");
  expectRefused(
      [&](auto &b) {
        put<uint32_t>(b, c0 + offsetof(hybridc_tokenizer_chat_template, name_bytes), 0);
      },
      "chat template 0: a name of 0 bytes");
  expectRefused(
      [&](auto &b) {
        std::memcpy(b.data() + c1, b.data() + c0, 8); // name_offset, name_bytes of 0
      },
      "chat template 1: the name 'default' is given twice");
}

TEST_F(Blob, Alignment) {
  std::vector<uint8_t> shifted(good.size() + 1);
  std::memcpy(shifted.data() + 1, good.data(), good.size());
  hybridc_rt_tokenizer *t = nullptr;
  EXPECT_EQ(hybridc_rt_tokenizer_open(shifted.data() + 1, good.size(), 0, &t), HYBRIDC_ERR_FORMAT);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("not 4-byte aligned"), std::string::npos);
  EXPECT_EQ(hybridc_rt_tokenizer_open(nullptr, 100, 0, &t), HYBRIDC_ERR_FORMAT);
  EXPECT_EQ(hybridc_rt_tokenizer_open(good.data(), good.size(), 0, nullptr),
            HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_tokenizer_open(good.data(), good.size(), -3, &t),
            HYBRIDC_ERR_INVALID_ARGUMENT);
}

// Every byte of the header and of the first tokens, merges and steps
// flipped: the blob is refused or opens and works, never crashes (the fuzz
// target does the same at random, at length).
TEST_F(Blob, EveryEarlyByteFlipped) {
  const size_t limit = std::min(good.size(), stringsAt() + 64);
  for (size_t at = 0; at < limit; at += at < 2048 ? 1 : 97) {
    std::vector<uint8_t> b = good;
    b[at] ^= 0x5a;
    hybridc_rt_tokenizer *t = nullptr;
    if (hybridc_rt_tokenizer_open(b.data(), b.size(), 0, &t) == HYBRIDC_OK) {
      int32_t ids[64];
      int64_t n = 0;
      hybridc_rt_tokenizer_encode(t, "Hello <|mask|> world\xff", -1, 3, ids, 64, &n);
      hybridc_rt_tokenizer_free(t);
    }
  }
}

TEST(Engine, ArgumentsAreChecked) {
  const Engine &e = engineFor("sample");
  int32_t ids[8];
  int64_t n = 0;
  EXPECT_EQ(hybridc_rt_tokenizer_encode(nullptr, "a", 1, 0, ids, 8, &n), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_tokenizer_encode(e.get(), "a", 1, 8, ids, 8, &n), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(hybridc_rt_last_error()).find("unknown flags 0x8"), std::string::npos);
  EXPECT_EQ(hybridc_rt_tokenizer_encode(e.get(), "zqx", -1, 0, ids, 8, &n), HYBRIDC_OK);
  EXPECT_EQ(n, 3); // three bytes no merge of the sample joins
  char buf[8];
  EXPECT_EQ(hybridc_rt_tokenizer_decode(e.get(), ids, 3, buf, 8, &n), HYBRIDC_OK);
  EXPECT_EQ(std::string(buf, size_t(n)), "zqx");
  EXPECT_EQ(hybridc_rt_tokenizer_piece(e.get(), 512, buf, 8, &n), HYBRIDC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(hybridc_rt_tokenizer_size(e.get()), 512);
  EXPECT_EQ(hybridc_rt_tokenizer_bos(nullptr), -1);
}

// A model's vocabulary may be larger than its tokenizer's: those ids decode
// to nothing, and ids past it are refused.
TEST(Engine, IdsPastTheTokenizerDecodeToNothing) {
  llvm::Expected<std::optional<TokenizerSpec>> spec = readTokenizer(tokenizerDataDir() + "/sample");
  ASSERT_TRUE(spec && *spec);
  Engine wide(serializeTokenizer(**spec), 600);
  ASSERT_TRUE(wide.ok()) << wide.error();
  EXPECT_EQ(wide.decode({104, 550, 105}), "hi");
  char buf[4];
  int64_t n = 9;
  EXPECT_EQ(hybridc_rt_tokenizer_piece(wide.get(), 599, buf, 4, &n), HYBRIDC_OK);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(hybridc_rt_tokenizer_piece(wide.get(), 600, buf, 4, &n), HYBRIDC_ERR_INVALID_ARGUMENT);
}

} // namespace
