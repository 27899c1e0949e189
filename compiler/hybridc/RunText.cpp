//===- RunText.cpp - `hybridc run OUT_DIR --prompt "text"` ----------------===//
//
// Text in, text out through a compiled library, as a C program would do it:
// <name>_tokenize the prompt, prefill, then for each new token
// <name>_sampler_sample, <name>_token_piece and <name>_decode. A token may
// end in the middle of a UTF-8 character, so the bytes of an unfinished
// character wait for the next piece; whenever the text so far ends on a
// character boundary, the waiting tokens are printed through
// <name>_detokenize, which also turns ill-formed bytes into U+FFFD exactly as
// decoding the whole text at once would.
//
//===----------------------------------------------------------------------===//
#include "RunText.h"
#include "hybridc/Support/Error.h"

#include "llvm/Support/raw_ostream.h"

using namespace hybridc;

llvm::Error hybridc::runPrompt(ModelLibrary &model, const std::string &prompt, int64_t generate,
                               const SamplerSettings &sampling) {
  llvm::Expected<std::unique_ptr<LibraryText>> text =
      LibraryText::bind(model.library(), model.modelHandle());
  if (!text)
    return text.takeError();
  llvm::Expected<std::vector<int32_t>> ids =
      (*text)->tokenize(prompt, kTokenizeAddSpecial | kTokenizeParseSpecial);
  if (!ids)
    return ids.takeError();
  if (ids->empty())
    return makeError("--prompt: the prompt gives no tokens (it is empty, or the tokenizer drops all of it)");
  std::vector<float> logits(static_cast<size_t>(model.vocab()));
  if (llvm::Error e = model.prefill(ids->data(), int64_t(ids->size()), logits.data(), false))
    return e;
  llvm::Expected<std::unique_ptr<LibrarySampler>> sampler = (*text)->sampler(sampling);
  if (!sampler)
    return sampler.takeError();
  if (llvm::Error e = (*sampler)->accept(*ids))
    return e;

  const int32_t eos = (*text)->eos();
  std::vector<int32_t> generated, waiting;
  std::string waitingBytes;
  auto flush = [&]() -> llvm::Error {
    llvm::Expected<std::string> out = (*text)->detokenize(waiting);
    if (!out)
      return out.takeError();
    llvm::outs() << *out;
    llvm::outs().flush(); // stream: show the text as soon as it exists
    waiting.clear();
    waitingBytes.clear();
    return llvm::Error::success();
  };
  bool stopped = false;
  for (int64_t i = 0; i < generate; ++i) {
    llvm::Expected<int32_t> next = (*sampler)->sample(logits.data());
    if (!next)
      return next.takeError();
    if (*next == eos) {
      stopped = true;
      break;
    }
    generated.push_back(*next);
    llvm::Expected<std::string> piece = (*text)->piece(*next);
    if (!piece)
      return piece.takeError();
    waiting.push_back(*next);
    waitingBytes += *piece;
    if (unfinishedUtf8Tail(waitingBytes) == 0)
      if (llvm::Error e = flush())
        return e;
    // Every token shown goes into the session, as with --tokens, so a
    // --save-state after it holds the whole text.
    if (llvm::Error e = model.decode(*next, logits.data()))
      return e;
  }
  if (!waiting.empty()) // an unfinished character at the end: U+FFFD
    if (llvm::Error e = flush())
      return e;
  llvm::outs() << "\n";
  llvm::outs().flush();
  llvm::errs() << "hybridc run: prompt " << ids->size() << " tokens, generated "
               << generated.size() << (stopped ? " (stopped at the end-of-text token)" : "")
               << ":";
  for (int32_t t : generated)
    llvm::errs() << " " << t;
  llvm::errs() << "\n";
  return llvm::Error::success();
}
