//===- Safetensors.h - memory-mapped safetensors files ----------*- C++ -*-===//
//
// A safetensors file is an 8-byte little-endian header length, a JSON header
// mapping tensor names to {dtype, shape, data_offsets}, then the raw data.
// The file is mapped read-only; tensors point into the mapping, never copied.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_MODEL_SAFETENSORS_H
#define HYBRIDC_MODEL_SAFETENSORS_H

#include "hybridc/Model/Tensor.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hybridc {

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
