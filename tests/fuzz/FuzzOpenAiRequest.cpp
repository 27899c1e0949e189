//===- FuzzOpenAiRequest.cpp - `hybridc serve`'s request bodies ----------===//
// Any body is refused with a 4xx naming what is wrong, or becomes a request
// whose every value the engine can take: token ids in the vocabulary, a
// generation length within the context, sampling values in their ranges,
// non-empty stop strings.
#include "hybridc/Serve/ApiError.h"
#include "hybridc/Serve/Requests.h"

#include <cmath>
#include <cstdlib>

using namespace hybridc::serve;

namespace {

void refused(llvm::Error e) {
  ApiError a = toApiError(std::move(e));
  if (a.status < 400 || a.status >= 500 || a.message.empty())
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef body(reinterpret_cast<const char *>(data), size);
  RequestLimits limits;
  limits.modelName = "m";
  limits.vocab = 1000;
  limits.maxContext = 4096;
  for (Endpoint endpoint : {Endpoint::Completion, Endpoint::ChatCompletion}) {
    llvm::Expected<GenerationRequest> r = parseGenerationRequest(body, endpoint, limits);
    if (!r) {
      refused(r.takeError());
      continue;
    }
    for (int32_t t : r->promptTokens)
      if (t < 0 || t >= limits.vocab)
        std::abort();
    if (r->maxTokens && (*r->maxTokens < 1 || *r->maxTokens > limits.maxContext))
      std::abort();
    const hybridc::SamplerSettings &s = r->sampling;
    if (!(s.temperature >= 0 && s.temperature <= 2) || !(s.topP > 0 && s.topP <= 1) ||
        !(s.minP >= 0 && s.minP <= 1) || !(s.repeatPenalty > 0) || s.topK < 0)
      std::abort();
    for (const std::string &stop : r->stop)
      if (stop.empty())
        std::abort();
    if (endpoint == Endpoint::ChatCompletion && !r->messages.isList())
      std::abort();
  }
  if (llvm::Expected<TokenizeRequest> t = parseTokenizeRequest(body); !t)
    refused(t.takeError());
  if (llvm::Expected<std::vector<int32_t>> d = parseDetokenizeRequest(body, limits); !d)
    refused(d.takeError());
  else
    for (int32_t t : *d)
      if (t < 0 || t >= limits.vocab)
        std::abort();
  if (llvm::Expected<std::string> f = parseSlotFileRequest(body); !f)
    refused(f.takeError());
  else if (f->empty() || f->find('/') != std::string::npos || (*f)[0] == '.')
    std::abort();
  return 0;
}
