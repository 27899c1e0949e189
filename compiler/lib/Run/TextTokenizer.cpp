//===- TextTokenizer.cpp - a tokenizer for hybridc's own commands ---------===//
#include "hybridc/Run/TextTokenizer.h"
#include "hybridc/Tokenizer/Tokenizer.h"
#include "hybridc/Run/LibraryText.h"
#include "hybridc/Run/ModelLibrary.h"
#include "hybridc/Support/Error.h"
#include "hybridc/runtime_abi.h"
#include "hybridc/text_abi.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace hybridc;

namespace {

/// The runtime's engine on a blob compiled here.
class EngineTokenizer : public TextTokenizer {
public:
  static llvm::Expected<std::unique_ptr<TextTokenizer>> open(const TokenizerSpec &spec) {
    std::unique_ptr<EngineTokenizer> t(new EngineTokenizer());
    t->blob = serializeTokenizer(spec);
    t->summary = spec.describe();
    if (hybridc_rt_tokenizer_open(t->blob.data(), t->blob.size(), 0, &t->engine) != HYBRIDC_OK)
      return makeError(spec.source + ": the runtime refuses the tokenizer compiled from it: " +
                       hybridc_rt_last_error());
    return std::unique_ptr<TextTokenizer>(std::move(t));
  }
  ~EngineTokenizer() override { hybridc_rt_tokenizer_free(engine); }

  llvm::Expected<std::vector<int32_t>> encode(llvm::StringRef text, int32_t flags) const override {
    std::vector<int32_t> ids(text.size() + 16);
    int64_t n = 0;
    int status = hybridc_rt_tokenizer_encode(engine, text.data(), int64_t(text.size()), flags,
                                             ids.data(), int64_t(ids.size()), &n);
    if (status == HYBRIDC_ERR_CAPACITY) {
      ids.resize(size_t(n));
      status = hybridc_rt_tokenizer_encode(engine, text.data(), int64_t(text.size()), flags,
                                           ids.data(), int64_t(ids.size()), &n);
    }
    if (status != HYBRIDC_OK)
      return makeError(hybridc_rt_last_error());
    ids.resize(size_t(n));
    return ids;
  }

  llvm::Expected<std::string> decode(llvm::ArrayRef<int32_t> ids) const override {
    int64_t len = 0;
    int status = hybridc_rt_tokenizer_decode(engine, ids.data(), int64_t(ids.size()), nullptr, 0,
                                             &len);
    if (status == HYBRIDC_OK)
      return std::string();
    if (status != HYBRIDC_ERR_CAPACITY)
      return makeError(hybridc_rt_last_error());
    std::string text(size_t(len), '\0');
    if (hybridc_rt_tokenizer_decode(engine, ids.data(), int64_t(ids.size()), text.data(), len,
                                    &len) != HYBRIDC_OK)
      return makeError(hybridc_rt_last_error());
    return text;
  }

  std::string describe() const override { return summary; }

private:
  EngineTokenizer() = default;
  std::vector<uint8_t> blob; // outlives the engine, which reads it in place
  hybridc_rt_tokenizer *engine = nullptr;
  std::string summary;
};

/// A compiled library's own functions.
class LibraryTokenizer : public TextTokenizer {
public:
  static llvm::Expected<std::unique_ptr<TextTokenizer>> open(const std::string &outDir) {
    std::unique_ptr<LibraryTokenizer> t(new LibraryTokenizer());
    llvm::Expected<std::unique_ptr<ModelLibrary>> lib = ModelLibrary::open(outDir, 1);
    if (!lib)
      return lib.takeError();
    t->library = std::move(*lib);
    llvm::Expected<std::unique_ptr<LibraryText>> text =
        LibraryText::bind(t->library->library(), t->library->modelHandle());
    if (!text)
      return text.takeError();
    t->text = std::move(*text);
    return std::unique_ptr<TextTokenizer>(std::move(t));
  }

  llvm::Expected<std::vector<int32_t>> encode(llvm::StringRef s, int32_t flags) const override {
    return text->tokenize(s, flags);
  }
  llvm::Expected<std::string> decode(llvm::ArrayRef<int32_t> ids) const override {
    return text->detokenize(ids);
  }
  std::string describe() const override {
    return library->library().outDir() + "/" + library->manifest().library;
  }

private:
  LibraryTokenizer() = default;
  std::unique_ptr<ModelLibrary> library;
  std::unique_ptr<LibraryText> text;
};

} // namespace

llvm::Expected<std::unique_ptr<TextTokenizer>> TextTokenizer::open(const std::string &path) {
  if (!llvm::sys::fs::exists(path))
    return makeError(path + ": no such file or folder (expected a tokenizer.json, a model "
                            "folder, a .gguf file or an output folder of hybridc compile)");
  llvm::SmallString<256> manifest(path);
  llvm::sys::path::append(manifest, "hybridc-model.json");
  if (llvm::sys::fs::is_directory(path) && llvm::sys::fs::exists(manifest))
    return LibraryTokenizer::open(path);
  llvm::Expected<std::optional<TokenizerSpec>> spec = readTokenizer(path);
  if (!spec)
    return spec.takeError();
  if (!*spec)
    return makeError(path + ": no tokenizer here (no tokenizer.json in the folder, or no "
                            "tokenizer.ggml.model in the GGUF file)");
  return EngineTokenizer::open(**spec);
}
