//===- TextApiTest.cpp - a compiled library's tokenizer and sampler --------===//
//
// Through the library's own exported functions (dlsym), as a C program uses
// them: <name>_tokenize / _detokenize / _token_piece on the whole tokenizer
// corpus against the ids tokenizers.js gave for the sample tokenizer (the
// one hybridc-make-model writes for the tiny preset: a make-model test
// checks it is tests/data/tokenizers/sample); the buffer protocol; every bad
// argument; a library without a tokenizer; the sampler against argmax and
// itself.
//
//===----------------------------------------------------------------------===//
#include "E2eSupport.h"
#include "TokenizerTestUtil.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <thread>

using namespace hybridc::e2e;
using hybridc::test::corpus;
using hybridc::test::expectedFor;
using hybridc::test::show;

namespace {

constexpr const char *kModel = "tiny_api";        // made by hybridc-make-model: a tokenizer
constexpr const char *kWithoutTokenizer = "golden_avx512"; // the golden folder has none
constexpr int32_t kAddSpecial = 1, kParseSpecial = 2;

struct SamplerParams { // <name>_sampler_params
  float temperature;
  int32_t topK;
  float topP, minP, repeatPenalty;
  int32_t repeatLastN;
  uint64_t seed;
};

/// The text and sampler functions of a library, found with dlsym.
struct TextFns {
  int (*tokenize)(const void *, const char *, int64_t, int32_t, int32_t *, int64_t, int64_t *);
  int (*detokenize)(const void *, const int32_t *, int64_t, char *, int64_t, int64_t *);
  int (*piece)(const void *, int32_t, char *, int64_t, int64_t *);
  int32_t (*bos)(const void *);
  int32_t (*eos)(const void *);
  SamplerParams (*defaults)(void);
  int (*samplerCreate)(const void *, const SamplerParams *, void **);
  void (*samplerFree)(void *);
  int (*sample)(void *, const float *, int32_t *);
  int (*accept)(void *, const int32_t *, int64_t);
  int (*reset)(void *);

  bool bind(const Library &lib) {
    bool ok = true;
    auto get = [&](auto &fn, const char *name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(lib.symbol(name));
      if (!fn) {
        ADD_FAILURE() << lib.manifest().name << "_" << name << " is not exported";
        ok = false;
      }
    };
    get(tokenize, "tokenize");
    get(detokenize, "detokenize");
    get(piece, "token_piece");
    get(bos, "token_bos");
    get(eos, "token_eos");
    get(defaults, "sampler_default_params");
    get(samplerCreate, "sampler_create");
    get(samplerFree, "sampler_free");
    get(sample, "sampler_sample");
    get(accept, "sampler_accept");
    get(reset, "sampler_reset");
    return ok;
  }
};

bool mentions(const char *text, const std::string &needle) {
  return text && std::string(text).find(needle) != std::string::npos;
}

class TextApi : public ::testing::Test {
protected:
  void SetUp() override { open(kModel); }
  void open(const char *variant) {
    lib = loadLibrary(outDir(variant));
    ASSERT_TRUE(lib);
    if (!cpuRuns(lib->manifest().target))
      GTEST_SKIP() << "this CPU cannot run " << lib->manifest().target << " code";
    ASSERT_TRUE(fn.bind(*lib));
    runner = std::make_unique<Runner>(*lib);
    ASSERT_TRUE(runner->ok());
    model = runner->model();
  }

  std::vector<int32_t> tokenize(const std::string &text, int32_t flags) {
    int64_t n = 0;
    int st = fn.tokenize(model, text.data(), int64_t(text.size()), flags, nullptr, 0, &n);
    if (st == kOk)
      return {};
    EXPECT_EQ(st, kCapacity) << lib->lastError();
    std::vector<int32_t> ids(size_t(n), -7);
    EXPECT_EQ(fn.tokenize(model, text.data(), int64_t(text.size()), flags, ids.data(), n, &n),
              kOk)
        << lib->lastError();
    return ids;
  }
  std::string detokenize(const std::vector<int32_t> &ids) {
    int64_t len = 0;
    int st = fn.detokenize(model, ids.data(), int64_t(ids.size()), nullptr, 0, &len);
    if (st == kOk)
      return {};
    EXPECT_EQ(st, kCapacity) << lib->lastError();
    std::string text(size_t(len), '\0');
    EXPECT_EQ(fn.detokenize(model, ids.data(), int64_t(ids.size()), text.data(), len, &len), kOk)
        << lib->lastError();
    return text;
  }

  std::unique_ptr<Library> lib;
  std::unique_ptr<Runner> runner;
  void *model = nullptr;
  TextFns fn{};
};

// The library's ids are the reference's, on every corpus string, in each
// mode; its text is the reference's decode.
TEST_F(TextApi, AgreesWithTheReferenceOnTheCorpus) {
  const std::vector<hybridc::test::Expected> &want = expectedFor("sample");
  ASSERT_EQ(want.size(), corpus().size());
  size_t bad = 0;
  for (size_t i = 0; i < corpus().size() && bad < 5; ++i) {
    const std::string &s = corpus()[i].bytes;
    const hybridc::test::Expected &e = want[i];
    const std::vector<int32_t> parsed = tokenize(s, kParseSpecial);
    const std::vector<int32_t> added = tokenize(s, kAddSpecial | kParseSpecial);
    const std::vector<int32_t> plain = tokenize(s, 0);
    const std::string text = detokenize(e.ids);
    bool ok = parsed == e.ids && added == (e.special ? *e.special : e.ids) &&
              plain == (e.plain ? *e.plain : e.ids) && text == (e.decoded ? *e.decoded : s);
    if (!ok && bad++ < 5)
      ADD_FAILURE() << "corpus line " << i + 1 << " " << show(s) << ": ids " << show(parsed)
                    << " (reference " << show(e.ids) << "), text " << show(text);
  }
  EXPECT_EQ(bad, 0u);
}

// BOS and EOS are the tokens tokenizer_config.json names, found here in the
// checkpoint's own files.
TEST_F(TextApi, BosAndEosAreTheConfigsTokens) {
  auto json = [](const std::string &path) {
    auto buf = llvm::MemoryBuffer::getFile(path);
    EXPECT_TRUE(bool(buf)) << path;
    return llvm::cantFail(llvm::json::parse(buf ? (*buf)->getBuffer() : "{}"));
  };
  llvm::json::Value config = json(checkpointDir(kModel) + "/tokenizer_config.json");
  llvm::json::Value tokenizer = json(checkpointDir(kModel) + "/tokenizer.json");
  auto idOf = [&](llvm::StringRef key) {
    llvm::StringRef text = *config.getAsObject()->getString(key);
    for (const llvm::json::Value &t : *tokenizer.getAsObject()->getArray("added_tokens"))
      if (t.getAsObject()->getString("content") == text)
        return int32_t(*t.getAsObject()->getInteger("id"));
    return int32_t(-2);
  };
  EXPECT_EQ(fn.bos(model), idOf("bos_token"));
  EXPECT_EQ(fn.eos(model), idOf("eos_token"));
  EXPECT_EQ(fn.bos(nullptr), -1);
}

// Too small a buffer: the needed size, nothing written; capacity 0 with a
// NULL buffer asks for the size.
TEST_F(TextApi, ShortBuffersGetTheSizeAndStayUntouched) {
  const std::string text = "The harbour town woke slowly. <|end_of_text|>";
  std::vector<int32_t> ids = tokenize(text, kParseSpecial);
  ASSERT_GE(ids.size(), 3u);
  std::vector<int32_t> buf(ids.size() - 1, -7);
  int64_t n = 0;
  EXPECT_EQ(fn.tokenize(model, text.c_str(), -1, kParseSpecial, buf.data(),
                        int64_t(buf.size()), &n),
            kCapacity);
  EXPECT_EQ(n, int64_t(ids.size()));
  EXPECT_TRUE(mentions(lib->lastError(), "n_ids")) << lib->lastError();
  EXPECT_EQ(buf, std::vector<int32_t>(buf.size(), -7)) << "a failed call wrote ids";

  char out[8];
  std::memset(out, '#', sizeof out);
  int64_t len = 0;
  EXPECT_EQ(fn.detokenize(model, ids.data(), int64_t(ids.size()), out, sizeof out, &len),
            kCapacity);
  EXPECT_EQ(len, int64_t(text.size()));
  EXPECT_EQ(std::string(out, sizeof out), std::string(sizeof out, '#'));

  const int32_t eos = fn.eos(model);
  EXPECT_EQ(fn.piece(model, eos, out, 3, &len), kCapacity);
  EXPECT_EQ(len, int64_t(std::strlen("<|end_of_text|>")));
  EXPECT_EQ(std::string(out, 3), "###");
  char whole[32];
  ASSERT_EQ(fn.piece(model, eos, whole, sizeof whole, &len), kOk);
  EXPECT_EQ(std::string(whole, size_t(len)), "<|end_of_text|>");
}

// A piece is raw bytes: a character split across tokens comes out in parts,
// and only the joined text is whole.
TEST_F(TextApi, PiecesAreRawBytes) {
  const std::string snowman = "\xe2\x98\x83"; // not in the sample's merges
  std::vector<int32_t> ids = tokenize(snowman, 0);
  ASSERT_EQ(ids.size(), 3u);
  std::string joined;
  for (int32_t id : ids) {
    char b[8];
    int64_t len = 0;
    ASSERT_EQ(fn.piece(model, id, b, sizeof b, &len), kOk);
    EXPECT_EQ(len, 1);
    joined.append(b, size_t(len));
  }
  EXPECT_EQ(joined, snowman);
  // The first two bytes alone are an unfinished character: U+FFFD.
  EXPECT_EQ(detokenize({ids[0], ids[1]}), "\xef\xbf\xbd");
}

TEST_F(TextApi, BadArgumentsAreRefusedWithAMessage) {
  int32_t ids[4];
  int64_t n = 0;
  char buf[16];
  EXPECT_EQ(fn.tokenize(nullptr, "a", 1, 0, ids, 4, &n), kInvalidArgument);
  EXPECT_TRUE(mentions(lib->lastError(), "model is NULL")) << lib->lastError();
  EXPECT_EQ(fn.tokenize(model, "a", 1, 0, ids, 4, nullptr), kInvalidArgument);
  EXPECT_TRUE(mentions(lib->lastError(), "NULL")) << lib->lastError();
  EXPECT_EQ(fn.tokenize(model, "a", 1, 4, ids, 4, &n), kInvalidArgument);
  EXPECT_TRUE(mentions(lib->lastError(), "unknown flags 0x4")) << lib->lastError();
  EXPECT_EQ(fn.tokenize(model, nullptr, 3, 0, ids, 4, &n), kInvalidArgument);
  EXPECT_TRUE(mentions(lib->lastError(), "text is NULL")) << lib->lastError();
  EXPECT_EQ(fn.tokenize(model, "a", 1, 0, nullptr, 4, &n), kInvalidArgument);
  EXPECT_EQ(fn.tokenize(model, "a", 1, 0, ids, -1, &n), kInvalidArgument);
  EXPECT_TRUE(mentions(lib->lastError(), "capacity is negative")) << lib->lastError();
  EXPECT_EQ(fn.tokenize(model, nullptr, 0, 0, ids, 4, &n), kOk); // empty text
  EXPECT_EQ(n, 0);

  const int32_t V = lib->vocab();
  const int32_t bad[3] = {1, 2, V};
  EXPECT_EQ(fn.detokenize(model, bad, 3, buf, sizeof buf, &n), kInvalidArgument);
  EXPECT_TRUE(mentions(lib->lastError(), "ids[2] = " + std::to_string(V))) << lib->lastError();
  const int32_t negative[1] = {-1};
  EXPECT_EQ(fn.detokenize(model, negative, 1, buf, sizeof buf, &n), kInvalidArgument);
  EXPECT_EQ(fn.detokenize(model, nullptr, 2, buf, sizeof buf, &n), kInvalidArgument);
  EXPECT_EQ(fn.detokenize(model, bad, -1, buf, sizeof buf, &n), kInvalidArgument);
  EXPECT_EQ(fn.piece(model, V, buf, sizeof buf, &n), kInvalidArgument);
  EXPECT_TRUE(mentions(lib->lastError(), "token id " + std::to_string(V))) << lib->lastError();
  EXPECT_EQ(fn.piece(model, -5, buf, sizeof buf, &n), kInvalidArgument);
  EXPECT_EQ(fn.piece(nullptr, 1, buf, sizeof buf, &n), kInvalidArgument);
}

// One model, many threads tokenizing at once: the same ids as alone.
TEST_F(TextApi, ThreadsTokenizeAtOnce) {
  std::string text;
  for (size_t i = 0; i < 400; ++i)
    text += corpus()[i].bytes;
  const std::vector<int32_t> alone = tokenize(text, kParseSpecial);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 5; ++k) {
        std::vector<int32_t> ids(alone.size());
        int64_t n = 0;
        if (fn.tokenize(model, text.data(), int64_t(text.size()), kParseSpecial, ids.data(),
                        int64_t(ids.size()), &n) == kOk)
          ids.resize(size_t(n));
        got[t] = ids;
      }
    });
  for (std::thread &t : threads)
    t.join();
  for (const std::vector<int32_t> &ids : got)
    EXPECT_EQ(ids, alone);
}

// Greedy sampling is argmax; a seed gives the same draws twice, another
// seed others; bad parameters and logits are refused.
TEST_F(TextApi, SamplerThroughTheLibrary) {
  std::vector<int32_t> prompt = tokenize("The harbour town woke slowly.", kAddSpecial);
  std::vector<float> logits = runner->prefillLast(prompt.data(), int64_t(prompt.size()));
  ASSERT_FALSE(logits.empty());
  void *greedy = nullptr;
  SamplerParams p = fn.defaults();
  EXPECT_EQ(p.temperature, 0.0f);
  ASSERT_EQ(fn.samplerCreate(model, &p, &greedy), kOk) << lib->lastError();
  int32_t token = -1;
  ASSERT_EQ(fn.sample(greedy, logits.data(), &token), kOk);
  EXPECT_EQ(token, argmax(logits.data(), int64_t(logits.size())));
  fn.samplerFree(greedy);

  auto draws = [&](uint64_t seed) {
    SamplerParams q = fn.defaults();
    q.temperature = 1.0f;
    q.seed = seed;
    void *s = nullptr;
    std::vector<int32_t> out;
    if (fn.samplerCreate(model, &q, &s) != kOk)
      return out;
    for (int i = 0; i < 50; ++i) {
      int32_t t = -1;
      EXPECT_EQ(fn.sample(s, logits.data(), &t), kOk);
      out.push_back(t);
    }
    EXPECT_EQ(fn.reset(s), kOk); // from the seed again
    int32_t first = -1;
    EXPECT_EQ(fn.sample(s, logits.data(), &first), kOk);
    EXPECT_EQ(first, out[0]);
    fn.samplerFree(s);
    return out;
  };
  std::vector<int32_t> a = draws(7), b = draws(7), c = draws(8);
  ASSERT_EQ(a.size(), 50u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);

  SamplerParams bad = fn.defaults();
  bad.topP = 0;
  void *s = reinterpret_cast<void *>(1);
  EXPECT_EQ(fn.samplerCreate(model, &bad, &s), kInvalidArgument);
  EXPECT_EQ(s, nullptr);
  EXPECT_TRUE(mentions(lib->lastError(), "top_p")) << lib->lastError();
  ASSERT_EQ(fn.samplerCreate(model, nullptr, &s), kOk);
  logits[3] = std::nanf("");
  EXPECT_EQ(fn.sample(s, logits.data(), &token), kInvalidArgument);
  EXPECT_TRUE(mentions(lib->lastError(), "logits[3] is NaN")) << lib->lastError();
  const int32_t outOfRange[1] = {lib->vocab()};
  EXPECT_EQ(fn.accept(s, outOfRange, 1), kInvalidArgument);
  fn.samplerFree(s);
}

// A library compiled without a tokenizer says so, and still samples.
TEST(NoTokenizer, TextCallsFailWithTheirOwnStatus) {
  std::unique_ptr<Library> lib = loadLibrary(outDir(kWithoutTokenizer));
  ASSERT_TRUE(lib);
  if (!cpuRuns(lib->manifest().target))
    GTEST_SKIP() << "this CPU cannot run " << lib->manifest().target << " code";
  TextFns fn{};
  ASSERT_TRUE(fn.bind(*lib));
  Runner runner(*lib);
  ASSERT_TRUE(runner.ok());
  int32_t ids[4];
  int64_t n = 0;
  char buf[8];
  EXPECT_EQ(fn.tokenize(runner.model(), "hello", -1, 0, ids, 4, &n), kNoTokenizer);
  EXPECT_TRUE(mentions(lib->lastError(), "without a tokenizer")) << lib->lastError();
  EXPECT_EQ(fn.detokenize(runner.model(), ids, 0, buf, sizeof buf, &n), kNoTokenizer);
  EXPECT_EQ(fn.piece(runner.model(), 1, buf, sizeof buf, &n), kNoTokenizer);
  EXPECT_STREQ(lib->statusString(kNoTokenizer), "no tokenizer");
  EXPECT_EQ(fn.bos(runner.model()), -1);
  EXPECT_EQ(fn.eos(runner.model()), -1);
  void *s = nullptr;
  ASSERT_EQ(fn.samplerCreate(runner.model(), nullptr, &s), kOk);
  fn.samplerFree(s);
}

} // namespace
