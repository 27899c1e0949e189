//===- Safetensors.h - memory-mapped safetensors files ----------*- C++ -*-===//
//
// A safetensors file is an 8-byte little-endian header length, a JSON header
// mapping tensor names to {dtype, shape, data_offsets}, then the raw data.
// The file is mapped read-only; tensors point into the mapping, never copied.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_MODEL_SAFETENSORS_H
#define HYBRIDC_MODEL_SAFETENSORS_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hybridc {

enum class DType { F32, BF16, F16 };

llvm::StringRef dtypeName(DType dtype);
size_t dtypeSize(DType dtype);

/// One tensor of a mapped file. `data` stays valid while the file is open.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  size_t numBytes = 0;
  std::string file; // the file it lives in, for messages
  bool mapped = false; // `data` points into a read-only file mapping

  int64_t numElements() const;
  /// Element `i` (row-major) converted to float.
  float at(int64_t i) const;
  /// All elements converted to float (a copy: for tests and small tensors).
  std::vector<float> toFloat() const;
  /// Lets the kernel take this tensor's pages out of the process (a later
  /// read maps them from the file again), so reading a checkpoint through
  /// once keeps a few tensors resident, not the whole file. Only for a view
  /// into a file mapping; any other view is left alone.
  void releasePages() const;
};

/// Largest JSON header accepted; real checkpoints use a few hundred KiB.
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

class SafetensorsFile {
public:
  /// Maps `path` and validates its header: size, JSON, dtypes, shapes, and
  /// that every tensor's byte range matches its shape, lies inside the file
  /// and overlaps no other tensor.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>> open(llvm::StringRef path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::string &path() const { return path_; }
  const std::vector<TensorView> &tensors() const { return tensors_; }
  const TensorView *find(llvm::StringRef name) const;

private:
  SafetensorsFile() = default;
  std::string path_;
  void *mapping_ = nullptr;
  size_t mappingSize_ = 0;
  std::vector<TensorView> tensors_;
  llvm::StringMap<size_t> index_;
};

} // namespace hybridc

#endif // HYBRIDC_MODEL_SAFETENSORS_H
