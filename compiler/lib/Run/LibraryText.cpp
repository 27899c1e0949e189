//===- LibraryText.cpp - a compiled library's text and sampling API -------===//
#include "hybridc/Run/LibraryText.h"
#include "hybridc/Support/Error.h"
#include "hybridc/runtime_abi.h"
#include "hybridc/text_abi.h"

using namespace hybridc;

static_assert(kTokenizeAddSpecial == int32_t(HYBRIDC_TOKENIZE_ADD_SPECIAL) &&
                  kTokenizeParseSpecial == int32_t(HYBRIDC_TOKENIZE_PARSE_SPECIAL),
              "the flags mirror text_abi.h");

namespace {

template <typename Fn>
bool bindOne(const CompiledLibrary &lib, const char *name, Fn &fn, std::string &missing) {
  fn = reinterpret_cast<Fn>(lib.symbol(name));
  if (!fn && missing.empty())
    missing = lib.manifest().name + "_" + name;
  return fn != nullptr;
}

} // namespace

llvm::Expected<std::unique_ptr<LibraryText>> LibraryText::bind(const CompiledLibrary &lib,
                                                               void *model) {
  std::unique_ptr<LibraryText> t(new LibraryText());
  t->lib = &lib;
  t->model = model;
  std::string missing;
  bindOne(lib, "tokenize", t->tokenize_, missing);
  bindOne(lib, "detokenize", t->detokenize_, missing);
  bindOne(lib, "token_piece", t->piece_, missing);
  bindOne(lib, "token_bos", t->bos_, missing);
  bindOne(lib, "token_eos", t->eos_, missing);
  bindOne(lib, "sampler_create", t->samplerCreate_, missing);
  bindOne(lib, "sampler_free", t->samplerFree_, missing);
  bindOne(lib, "sampler_sample", t->samplerSample_, missing);
  bindOne(lib, "sampler_accept", t->samplerAccept_, missing);
  bindOne(lib, "chat_template", t->chatTemplate_, missing);
  bindOne(lib, "chat_template_count", t->chatTemplateCount_, missing);
  bindOne(lib, "chat_template_name", t->chatTemplateName_, missing);
  if (!missing.empty())
    return makeError(lib.outDir() + "/" + lib.manifest().library + " does not export " + missing +
                     ": it was compiled by a hybridc without text functions; compile it again");
  return t;
}

std::vector<std::pair<std::string, std::string>> LibraryText::chatTemplates() const {
  std::vector<std::pair<std::string, std::string>> out;
  const int32_t n = chatTemplateCount_(model);
  for (int32_t i = 0; i < n; ++i) {
    const char *name = chatTemplateName_(model, i);
    const char *text = nullptr;
    int64_t len = 0;
    if (name && chatTemplate_(model, name, &text, &len) == 0)
      out.emplace_back(name, std::string(text, static_cast<size_t>(len)));
  }
  return out;
}

llvm::Error LibraryText::check(int status, const char *call) const {
  if (status == 0)
    return llvm::Error::success();
  return makeError(lib->manifest().name + "_" + call + ": " + lib->lastError());
}

llvm::Expected<std::vector<int32_t>> LibraryText::tokenize(llvm::StringRef text,
                                                           int32_t flags) const {
  // One call sized from the text (most tokens take a byte at least, plus
  // the post-processor's few), a second one of the size it asks for if that
  // was short (byte fallback gives several tokens per byte).
  std::vector<int32_t> ids(text.size() + 16);
  int64_t n = 0;
  int status = tokenize_(model, text.data(), int64_t(text.size()), flags, ids.data(),
                         int64_t(ids.size()), &n);
  if (status == HYBRIDC_ERR_CAPACITY) {
    ids.resize(size_t(n));
    status = tokenize_(model, text.data(), int64_t(text.size()), flags, ids.data(),
                       int64_t(ids.size()), &n);
  }
  if (llvm::Error e = check(status, "tokenize"))
    return std::move(e);
  ids.resize(size_t(n));
  return ids;
}

llvm::Expected<std::string> LibraryText::detokenize(llvm::ArrayRef<int32_t> ids) const {
  int64_t len = 0;
  int status = detokenize_(model, ids.data(), int64_t(ids.size()), nullptr, 0, &len);
  if (status == 0)
    return std::string();
  if (status != HYBRIDC_ERR_CAPACITY)
    return check(status, "detokenize");
  std::string text(size_t(len), '\0');
  if (llvm::Error e = check(detokenize_(model, ids.data(), int64_t(ids.size()), text.data(), len,
                                        &len),
                            "detokenize"))
    return std::move(e);
  return text;
}

llvm::Expected<std::string> LibraryText::piece(int32_t id) const {
  char buf[256];
  int64_t len = 0;
  int status = piece_(model, id, buf, sizeof buf, &len);
  if (status == HYBRIDC_ERR_CAPACITY) {
    std::string big(size_t(len), '\0');
    if (llvm::Error e = check(piece_(model, id, big.data(), len, &len), "token_piece"))
      return std::move(e);
    return big;
  }
  if (llvm::Error e = check(status, "token_piece"))
    return std::move(e);
  return std::string(buf, size_t(len));
}

int32_t LibraryText::bos() const { return bos_(model); }
int32_t LibraryText::eos() const { return eos_(model); }

llvm::Expected<std::unique_ptr<LibrarySampler>>
LibraryText::sampler(const SamplerSettings &s) const {
  void *handle = nullptr;
  if (llvm::Error e = check(samplerCreate_(model, &s, &handle), "sampler_create"))
    return std::move(e);
  return std::unique_ptr<LibrarySampler>(new LibrarySampler(*this, handle));
}

LibrarySampler::~LibrarySampler() { text.samplerFree_(handle); }

llvm::Expected<int32_t> LibrarySampler::sample(const float *logits) {
  int32_t token = -1;
  if (llvm::Error e = text.check(text.samplerSample_(handle, logits, &token), "sampler_sample"))
    return std::move(e);
  return token;
}

llvm::Error LibrarySampler::accept(llvm::ArrayRef<int32_t> tokens) {
  return text.check(text.samplerAccept_(handle, tokens.data(), int64_t(tokens.size())),
                    "sampler_accept");
}

size_t hybridc::unfinishedUtf8Tail(llvm::StringRef text) {
  // Look back at most 3 bytes for the lead byte of the last character.
  const size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const unsigned char lead = static_cast<unsigned char>(text[n - back]);
    if ((lead & 0xC0) == 0x80)
      continue; // a continuation byte: the lead is further back
    size_t need = lead >= 0xF0 && lead <= 0xF4   ? 4
                  : lead >= 0xE0 && lead <= 0xEF ? 3
                  : lead >= 0xC2 && lead <= 0xDF ? 2
                                                 : 1;
    if (back >= need)
      return 0; // complete (or ill-formed beyond repair)
    // The continuation bytes so far must be ones that can lead somewhere
    // (the bounds after E0, ED, F0 and F4).
    if (back >= 2) {
      const unsigned char second = static_cast<unsigned char>(text[n - back + 1]);
      const unsigned char lo = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
      const unsigned char hi = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
      if (second < lo || second > hi)
        return 0;
    }
    return back;
  }
  return 0;
}
