//===- FuzzTokenizerBlob.cpp - the tokenizer blob a library embeds --------===//
// The runtime checks a blob before it builds a tokenizer from it: one it
// refuses must say why, one it accepts must tokenize, decode and give
// pieces of anything without reading outside the blob or its tables.
#include "hybridc/runtime_abi.h"
#include "hybridc/text_abi.h"

#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A library's blob is 64-byte aligned; the runtime needs 4.
  std::vector<uint32_t> aligned((size + 3) / 4);
  if (size)
    std::memcpy(aligned.data(), data, size);
  const uint8_t *blob = reinterpret_cast<const uint8_t *>(aligned.data());
  hybridc_rt_tokenizer *t = nullptr;
  if (hybridc_rt_tokenizer_open(blob, size, 0, &t) != HYBRIDC_OK) {
    if (t || !*hybridc_rt_last_error())
      std::abort(); // refused: nothing built, and a reason given
    return 0;
  }
  static const char *const texts[] = {
      "Hello world, it's 2024!  \t\n<|end_of_text|> <|mask|>  <tool_call>x",
      "\xff\xfe broken \xe2\x82 \xed\xa0\x80 end\xf0\x9f",
      "na\xc3\xafve caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x99\x82     spaces",
      ""};
  for (const char *text : texts)
    for (int32_t flags = 0; flags < 4; ++flags) {
      int64_t n = 0;
      hybridc_rt_tokenizer_encode(t, text, -1, flags, nullptr, 0, &n);
      std::vector<int32_t> ids(static_cast<size_t>(n) + 1);
      if (hybridc_rt_tokenizer_encode(t, text, -1, flags, ids.data(), n, &n) != HYBRIDC_OK)
        continue;
      int64_t len = 0;
      hybridc_rt_tokenizer_decode(t, ids.data(), n, nullptr, 0, &len);
      std::vector<char> out(static_cast<size_t>(len) + 1);
      hybridc_rt_tokenizer_decode(t, ids.data(), n, out.data(), len, &len);
    }
  const int32_t size_ids = hybridc_rt_tokenizer_size(t);
  for (int32_t id = 0; id < size_ids && id < 600; ++id) {
    char piece[64];
    int64_t len = 0;
    hybridc_rt_tokenizer_piece(t, id, piece, sizeof piece, &len);
  }
  hybridc_rt_tokenizer_free(t);
  return 0;
}
