//===- TestFiles.h - temporary model folders for loader tests ---*- C++ -*-===//
#ifndef HYBRIDC_TESTS_TESTFILES_H
#define HYBRIDC_TESTS_TESTFILES_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hybridc::test {

/// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
public:
  TempDir();
  ~TempDir();
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

/// One tensor to write: raw little-endian bytes of the given dtype.
struct TensorData {
  std::string name;
  std::string dtype; // "F32", "BF16", ... written verbatim
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

void writeFile(const std::string &path, const std::string &contents);
std::string readFile(const std::string &path);

/// Writes a well-formed safetensors file holding `tensors` back to back.
void writeSafetensors(const std::string &path, const std::vector<TensorData> &tensors);

/// Writes `headerLength` (as the 8-byte prefix), `header` and `dataBytes` zero
/// bytes, with no checks: for malformed-header tests.
void writeRawSafetensors(const std::string &path, uint64_t headerLength,
                         const std::string &header, size_t dataBytes);

/// The golden tiny model (tests/data/golden/tiny-seed1).
std::string goldenDir();

/// The golden model's tensors, read through the loader under test.
std::vector<TensorData> goldenTensors();

/// Writes a model folder into `dir`: golden config.json (edited by
/// `editConfig`, a text substitution on the JSON) and `tensors`.
void writeModelDir(const TempDir &dir, const std::vector<TensorData> &tensors,
                   const std::function<std::string(std::string)> &editConfig = {});

/// Replaces the first occurrence of `from` in `text` (which must exist).
std::string replaceOnce(std::string text, const std::string &from, const std::string &to);

/// The message of an Error, consuming it ("" for success).
std::string errorMessage(llvm::Error error);

} // namespace hybridc::test

#endif // HYBRIDC_TESTS_TESTFILES_H
