//===- TokenizerTestUtil.cpp - the tokenizer tests' shared pieces --------===//
#include "TokenizerTestUtil.h"

#include "hybridc/runtime_abi.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace hybridc::test {

std::string tokenizerDataDir() { return std::string(HYBRIDC_TEST_DATA_DIR) + "/tokenizers"; }

namespace {

// Test data that cannot be read stops the program: every test needs it.
[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "tokenizer tests: %s\n", what.c_str());
  std::abort();
}

std::vector<std::string> lines(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    die(path + ": " + buf.getError().message());
  llvm::SmallVector<llvm::StringRef, 0> parts;
  llvm::StringRef((*buf)->getBuffer()).rtrim('\n').split(parts, '\n');
  return std::vector<std::string>(parts.begin(), parts.end());
}

llvm::json::Object parseLine(const std::string &line, const std::string &where) {
  llvm::Expected<llvm::json::Value> v = llvm::json::parse(line);
  if (!v || !v->getAsObject())
    die(where + ": not a JSON object");
  return std::move(*v->getAsObject());
}

std::vector<int32_t> idsOf(const llvm::json::Array &a) {
  std::vector<int32_t> ids;
  for (const llvm::json::Value &v : a)
    ids.push_back(static_cast<int32_t>(*v.getAsInteger()));
  return ids;
}

} // namespace

const std::vector<CorpusEntry> &corpus() {
  static const std::vector<CorpusEntry> entries = [] {
    std::vector<CorpusEntry> out;
    const std::string path = tokenizerDataDir() + "/corpus.jsonl";
    for (const std::string &line : lines(path)) {
      llvm::json::Object o = parseLine(line, path);
      CorpusEntry e;
      if (std::optional<llvm::StringRef> text = o.getString("text")) {
        e.bytes = text->str();
      } else {
        e.bytes = llvm::fromHex(*o.getString("hex"));
        e.isText = false;
      }
      out.push_back(std::move(e));
    }
    return out;
  }();
  return entries;
}

const std::vector<Expected> &expectedFor(const std::string &name) {
  static std::mutex mu;
  static std::map<std::string, std::vector<Expected>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(name);
  if (it != cache.end())
    return it->second;
  const std::string path = tokenizerDataDir() + "/" + name + "/expected.jsonl";
  std::vector<std::string> all = lines(path);
  std::vector<Expected> out;
  for (size_t i = 1; i < all.size(); ++i) { // line 0 is the header
    llvm::json::Object o = parseLine(all[i], path);
    Expected e;
    e.ids = idsOf(*o.getArray("ids"));
    if (const llvm::json::Array *a = o.getArray("special"))
      e.special = idsOf(*a);
    if (const llvm::json::Array *a = o.getArray("plain"))
      e.plain = idsOf(*a);
    if (std::optional<llvm::StringRef> hex = o.getString("decoded_hex"))
      e.decoded = llvm::fromHex(*hex);
    out.push_back(std::move(e));
  }
  return cache.emplace(name, std::move(out)).first->second;
}

Engine::Engine(std::vector<uint8_t> bytes, int32_t vocab) : blob(std::move(bytes)) {
  if (hybridc_rt_tokenizer_open(blob.data(), blob.size(), vocab, &tokenizer) != HYBRIDC_OK)
    openError = hybridc_rt_last_error();
}

Engine::~Engine() { hybridc_rt_tokenizer_free(tokenizer); }

std::vector<int32_t> Engine::encode(const std::string &text, int32_t flags) const {
  int64_t n = 0;
  std::vector<int32_t> ids(text.size() + 8);
  int status = hybridc_rt_tokenizer_encode(tokenizer, text.data(), int64_t(text.size()), flags,
                                           ids.data(), int64_t(ids.size()), &n);
  if (status == HYBRIDC_ERR_CAPACITY) {
    ids.resize(size_t(n));
    status = hybridc_rt_tokenizer_encode(tokenizer, text.data(), int64_t(text.size()), flags,
                                         ids.data(), int64_t(ids.size()), &n);
  }
  EXPECT_EQ(status, HYBRIDC_OK) << hybridc_rt_last_error();
  ids.resize(status == HYBRIDC_OK ? size_t(n) : 0);
  return ids;
}

std::string Engine::decode(const std::vector<int32_t> &ids) const {
  int64_t len = 0;
  int status = hybridc_rt_tokenizer_decode(tokenizer, ids.data(), int64_t(ids.size()), nullptr,
                                           0, &len);
  if (status == HYBRIDC_OK)
    return std::string();
  EXPECT_EQ(status, HYBRIDC_ERR_CAPACITY) << hybridc_rt_last_error();
  std::string text(size_t(len), '\0');
  status = hybridc_rt_tokenizer_decode(tokenizer, ids.data(), int64_t(ids.size()), text.data(),
                                       len, &len);
  EXPECT_EQ(status, HYBRIDC_OK) << hybridc_rt_last_error();
  return text;
}

const Engine &engineFor(const std::string &name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Engine>> engines;
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<Engine> &e = engines[name];
  if (!e) {
    llvm::Expected<std::optional<TokenizerSpec>> spec =
        readTokenizer(tokenizerDataDir() + "/" + name);
    if (!spec)
      die(llvm::toString(spec.takeError()));
    if (!*spec)
      die(name + ": no tokenizer.json");
    e = std::make_unique<Engine>(serializeTokenizer(**spec));
    if (!e->ok())
      die(name + ": " + e->error());
  }
  return *e;
}

std::string show(const std::string &bytes) {
  std::string out = "\"";
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      out += char(c);
    else
      out += llvm::formatv("\\x{0:x-2}", unsigned(c)).str();
  }
  return out + "\"";
}

std::string show(const std::vector<int32_t> &ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i)
    out += (i ? " " : "") + std::to_string(ids[i]);
  return out + "]";
}

} // namespace hybridc::test
