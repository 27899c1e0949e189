//===- WriteSeeds.cpp - seed inputs the runtime's fuzz targets start from ===//
//
// hybridc-fuzz-write-seeds DIR writes DIR/weights_header/toy.weights (a
// valid weights file of the toy model), DIR/state_image/*.state (images
// of toy sessions: empty, after tokens, with checkpoints) and
// DIR/tokenizer_blob/*.blob (the blobs of the tokenizer_json seeds), the
// files committed under tests/fuzz/corpus/. Rerun it when a format changes.
//
//===----------------------------------------------------------------------===//
#include "ToyModel.h"

#include "hybridc/Tokenizer/Tokenizer.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

int fail(const char *what) {
  std::fprintf(stderr, "write-seeds: %s: %s\n", what, hybridc_rt_last_error());
  return 1;
}

bool save(const hybridc_session *s, const std::string &path) {
  std::vector<uint8_t> bytes(static_cast<size_t>(hybridc_rt_session_save_size(s)));
  int64_t written = 0;
  if (hybridc_rt_session_save(s, bytes.data(), static_cast<int64_t>(bytes.size()), &written) !=
      HYBRIDC_OK)
    return false;
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()),
                                              written);
  return true;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  ::mkdir((dir + "/weights_header").c_str(), 0755);
  ::mkdir((dir + "/state_image").c_str(), 0755);
  const std::string weights = toy::write_weights("seed");
  {
    std::ifstream in(weights, std::ios::binary);
    std::ofstream(dir + "/weights_header/toy.weights", std::ios::binary) << in.rdbuf();
  }
  hybridc_model *model = nullptr;
  hybridc_session *session = nullptr;
  if (hybridc_rt_model_open(toy::file_desc(), weights.c_str(), &model) != HYBRIDC_OK ||
      hybridc_rt_session_create(model, &session) != HYBRIDC_OK)
    return fail("open");
  if (!save(session, dir + "/state_image/empty.state"))
    return fail("save empty");
  const int32_t tokens[7] = {3, 1, 4, 1, 5, 9, 2};
  if (hybridc_rt_prefill(session, tokens, 3, nullptr, HYBRIDC_LOGITS_LAST) != HYBRIDC_OK ||
      !save(session, dir + "/state_image/three-tokens.state"))
    return fail("three tokens");
  if (hybridc_rt_session_set_checkpoint_interval(session, 2) != HYBRIDC_OK ||
      hybridc_rt_prefill(session, tokens + 3, 4, nullptr, HYBRIDC_LOGITS_LAST) != HYBRIDC_OK ||
      !save(session, dir + "/state_image/checkpoints.state"))
    return fail("checkpoints");
  hybridc_rt_session_free(session);
  hybridc_rt_model_close(model);

  ::mkdir((dir + "/tokenizer_blob").c_str(), 0755);
  for (const char *seed : {"sample", "gpt2style"}) {
    llvm::Expected<hybridc::TokenizerSpec> spec =
        hybridc::readTokenizerJson(dir + "/tokenizer_json/" + seed + ".json", "");
    if (!spec) {
      std::fprintf(stderr, "write-seeds: %s\n", llvm::toString(spec.takeError()).c_str());
      return 1;
    }
    std::vector<uint8_t> blob = hybridc::serializeTokenizer(*spec);
    std::ofstream(dir + "/tokenizer_blob/" + seed + ".blob", std::ios::binary)
        .write(reinterpret_cast<const char *>(blob.data()), std::streamsize(blob.size()));
  }
  return 0;
}
