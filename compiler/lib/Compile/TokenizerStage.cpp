//===- TokenizerStage.cpp - the model's tokenizer, into the library -------===//
#include "TokenizerStage.h"
#include "GlueWriter.h"
#include "Toolchain.h"

#include "hybridc/Tokenizer/Tokenizer.h"
#include "hybridc/Support/Error.h"
#include "hybridc/runtime_abi.h"
#include "hybridc/text_abi.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace hybridc;

llvm::Expected<std::optional<TokenizerEmbedding>>
hybridc::embedTokenizer(const std::string &modelPath, int64_t vocabSize,
                        const codegen::TargetSpec &target, const std::string &scratchDir,
                        const std::string &chatTemplateFile) {
  llvm::Expected<std::optional<TokenizerSpec>> spec = readTokenizer(modelPath);
  if (!spec)
    return spec.takeError();
  if (!*spec) {
    if (!chatTemplateFile.empty())
      return makeError("--chat-template " + chatTemplateFile + ": the model has no tokenizer "
                       "(no tokenizer.json or tokenizer.ggml.model), and a chat template is "
                       "stored with it");
    return std::nullopt;
  }
  if (!chatTemplateFile.empty()) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> text =
        llvm::MemoryBuffer::getFile(chatTemplateFile);
    if (!text)
      return makeError("--chat-template " + chatTemplateFile + ": " + text.getError().message());
    std::vector<TokenizerSpec::ChatTemplate> &templates = (*spec)->chatTemplates;
    llvm::erase_if(templates, [](const auto &t) { return t.name == "default"; });
    templates.insert(templates.begin(), {"default", (*text)->getBuffer().str()});
    if (llvm::Error e = checkChatTemplates(templates, "--chat-template " + chatTemplateFile))
      return std::move(e);
  }
  // An id past the model's vocabulary would come out of tokenize only to be
  // refused by prefill (and such an EOS could never be sampled).
  const std::vector<TokenizerSpec::Token> &tokens = (*spec)->tokens;
  for (int64_t id = static_cast<int64_t>(tokens.size()) - 1; id >= vocabSize; --id)
    if (tokens[id].present)
      return makeError((*spec)->source + ": token " + std::to_string(id) + " ('" +
                       tokens[id].piece + "') is past the model's vocabulary of " +
                       std::to_string(vocabSize) +
                       " (config.json vocab_size): the tokenizer is not this model's "
                       "(--no-tokenizer compiles the model without it)");
  std::vector<uint8_t> blob = serializeTokenizer(**spec);

  // The runtime's own checks, here, on this machine: the library's open
  // would fail the same way.
  hybridc_rt_tokenizer *check = nullptr;
  if (hybridc_rt_tokenizer_open(blob.data(), blob.size(), static_cast<int32_t>(vocabSize),
                                &check) != HYBRIDC_OK)
    return makeError((*spec)->source + ": the runtime refuses the tokenizer compiled from it: " +
                     hybridc_rt_last_error());
  hybridc_rt_tokenizer_free(check);

  llvm::SmallString<256> blobPath(scratchDir), asmPath(scratchDir), object(scratchDir);
  llvm::sys::path::append(blobPath, "tokenizer.bin");
  llvm::sys::path::append(asmPath, "tokenizer.S");
  llvm::sys::path::append(object, "tokenizer.o");
  for (auto [path, bytes] : {std::pair{std::string(blobPath),
                                       std::string(blob.begin(), blob.end())},
                             std::pair{std::string(asmPath),
                                       generateEmbeddedFile("hybridc_embedded_tokenizer",
                                                            "the model's tokenizer",
                                                            std::string(blobPath))}}) {
    std::error_code ec;
    llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
    if (ec)
      return makeError(path + ": " + ec.message());
    out << bytes;
    out.close();
    if (out.has_error()) // a short blob must not be linked after the check passed
      return makeError(path + ": " + out.error().message());
  }
  if (llvm::Error e = runTool(target.cc, {"-c", std::string(asmPath), "-o", std::string(object)},
                              scratchDir))
    return std::move(e);
  TokenizerEmbedding embedding{std::string(object), blob.size(), (*spec)->describe(),
                               (*spec)->chatTemplates, "", ""};
  if ((*spec)->bos >= 0)
    embedding.bosToken = (*spec)->tokens[(*spec)->bos].piece;
  if ((*spec)->eos >= 0)
    embedding.eosToken = (*spec)->tokens[(*spec)->eos].piece;
  return embedding;
}
