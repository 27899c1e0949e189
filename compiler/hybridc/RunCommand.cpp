//===- RunCommand.cpp - `hybridc run OUT_DIR --tokens ...` ----------------===//
//
// Streams tokens through a compiled library: positions before --decode-from
// go through prefill (in calls of --chunk tokens), the rest one at a time
// through decode; then --generate greedily extends the sequence (or with
// the library's sampler, given --temperature, --top-k, ...).
// --prompt "text" goes through the library's tokenizer instead and streams
// the continuation as text (RunText.cpp).
// --load-state starts from a saved session instead of an empty one, and
// --save-state writes the session as it is at the end.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "OptionChecks.h"
#include "RunText.h"
#include "SamplingOptions.h"
#include "hybridc/Support/Error.h"
#include "hybridc/Run/LibraryText.h"
#include "hybridc/Run/ModelLibrary.h"
#include "hybridc/Run/TokenList.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <optional>

using namespace hybridc;

namespace {

struct RunOptions {
  std::string outDir;
  // As text, split here: CLI11 reads "--tokens ''" as token 0 and drops
  // the empty entry of "1,,2"; both are mistakes to report.
  std::optional<std::string> tokens;
  std::string tokensFile;
  int64_t chunk = 0;        // 0: the whole prefill part in one call
  int64_t decodeFrom = -1;  // -1: no decode for the given tokens
  std::string logitsOut;
  int32_t threads = 0;      // 0: the library's default
  int64_t generate = 0;
  std::string loadState, saveState;
  std::optional<std::string> prompt;
  SamplingOptions sampling; // none given: greedy (argmax), as without a sampler
};

llvm::Expected<std::vector<int32_t>> readTokens(const RunOptions &o) {
  std::vector<int32_t> out;
  if (o.tokens) {
    llvm::Expected<std::vector<int32_t>> list = parseTokenList(*o.tokens);
    if (!list)
      return list.takeError();
    out = std::move(*list);
  }
  if (!o.tokensFile.empty()) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
        llvm::MemoryBuffer::getFile(o.tokensFile, /*IsText=*/true);
    if (!buf)
      return makeError(o.tokensFile + ": cannot read: " + buf.getError().message());
    llvm::Expected<std::vector<int32_t>> file = parseTokenText((*buf)->getBuffer(), o.tokensFile);
    if (!file)
      return file.takeError();
    out.insert(out.end(), file->begin(), file->end());
  }
  if (out.empty())
    return makeError("no tokens: give --tokens 1,2,3 or --tokens-file FILE");
  return out;
}

int32_t argmax(const float *row, int64_t n) {
  return static_cast<int32_t>(std::max_element(row, row + n) - row);
}

/// --prompt: text in, text out.
llvm::Error runText(const RunOptions &o) {
  if (o.chunk || o.decodeFrom >= 0 || !o.logitsOut.empty())
    return makeError("--prompt takes no --chunk, --decode-from or --logits-out (give token ids "
                     "with --tokens for those)");
  llvm::Expected<std::unique_ptr<ModelLibrary>> lib = ModelLibrary::open(o.outDir, o.threads);
  if (!lib)
    return lib.takeError();
  ModelLibrary &m = **lib;
  if (!o.loadState.empty())
    if (llvm::Error e = m.loadState(o.loadState))
      return e;
  if (llvm::Error e = runPrompt(m, *o.prompt, o.generate, o.sampling.settings()))
    return e;
  if (!o.saveState.empty())
    return m.saveState(o.saveState);
  return llvm::Error::success();
}

llvm::Error run(const RunOptions &o) {
  if (o.prompt)
    return runText(o);
  llvm::Expected<std::vector<int32_t>> tokens = readTokens(o);
  if (!tokens)
    return tokens.takeError();
  const int64_t n = static_cast<int64_t>(tokens->size());
  if (o.chunk < 0)
    return makeError("--chunk must be positive");
  if (o.decodeFrom > n)
    return makeError("--decode-from " + std::to_string(o.decodeFrom) + " is past the " +
                     std::to_string(n) + " tokens given");
  llvm::Expected<std::unique_ptr<ModelLibrary>> lib = ModelLibrary::open(o.outDir, o.threads);
  if (!lib)
    return lib.takeError();
  ModelLibrary &m = **lib;
  if (!o.loadState.empty()) {
    if (llvm::Error e = m.loadState(o.loadState))
      return e;
    llvm::outs() << "loaded " << o.loadState << ": " << m.position() << " tokens\n";
  }
  const int64_t V = m.vocab();
  const bool keepAll = !o.logitsOut.empty();
  std::vector<float> logits(static_cast<size_t>(keepAll ? n : 1) * V);
  auto row = [&](int64_t pos) { return logits.data() + (keepAll ? pos * V : 0); };

  const int64_t prefillEnd = o.decodeFrom < 0 ? n : o.decodeFrom;
  const int64_t chunk = o.chunk > 0 ? o.chunk : std::max<int64_t>(prefillEnd, 1);
  int64_t prefillCalls = 0, decodeCalls = 0;
  for (int64_t pos = 0; pos < prefillEnd; pos += chunk) {
    int64_t len = std::min(chunk, prefillEnd - pos);
    float *dest = keepAll ? row(pos) : (pos + len == n ? row(0) : nullptr);
    if (llvm::Error e = m.prefill(tokens->data() + pos, len, dest, keepAll))
      return e;
    ++prefillCalls;
  }
  for (int64_t pos = prefillEnd; pos < n; ++pos) {
    if (llvm::Error e = m.decode((*tokens)[pos], row(pos)))
      return e;
    ++decodeCalls;
  }
  llvm::outs() << "fed " << n << " tokens (" << prefillCalls << " prefill calls, "
               << decodeCalls << " decode calls); next-token argmax "
               << argmax(row(n - 1), V) << "\n";

  if (keepAll) {
    std::error_code ec;
    llvm::raw_fd_ostream out(o.logitsOut, ec, llvm::sys::fs::OF_None);
    if (ec)
      return makeError(o.logitsOut + ": " + ec.message());
    out.write(reinterpret_cast<const char *>(logits.data()), logits.size() * sizeof(float));
    llvm::outs() << "wrote logits [" << n << "][" << V << "] float32 to " << o.logitsOut
                 << "\n";
  }
  if (o.generate > 0) {
    std::vector<float> next(row(n - 1), row(n - 1) + V);
    // The library's sampler when asked for; argmax otherwise (the same
    // tokens as temperature 0).
    std::unique_ptr<LibraryText> text;
    std::unique_ptr<LibrarySampler> sampler;
    if (o.sampling.given()) {
      llvm::Expected<std::unique_ptr<LibraryText>> t =
          LibraryText::bind(m.library(), m.modelHandle());
      if (!t)
        return t.takeError();
      text = std::move(*t);
      llvm::Expected<std::unique_ptr<LibrarySampler>> s = text->sampler(o.sampling.settings());
      if (!s)
        return s.takeError();
      sampler = std::move(*s);
      if (llvm::Error e = sampler->accept(*tokens))
        return e;
    }
    llvm::outs() << "generated:";
    for (int64_t i = 0; i < o.generate; ++i) {
      int32_t token = argmax(next.data(), V);
      if (sampler) {
        llvm::Expected<int32_t> s = sampler->sample(next.data());
        if (!s)
          return s.takeError();
        token = *s;
      }
      llvm::outs() << " " << token;
      if (llvm::Error e = m.decode(token, next.data()))
        return e;
    }
    llvm::outs() << "\n";
  }
  if (!o.saveState.empty()) {
    if (llvm::Error e = m.saveState(o.saveState))
      return e;
    llvm::outs() << "saved " << m.position() << " tokens to " << o.saveState << "\n";
  }
  return llvm::Error::success();
}

} // namespace

void hybridc::addRunCommand(CLI::App &app, int &exitCode) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App *cmd = app.add_subcommand(
      "run", "Stream tokens through a compiled model (prefill, then decode) and "
             "optionally write every position's logits or generate greedily");
  cmd->add_option("out_dir", opts->outDir, "Output folder of `hybridc compile`")->required();
  auto *tokens = cmd->add_option("--tokens", opts->tokens, "Token ids, e.g. 1,2,3");
  auto *file = cmd->add_option("--tokens-file", opts->tokensFile,
                               "File of whitespace-separated token ids");
  tokens->excludes(file);
  auto *prompt = cmd->add_option(
      "--prompt", opts->prompt,
      "Text, tokenized by the library's tokenizer (its special tokens added and parsed); "
      "the --generate continuation is streamed as text, up to the end-of-text token");
  prompt->excludes(tokens)->excludes(file);
  opts->sampling.addTo(cmd);
  cmd->add_option("--chunk", opts->chunk,
                  "Prefill in calls of at most N tokens (default: one call)");
  cmd->add_option("--decode-from", opts->decodeFrom,
                  "Feed positions K.. one at a time with decode");
  cmd->add_option("--logits-out", opts->logitsOut,
                  "Write every position's logits, raw little-endian float32 [n][vocab]");
  cmd->add_option("--threads", opts->threads, "Threads for this session")
      ->check(wholeNumber("the thread count", 1, INT32_MAX));
  cmd->add_option("--load-state", opts->loadState,
                  "Start from a session saved by --save-state (same model) instead of an "
                  "empty one; the tokens continue it");
  cmd->add_option("--save-state", opts->saveState,
                  "At the end, write the session (position, recurrent state, KV rows, token "
                  "history) to this file");
  cmd->add_option("--generate", opts->generate, "Then generate M tokens (greedily unless sampling options are given)")
      ->check(wholeNumber("the tokens to generate", 0));
  cmd->callback([opts, &exitCode] {
    exitCode = 0;
    if (llvm::Error e = run(*opts)) {
      reportError(std::move(e));
      exitCode = 1;
    }
  });
}
