//===- FuzzTokenizerJson.cpp - tokenizer.json -----------------------------===//
// A tokenizer.json the reader accepts must make a blob the runtime accepts
// (the reader and the runtime check the same things), and that tokenizer
// must run; one it refuses must say why.
#include "FuzzInput.h"

#include "hybridc/Tokenizer/Tokenizer.h"
#include "hybridc/runtime_abi.h"
#include "hybridc/text_abi.h"

#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string path = hybridc::fuzz::writeInput("tokenizer.json", data, size);
  llvm::Expected<hybridc::TokenizerSpec> spec = hybridc::readTokenizerJson(path, "");
  if (!spec) {
    if (llvm::toString(spec.takeError()).empty())
      std::abort();
    return 0;
  }
  std::vector<uint8_t> blob = hybridc::serializeTokenizer(*spec);
  hybridc_rt_tokenizer *t = nullptr;
  if (hybridc_rt_tokenizer_open(blob.data(), blob.size(), 0, &t) != HYBRIDC_OK) {
    // Only a pattern PCRE2 refuses may get this far (the compile checks the
    // blob with the runtime for that reason).
    if (!std::strstr(hybridc_rt_last_error(), "PCRE2"))
      std::abort();
    return 0;
  }
  const char text[] = "Hello world, it's 2024!  <|end_of_text|> \xff caf\xc3\xa9";
  for (int32_t flags = 0; flags < 4; ++flags) {
    int32_t ids[256];
    int64_t n = 0;
    if (hybridc_rt_tokenizer_encode(t, text, -1, flags, ids, 256, &n) == HYBRIDC_OK) {
      char out[512];
      int64_t len = 0;
      hybridc_rt_tokenizer_decode(t, ids, n, out, sizeof out, &len);
    }
  }
  hybridc_rt_tokenizer_free(t);
  return 0;
}
