//===- BenchTokenize.cpp - `hybridc bench TOKENIZER --tokenize FILE` ------===//
//
// The tokenizer's speed on one thread: the whole file in one call, timed
// over repeated runs after a warm-up (at least 5 runs and 1 s). MB/s counts
// the input's bytes (10^6 per MB). A library's tokenizer is measured through
// its own <name>_tokenize, so the figure is what a program gets; a
// tokenizer.json through the same engine in this process.
//
//===----------------------------------------------------------------------===//
#include "BenchTokenize.h"
#include "hybridc/Run/LibraryText.h"
#include "hybridc/Run/TextTokenizer.h"
#include "hybridc/Support/Error.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>

using namespace hybridc;

namespace {

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

} // namespace

llvm::Error hybridc::benchTokenize(const std::string &tokenizer, const std::string &file,
                                   bool json) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
      llvm::MemoryBuffer::getFile(file, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return makeError(file + ": cannot read: " + buf.getError().message());
  const llvm::StringRef text = (*buf)->getBuffer();
  if (text.empty())
    return makeError(file + ": empty: nothing to tokenize");
  llvm::Expected<std::unique_ptr<TextTokenizer>> t = TextTokenizer::open(tokenizer);
  if (!t)
    return t.takeError();

  const int32_t flags = kTokenizeParseSpecial;
  llvm::Expected<std::vector<int32_t>> ids = (*t)->encode(text, flags); // warm-up
  if (!ids)
    return ids.takeError();
  if (ids->empty())
    return makeError(file + ": gives no tokens (the tokenizer drops all of it): nothing to "
                            "measure");
  std::vector<double> encodeTimes, decodeTimes;
  const auto start = std::chrono::steady_clock::now();
  while (encodeTimes.size() < 5 || seconds(start) < 1.0) {
    auto t0 = std::chrono::steady_clock::now();
    llvm::Expected<std::vector<int32_t>> again = (*t)->encode(text, flags);
    if (!again)
      return again.takeError();
    encodeTimes.push_back(seconds(t0));
    if (*again != *ids)
      return makeError("the tokenizer gave other ids on a second run");
  }
  std::string back;
  for (int run = 0; run < 5; ++run) {
    auto t0 = std::chrono::steady_clock::now();
    llvm::Expected<std::string> decoded = (*t)->decode(*ids);
    if (!decoded)
      return decoded.takeError();
    decodeTimes.push_back(seconds(t0));
    back = std::move(*decoded);
  }
  std::sort(encodeTimes.begin(), encodeTimes.end());
  std::sort(decodeTimes.begin(), decodeTimes.end());
  const double mb = text.size() / 1e6;
  const double best = mb / encodeTimes.front(), median = mb / encodeTimes[encodeTimes.size() / 2];
  const double tokensPerS = ids->size() / encodeTimes.front();
  const double decodeBest = back.size() / 1e6 / decodeTimes.front();
  const bool roundTrip = back == text;

  if (json) {
    llvm::json::Object result{{"tokenizer", (*t)->describe()},
                              {"file", file},
                              {"bytes", int64_t(text.size())},
                              {"tokens", int64_t(ids->size())},
                              {"runs", int64_t(encodeTimes.size())},
                              {"encode_mb_per_s_best", best},
                              {"encode_mb_per_s_median", median},
                              {"encode_tokens_per_s_best", tokensPerS},
                              {"decode_mb_per_s_best", decodeBest},
                              {"round_trip", roundTrip}};
    llvm::outs() << llvm::formatv("{0:2}", llvm::json::Value(std::move(result))) << "\n";
    return llvm::Error::success();
  }
  llvm::outs() << llvm::formatv(
      "{0}\n  {1}: {2} bytes -> {3} tokens ({4:f2} bytes/token), one thread\n"
      "  encode  {5,8:f1} MB/s best, {6:f1} MB/s median of {7} runs; {8:f0} tokens/s\n"
      "  decode  {9,8:f1} MB/s best of 5; decode(encode(file)) {10} the file\n",
      (*t)->describe(), file, text.size(), ids->size(), double(text.size()) / ids->size(), best,
      median, encodeTimes.size(), tokensPerS, decodeBest, roundTrip ? "is" : "is NOT");
  return llvm::Error::success();
}
