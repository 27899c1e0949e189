//===- Tensor.h - a read-only view of one checkpoint tensor -----*- C++ -*-===//
//
// What the importer and the weight packer see of a tensor, whichever file
// format it came from: a name, a row-major shape, an element type and the
// bytes (usually inside a read-only file mapping), or, for a tensor a
// loader builds from others (a GGUF expert matrix assembled from its gate
// and up halves, A_log from GGUF's -exp(A_log)), a function that writes its
// values. The block-quantized types are those of GGUF files: blocks of 32
// or 256 elements along the row, each with its own scales (docs/formats.md).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_MODEL_TENSOR_H
#define HYBRIDC_MODEL_TENSOR_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hybridc {

enum class DType { F32, BF16, F16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K };

llvm::StringRef dtypeName(DType dtype);

/// A run of elements stored together: one element for F32/BF16/F16, one
/// quantization block (with its scales) for the Q types.
struct DTypeBlock {
  int64_t elements;
  int64_t bytes;
};
DTypeBlock dtypeBlock(DType dtype);
/// Whether the type stores quantized blocks (dequantized exactly on read).
inline bool isQuantized(DType dtype) { return dtypeBlock(dtype).elements > 1; }

/// Bytes of `elements` values of `dtype`; -1 when `elements` is not a whole
/// number of blocks or the size overflows.
int64_t dtypeBytes(DType dtype, int64_t elements);

/// Writes the `elements` values stored at `src` (whole blocks) as floats.
void decodeElements(DType dtype, const uint8_t *src, int64_t elements, float *out);

float f16ToFloat(uint16_t bits);
float bf16ToFloat(uint16_t bits);

/// One tensor. `data` stays valid while its file is open.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  size_t numBytes = 0;
  std::string file;    // the file it lives in, for messages
  bool mapped = false; // `data` points into a read-only file mapping
  /// Set for a tensor built from others: writes its numElements() floats
  /// (then `data` is null and `dtype` F32); `sources` are those others.
  std::function<void(float *)> derive;
  std::vector<const TensorView *> sources;

  int64_t numElements() const;
  /// Writes all elements as floats into `out` (numElements() of them),
  /// dequantizing or deriving as needed.
  void decode(float *out) const;
  /// All elements converted to float (a copy: for tests and small tensors).
  std::vector<float> toFloat() const;
  /// Element `i` (row-major); decodes its whole block, or for a derived
  /// tensor the whole tensor: for tests and tiny tensors.
  float at(int64_t i) const;
  /// Lets the kernel take this tensor's pages out of the process (a later
  /// read maps them from the file again), so reading a checkpoint through
  /// once keeps a few tensors resident, not the whole file. For a view into
  /// a file mapping, or a derived tensor's sources; any other is left alone.
  void releasePages() const;
};

} // namespace hybridc

#endif // HYBRIDC_MODEL_TENSOR_H
