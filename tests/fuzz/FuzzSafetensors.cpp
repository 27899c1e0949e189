//===- FuzzSafetensors.cpp - a safetensors file's header ------------------===//
// Every tensor a valid header lists must lie inside the mapping.
#include "FuzzInput.h"

#include "hybridc/Model/Safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = hybridc::fuzz::writeInput("model.safetensors", data, size);
  auto file = hybridc::SafetensorsFile::open(path);
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  for (const hybridc::TensorView &t : (*file)->tensors()) {
    hybridc::fuzz::touch(t.data, t.numBytes);
    if (t.numElements() <= 4096)
      (void)t.toFloat();
  }
  return 0;
}
