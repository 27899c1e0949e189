//===- FuzzConfig.cpp - config.json ---------------------------------------===//
// A config that parses must give the model's tensor list and its work.
#include "hybridc/Model/Checkpoint.h"
#include "hybridc/Model/ModelConfig.h"
#include "hybridc/Model/ModelWork.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<hybridc::ModelConfig> config = hybridc::parseModelConfig(text, "config.json");
  if (!config) {
    llvm::consumeError(config.takeError());
    return 0;
  }
  (void)hybridc::expectedTensors(*config);
  for (const char *dtype : {"f32", "bf16", "int8", "int4"}) {
    llvm::Expected<hybridc::ModelWork> work = hybridc::computeModelWork(*config, dtype);
    if (!work)
      llvm::consumeError(work.takeError());
    else
      (void)work->batchDecodeBytes(8, 100);
  }
  return 0;
}
