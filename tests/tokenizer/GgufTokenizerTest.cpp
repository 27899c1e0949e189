//===- GgufTokenizerTest.cpp - tokenizer.ggml.* metadata ------------------===//
//
// A GGUF file holding the cl100k tokenizer the way llama.cpp's converter
// stores Granite 4.0's (model "gpt2", pre "dbrx", the specials as control
// tokens), written here from tests/data/tokenizers/gpt35turbo with the
// loader tests' independent GGUF writer: it must give the reference's ids
// for that tokenizer.json on the whole corpus. Then one broken field at a
// time.
//
//===----------------------------------------------------------------------===//
#include "GgufWriter.h"
#include "TokenizerTestUtil.h"

#include "hybridc/runtime_abi.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

using namespace hybridc;
using namespace hybridc::test;

namespace {

GgufKv stringArray(const std::string &key, const std::vector<std::string> &items) {
  GgufKv k{key, 9, {}};
  gguf_detail::put<uint32_t>(k.raw, 8);
  gguf_detail::put<uint64_t>(k.raw, items.size());
  for (const std::string &s : items)
    gguf_detail::putString(k.raw, s);
  return k;
}

GgufKv intArray(const std::string &key, const std::vector<int32_t> &items) {
  GgufKv k{key, 9, {}};
  gguf_detail::put<uint32_t>(k.raw, 5);
  gguf_detail::put<uint64_t>(k.raw, items.size());
  for (int32_t v : items)
    gguf_detail::put<int32_t>(k.raw, v);
  return k;
}

/// The gpt35turbo tokenizer as GGUF metadata (no tensors).
GgufDoc cl100kDoc() {
  auto buf = llvm::MemoryBuffer::getFile(tokenizerDataDir() + "/gpt35turbo/tokenizer.json");
  llvm::json::Value root = llvm::cantFail(llvm::json::parse((*buf)->getBuffer()));
  const llvm::json::Object &model = *root.getAsObject()->getObject("model");
  std::map<int64_t, std::string> byId;
  for (const auto &[text, id] : *model.getObject("vocab"))
    byId[*id.getAsInteger()] = text.str();
  std::map<int64_t, std::string> control;
  for (const llvm::json::Value &a : *root.getAsObject()->getArray("added_tokens"))
    control[*a.getAsObject()->getInteger("id")] = a.getAsObject()->getString("content")->str();
  const int64_t n = std::max(byId.rbegin()->first, control.rbegin()->first) + 1;
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (int64_t id = 0; id < n; ++id) {
    if (control.count(id)) {
      tokens.push_back(control[id]);
      types.push_back(3); // control
    } else if (byId.count(id)) {
      tokens.push_back(byId[id]);
      types.push_back(1); // normal
    } else {
      tokens.push_back("[PAD" + std::to_string(id) + "]");
      types.push_back(5); // unused, as the converter fills gaps
    }
  }
  std::vector<std::string> merges;
  for (const llvm::json::Value &m : *model.getArray("merges"))
    merges.push_back(m.getAsString()->str());
  GgufDoc doc;
  doc.kvs = {kvString("general.architecture", "granitehybrid"),
             kvString("tokenizer.ggml.model", "gpt2"),
             kvString("tokenizer.ggml.pre", "dbrx"),
             stringArray("tokenizer.ggml.tokens", tokens),
             intArray("tokenizer.ggml.token_type", types),
             stringArray("tokenizer.ggml.merges", merges),
             kvU32("tokenizer.ggml.bos_token_id", 100257),
             kvU32("tokenizer.ggml.eos_token_id", 100257),
             kvBool("tokenizer.ggml.add_bos_token", false)};
  return doc;
}

class GgufTokenizer : public ::testing::Test {
protected:
  static void SetUpTestSuite() { doc = new GgufDoc(cl100kDoc()); }
  static void TearDownTestSuite() { delete doc; }
  void SetUp() override {
    llvm::SmallString<128> d;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("hybridc-gguf-tokenizer", d));
    dir = std::string(d);
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string write(const GgufDoc &d) {
    std::string path = dir + "/model.gguf";
    std::ofstream(path, std::ios::binary) << serializeGguf(d);
    return path;
  }
  void expectRefused(const GgufDoc &d, const std::string &needle) {
    const std::string path = write(d);
    llvm::Expected<std::optional<TokenizerSpec>> spec = readTokenizer(path);
    ASSERT_FALSE(bool(spec)) << "accepted; expected: " << needle;
    std::string message = llvm::toString(spec.takeError());
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  }

  static GgufDoc *doc;
  std::string dir;
};
GgufDoc *GgufTokenizer::doc = nullptr;

TEST_F(GgufTokenizer, GivesTheReferenceIdsOfTheSameTokenizer) {
  llvm::Expected<std::optional<TokenizerSpec>> spec = readTokenizer(write(*doc));
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  ASSERT_TRUE(spec->has_value());
  EXPECT_EQ((*spec)->bos, 100257);
  EXPECT_EQ((*spec)->eos, 100257);
  EXPECT_TRUE((*spec)->templ.empty()) << "add_bos_token false: nothing added";
  Engine e(serializeTokenizer(**spec));
  ASSERT_TRUE(e.ok()) << e.error();
  const std::vector<Expected> &want = expectedFor("gpt35turbo");
  size_t agree = 0;
  for (size_t i = 0; i < corpus().size(); ++i) {
    const Expected &w = want[i];
    bool ok = e.encode(corpus()[i].bytes, HYBRIDC_TOKENIZE_PARSE_SPECIAL) == w.ids &&
              e.encode(corpus()[i].bytes, 0) == (w.plain ? *w.plain : w.ids);
    agree += ok;
    if (!ok && agree + 5 > i)
      ADD_FAILURE() << "corpus line " << i + 1 << " " << show(corpus()[i].bytes);
  }
  EXPECT_EQ(agree, corpus().size());
}

TEST_F(GgufTokenizer, AddBosTokenMakesATemplate) {
  GgufDoc d = *doc;
  d.erase("tokenizer.ggml.add_bos_token");
  d.kvs.push_back(kvBool("tokenizer.ggml.add_bos_token", true));
  llvm::Expected<std::optional<TokenizerSpec>> spec = readTokenizer(write(d));
  ASSERT_TRUE(spec && *spec);
  Engine e(serializeTokenizer(**spec));
  EXPECT_EQ(e.encode("Hello", HYBRIDC_TOKENIZE_ADD_SPECIAL), (std::vector<int32_t>{100257, 9906}));
  EXPECT_EQ(e.encode("Hello", 0), (std::vector<int32_t>{9906}));
}

TEST_F(GgufTokenizer, WithoutTokenizerMetadataThereIsNone) {
  GgufDoc d = *doc;
  d.erase("tokenizer.ggml.model");
  llvm::Expected<std::optional<TokenizerSpec>> spec = readTokenizer(write(d));
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  EXPECT_FALSE(spec->has_value());
}

TEST_F(GgufTokenizer, RefusedKinds) {
  GgufDoc d = *doc;
  d.erase("tokenizer.ggml.model");
  d.kvs.push_back(kvString("tokenizer.ggml.model", "llama"));
  expectRefused(d, "tokenizer.ggml.model: 'llama' is not supported by hybridc");

  d = *doc;
  d.erase("tokenizer.ggml.pre");
  d.kvs.push_back(kvString("tokenizer.ggml.pre", "qwen2"));
  expectRefused(d, "tokenizer.ggml.pre: 'qwen2' is not supported");

  d = *doc;
  d.erase("tokenizer.ggml.token_type");
  d.kvs.push_back(intArray("tokenizer.ggml.token_type", {1, 1, 1}));
  expectRefused(d, "tokenizer.ggml.token_type: expected an integer array as long as");

  d = *doc;
  d.erase("tokenizer.ggml.merges");
  expectRefused(d, "tokenizer.ggml.merges: expected an array of strings");

  d = *doc;
  d.erase("tokenizer.ggml.merges");
  d.kvs.push_back(stringArray("tokenizer.ggml.merges", {"Ġ Ġ", "Ġ ☃"}));
  expectRefused(d, "tokenizer.ggml.merges[1] 'Ġ ☃': '☃' is not in tokenizer.ggml.tokens");

  d = *doc;
  d.erase("tokenizer.ggml.eos_token_id");
  d.kvs.push_back(kvU32("tokenizer.ggml.eos_token_id", 999999));
  expectRefused(d, "tokenizer.ggml.eos_token_id: token id 999999 does not exist");

  d = *doc;
  d.erase("tokenizer.ggml.tokens");
  expectRefused(d, "tokenizer.ggml.tokens: expected an array of strings");
}

} // namespace
