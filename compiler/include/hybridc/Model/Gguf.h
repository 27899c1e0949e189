//===- Gguf.h - memory-mapped GGUF v3 files ---------------------*- C++ -*-===//
//
// A GGUF file (docs/formats.md) is a header of typed key/value metadata and
// tensor descriptions, then the tensors' data, aligned. The file is mapped
// read-only; tensors are views into the mapping. Everything in the header
// is untrusted: every count, length, offset, size and alignment is checked
// against the file before it is used, and errors name the file and the key
// or tensor.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_MODEL_GGUF_H
#define HYBRIDC_MODEL_GGUF_H

#include "hybridc/Model/Tensor.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hybridc {

/// GGUF metadata value types (their codes in the file).
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
  String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12
};

/// One metadata value. Scalars are held decoded; an array keeps its element
/// type and count, its fixed-size elements as a pointer into the mapping and
/// its strings as views into the mapping (arrays of arrays are rejected).
struct GgufValue {
  GgufType type = GgufType::U8;
  uint64_t u = 0;    // unsigned integers and bool
  int64_t i = 0;     // signed integers
  double f = 0;      // floats
  llvm::StringRef s; // a string
  GgufType elementType = GgufType::U8;
  uint64_t count = 0;                  // array length
  const uint8_t *elements = nullptr;   // fixed-size array elements
  std::vector<llvm::StringRef> strings; // string array elements

  bool isInteger() const;
  /// An integer value or element `k` of an integer array as int64 (u64
  /// values above INT64_MAX are not integers here).
  bool integerAt(uint64_t k, int64_t &out) const;
};

class GgufFile {
public:
  /// Maps `path` and validates the whole header and every tensor's place.
  static llvm::Expected<std::unique_ptr<GgufFile>> open(llvm::StringRef path);
  ~GgufFile();
  GgufFile(const GgufFile &) = delete;
  GgufFile &operator=(const GgufFile &) = delete;

  const std::string &path() const { return path_; }
  uint32_t version() const { return version_; }
  const GgufValue *find(llvm::StringRef key) const;
  const std::vector<std::string> &keys() const { return keyOrder_; }

  /// Typed reads naming the file and key in their errors: a missing key, or
  /// one of another type, is an error.
  llvm::Expected<int64_t> getInt(llvm::StringRef key) const;
  llvm::Expected<double> getFloat(llvm::StringRef key) const; // integers too
  llvm::Expected<bool> getBool(llvm::StringRef key) const;
  llvm::Expected<std::string> getString(llvm::StringRef key) const;

  /// Tensors, shapes row-major (GGUF's ne reversed), in file order.
  const std::vector<TensorView> &tensors() const { return tensors_; }
  const TensorView *findTensor(llvm::StringRef name) const;

private:
  GgufFile() = default;
  llvm::Error error(const llvm::Twine &what) const;

  std::string path_;
  void *mapping_ = nullptr;
  size_t mappingSize_ = 0;
  uint32_t version_ = 0;
  llvm::StringMap<GgufValue> values_;
  std::vector<std::string> keyOrder_;
  std::vector<TensorView> tensors_;
  llvm::StringMap<size_t> tensorIndex_;
  friend class GgufReader;
};

} // namespace hybridc

#endif // HYBRIDC_MODEL_GGUF_H
