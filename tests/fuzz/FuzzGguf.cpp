//===- FuzzGguf.cpp - a GGUF file (header, metadata, tensors) -------------===//
// A file that opens as a checkpoint must hold every tensor its metadata's
// config requires; small ones are decoded (dequantization's block indexing).
#include "FuzzInput.h"

#include "hybridc/Model/Checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = hybridc::fuzz::writeInput("model.gguf", data, size);
  auto checkpoint = hybridc::Checkpoint::open(path);
  if (!checkpoint) {
    llvm::consumeError(checkpoint.takeError());
    return 0;
  }
  for (const hybridc::TensorView *t : (*checkpoint)->allTensors()) {
    hybridc::fuzz::touch(t->data, t->numBytes);
    if (t->numElements() <= 4096)
      (void)t->toFloat();
  }
  return 0;
}
