//===- FuzzShardIndex.cpp - model.safetensors.index.json ------------------===//
// A folder with the golden tiny model's config.json and its weights as the
// one shard; the input is the shard index. A checkpoint that opens must
// hold every tensor its config requires, inside its file.
#include "FuzzInput.h"

#include "hybridc/Model/Checkpoint.h"

#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace {
std::string folder;
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  folder = hybridc::fuzz::scratchDir("shards");
  const std::string golden = HYBRIDC_FUZZ_DATA_DIR "/golden/tiny-seed1";
  std::ifstream in(golden + "/config.json", std::ios::binary);
  std::ofstream out(folder + "/config.json", std::ios::binary);
  out << in.rdbuf();
  ::unlink((folder + "/model-00001-of-00001.safetensors").c_str());
  if (::symlink((golden + "/model.safetensors").c_str(),
                (folder + "/model-00001-of-00001.safetensors").c_str()) != 0)
    std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  {
    std::ofstream index(folder + "/model.safetensors.index.json",
                        std::ios::binary | std::ios::trunc);
    index.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  }
  auto checkpoint = hybridc::Checkpoint::open(folder);
  if (!checkpoint) {
    llvm::consumeError(checkpoint.takeError());
    return 0;
  }
  for (const hybridc::TensorSpec &spec : hybridc::expectedTensors((*checkpoint)->config())) {
    const hybridc::TensorView &t = (*checkpoint)->get(spec.name);
    hybridc::fuzz::touch(t.data, t.numBytes);
  }
  return 0;
}
