//===- SampleTokenizer.h - a small byte-level BPE tokenizer for samples ---===//
//
// The sample models get a tokenizer of their own, so that a library compiled
// from them speaks text: byte-level BPE in the layout of Granite 4.0's
// tokenizer.json (the cl100k pre-tokenizer pattern, then ByteLevel), with
// merges learned from a built-in English text and a vocabulary that fits the
// model's vocab_size: the 256 bytes, the merges, and four added tokens at
// the top ids.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SAMPLES_SAMPLETOKENIZER_H
#define HYBRIDC_SAMPLES_SAMPLETOKENIZER_H

#include <cstdint>
#include <string>

namespace hybridc::sample {

struct SampleTokenizerFiles {
  std::string tokenizerJson, tokenizerConfigJson;
  int64_t bosId = 0, eosId = 0;
  int64_t merges = 0; // learned
};

/// The tokenizer for a model of `vocabSize` ids (at least 260: the bytes
/// and the added tokens). The same size gives the same bytes.
SampleTokenizerFiles makeSampleTokenizer(int64_t vocabSize);

} // namespace hybridc::sample

#endif // HYBRIDC_SAMPLES_SAMPLETOKENIZER_H
