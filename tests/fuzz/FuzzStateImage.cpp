//===- FuzzStateImage.cpp - a session state image (session_load) ----------===//
// The toy model of tests/runtime with a session after a few tokens: a load
// that fails must leave it exactly as it was (its own image unchanged), and
// one that succeeds must give a session that saves, decodes and truncates.
#include "ToyModel.h"

#include <cstdlib>
#include <vector>

namespace {

hybridc_session *session = nullptr;
std::vector<uint8_t> before;

std::vector<uint8_t> image(const hybridc_session *s) {
  std::vector<uint8_t> bytes(static_cast<size_t>(hybridc_rt_session_save_size(s)));
  int64_t written = 0;
  if (hybridc_rt_session_save(s, bytes.data(), static_cast<int64_t>(bytes.size()), &written) !=
      HYBRIDC_OK)
    std::abort();
  bytes.resize(static_cast<size_t>(written));
  return bytes;
}

void prepare() {
  if (session)
    hybridc_rt_session_free(session);
  static hybridc_model *model = [] {
    hybridc_model *m = nullptr;
    if (hybridc_rt_model_open(toy::file_desc(), toy::write_weights("fuzz-state").c_str(), &m) !=
        HYBRIDC_OK)
      std::abort();
    return m;
  }();
  if (hybridc_rt_session_create(model, &session) != HYBRIDC_OK ||
      hybridc_rt_session_set_checkpoint_interval(session, 2) != HYBRIDC_OK)
    std::abort();
  const int32_t tokens[5] = {3, 1, 4, 1, 5};
  if (hybridc_rt_prefill(session, tokens, 5, nullptr, HYBRIDC_LOGITS_LAST) != HYBRIDC_OK)
    std::abort();
  before = image(session);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!session)
    prepare();
  if (hybridc_rt_session_load(session, data, static_cast<int64_t>(size)) != HYBRIDC_OK) {
    if (image(session) != before)
      std::abort(); // a failed load changed the session
    return 0;
  }
  // A loaded image: the session must be usable, then start over.
  (void)image(session);
  float logits[toy::kVocab];
  (void)hybridc_rt_decode(session, 2, logits);
  (void)hybridc_rt_session_truncate(session, 1);
  prepare();
  return 0;
}
