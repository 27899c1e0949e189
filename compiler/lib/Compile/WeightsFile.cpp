//===- WeightsFile.cpp - the packed weights of a compiled model -----------===//
//
// Weights are converted and packed once, at compile time, into the layouts
// the kernels read (see KernelSpec.h), so loading a model is an mmap.
//
//===----------------------------------------------------------------------===//
#include "WeightsFile.h"

#include "hybridc/runtime_abi.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

using namespace hybridc;

namespace {

llvm::Error ioError(const std::string &path, const char *what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s: %s", path.c_str(),
                                 what, std::strerror(errno));
}

/// A 64-bit hash of byte ranges: 8 bytes at a time, multiply-rotate mixing.
/// Not cryptographic: it detects a weights file of another model or build.
class PayloadHash {
public:
  void add(uint64_t word) {
    h ^= word * 0x9E3779B97F4A7C15ull;
    h = ((h << 31) | (h >> 33)) * 0xBF58476D1CE4E5B9ull;
  }
  void add(const uint8_t *data, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, data + i, 8);
      add(w);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, data + i, n - i);
    add(tail ^ (static_cast<uint64_t>(n) << 56));
  }
  uint64_t value() const { return h ^ (h >> 29); }

private:
  uint64_t h = 0x6879627269646321ull; // "hybridc!"
};

bool writeAll(int fd, const void *data, size_t n, off_t at) {
  const uint8_t *p = static_cast<const uint8_t *>(data);
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, at);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
    at += w;
  }
  return true;
}

} // namespace

llvm::Expected<uint64_t> hybridc::writeWeightsFile(const std::string &path,
                                                   const Checkpoint &checkpoint,
                                                   const std::vector<PackedWeight> &entries,
                                                   int64_t payloadBytes,
                                                   codegen::WeightType type, int lanes,
                                                   const std::string &modelName) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return ioError(path, "cannot create");
  const off_t base = HYBRIDC_WEIGHTS_HEADER_BYTES;
  if (::ftruncate(fd, base + payloadBytes) != 0) {
    ::close(fd);
    return ioError(path, "cannot size");
  }
  PayloadHash hash;
  std::vector<uint8_t> bytes;
  for (const PackedWeight &e : entries) {
    const TensorView &t = checkpoint.get(e.tensor);
    std::vector<float> data = t.toFloat();
    bytes.clear();
    if (e.layout == "f32") {
      codegen::packPlain(data.data(), t.numElements(), codegen::WeightType::F32, bytes);
    } else if (e.layout == "plain") {
      codegen::packPlain(data.data(), t.numElements(), type, bytes);
    } else if (e.layout == "linear") {
      codegen::packLinear(data.data(), t.shape[0], t.shape[1], lanes, type, bytes);
    } else if (e.layout == "experts") {
      int64_t perExpert = t.shape[1] * t.shape[2];
      for (int64_t x = 0; x < t.shape[0]; ++x)
        codegen::packLinear(data.data() + x * perExpert, t.shape[1], t.shape[2], lanes, type,
                            bytes);
    } else {
      ::close(fd);
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "weight '%s': unknown layout '%s'", e.tensor.c_str(),
                                     e.layout.c_str());
    }
    if (static_cast<int64_t>(bytes.size()) != e.bytes) {
      ::close(fd);
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "weight '%s' (%s): packed %zu bytes but the lowering planned %lld", e.tensor.c_str(),
          e.layout.c_str(), bytes.size(), static_cast<long long>(e.bytes));
    }
    hash.add(static_cast<uint64_t>(e.offset));
    hash.add(bytes.data(), bytes.size());
    if (!writeAll(fd, bytes.data(), bytes.size(), base + e.offset)) {
      ::close(fd);
      return ioError(path, "write failed");
    }
  }
  hybridc_weights_header header;
  std::memset(&header, 0, sizeof(header));
  std::memcpy(header.magic, HYBRIDC_WEIGHTS_MAGIC, 8);
  header.format_version = HYBRIDC_WEIGHTS_FORMAT_VERSION;
  header.header_bytes = HYBRIDC_WEIGHTS_HEADER_BYTES;
  header.model_hash = hash.value();
  header.payload_bytes = static_cast<uint64_t>(payloadBytes);
  std::strncpy(header.model_name, modelName.c_str(), sizeof(header.model_name) - 1);
  if (!writeAll(fd, &header, sizeof(header), 0)) {
    ::close(fd);
    return ioError(path, "write failed");
  }
  if (::close(fd) != 0)
    return ioError(path, "close failed");
  return header.model_hash;
}
