//===- FuzzWeightsHeader.cpp - a weights file at model open ---------------===//
// The runtime's open of a weights file (the toy model of tests/runtime):
// header, sizes, hash, and with VERIFY_WEIGHTS the payload hash. A file
// that opens must serve a session.
#include "FuzzInput.h"
#include "ToyModel.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = hybridc::fuzz::writeInput("toy.weights", data, size);
  for (int32_t flags : {0, static_cast<int32_t>(HYBRIDC_OPEN_VERIFY_WEIGHTS)}) {
    hybridc_model *model = nullptr;
    if (hybridc_rt_model_open_ex(toy::file_desc(), path.c_str(), flags, &model) != HYBRIDC_OK) {
      if (model)
        std::abort(); // a failed open must leave *out NULL
      continue;
    }
    hybridc_session *session = nullptr;
    if (hybridc_rt_session_create(model, &session) == HYBRIDC_OK) {
      const int32_t tokens[2] = {1, 2};
      float logits[toy::kVocab];
      (void)hybridc_rt_prefill(session, tokens, 2, logits, HYBRIDC_LOGITS_LAST);
      hybridc_rt_session_free(session);
    }
    hybridc_rt_model_close(model);
  }
  return 0;
}
