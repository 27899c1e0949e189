//===- WeightsFile.cpp - the packed weights of a compiled model -----------===//
//
// Weights are converted and packed once, at compile time, into the layouts
// the kernels read (see KernelSpec.h), so loading a model is an mmap.
//
// Tensors are packed on a few threads, each written straight to its planned
// offset of the file (pwrite), so memory holds a few tensors, never the
// payload; the checkpoint pages of a packed tensor are released for the
// same reason. The payload hash (hybridc/payload_hash.h) runs over the
// whole payload in file order, so it is computed afterwards, reading the
// written payload back: the value compiled into the library, and the one
// the runtime and `hybridc verify` recompute from the file.
//
//===----------------------------------------------------------------------===//
#include "WeightsFile.h"

#include "hybridc/Codegen/WeightPacking.h"
#include "hybridc/Compile/WeightsPayload.h"

#include "Parallel.h"

#include "hybridc/payload_hash.h"
#include "hybridc/runtime_abi.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <fcntl.h>
#include <unistd.h>

using namespace hybridc;

namespace {

// Tensors packed at once. Each holds its packed bytes (and a float copy of a
// source that is not aligned f32), so this bounds memory by a few of the
// largest tensors on any machine; packing and the page-cache writes are
// bound by memory bandwidth, so more threads would add little.
constexpr unsigned kMaxPackThreads = 4;
// The payload is read back for hashing in pieces of this size.
constexpr size_t kHashReadBytes = 8u << 20;

llvm::Error ioError(const std::string &path, const char *what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s: %s", path.c_str(),
                                 what, std::strerror(errno));
}

/// One packing thread's buffers, reused from tensor to tensor so that large
/// tensors do not page-fault fresh memory each time.
struct PackBuffers {
  std::vector<uint8_t> bytes;
  std::vector<float> floats;
};

/// The tensor's elements as floats: the mapped data itself when it is
/// aligned f32 already, else converted into `scratch`.
const float *sourceFloats(const TensorView &t, std::vector<float> &scratch) {
  if (!t.derive && t.dtype == DType::F32 &&
      reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0)
    return reinterpret_cast<const float *>(t.data);
  scratch.resize(static_cast<size_t>(t.numElements()));
  t.decode(scratch.data());
  return scratch.data();
}

/// Packs entry `e` (tensor `t`) into buf.bytes as its layout stores it in a
/// model of weight type `type` packed as `packing`; "" or what went wrong.
std::string packEntry(const PackedWeight &e, const TensorView &t, codegen::WeightType type,
                      const codegen::LinearPacking &packing, PackBuffers &buf) {
  using codegen::WeightShape;
  const std::string name =
      "weight '" + e.tensor + "' (" + hybrid::stringifyWeightLayout(e.layout).str() + ")";
  const codegen::StoredWeight s = codegen::storedWeight(e.layout, type, packing);
  // A plan read from an edited module may pair a tensor with a layout of
  // another rank.
  const size_t rank = s.shape == WeightShape::Linear ? 2 : s.shape == WeightShape::Experts ? 3 : 0;
  if (rank && t.shape.size() != rank)
    return name + ": the layout packs " + std::to_string(rank) + "-D tensors, this one is " +
           std::to_string(t.shape.size()) + "-D";
  const float *data = sourceFloats(t, buf.floats);
  buf.bytes.clear();
  switch (s.shape) {
  case WeightShape::Plain:
    codegen::packPlain(data, t.numElements(), s.element, buf.bytes);
    break;
  case WeightShape::Linear:
    if (s.scales)
      codegen::packLinearScales(data, t.shape[0], t.shape[1], s.packing, s.element, buf.bytes);
    else
      codegen::packLinear(data, t.shape[0], t.shape[1], s.packing, s.element, buf.bytes);
    break;
  case WeightShape::Experts:
    if (s.scales)
      codegen::packExpertScales(data, t.shape[0], t.shape[1], t.shape[2], s.packing, s.element,
                                buf.bytes);
    else
      codegen::packExperts(data, t.shape[0], t.shape[1], t.shape[2], s.packing, s.element,
                           buf.bytes);
    break;
  }
  if (static_cast<int64_t>(buf.bytes.size()) != e.bytes)
    return name + ": packed " +
           std::to_string(buf.bytes.size()) + " bytes but the lowering planned " +
           std::to_string(e.bytes);
  return "";
}

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

bool readAll(int fd, uint8_t *data, size_t n, off_t at) {
  while (n > 0) {
    ssize_t r = ::pread(fd, data, n, at);
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0)
      errno = 0; // the file ends early
    if (r <= 0)
      return false;
    data += r;
    n -= static_cast<size_t>(r);
    at += r;
  }
  return true;
}

/// Packs every entry of every layout and writes it at its offset of the
/// payload (which starts at byte `base` of `fd`), on a few threads; on
/// failure, the error of the first failing entry in layout and plan order,
/// as a serial loop reports it.
llvm::Error packAndWrite(int fd, off_t base, const std::string &path,
                         const Checkpoint &checkpoint, const std::vector<WeightsLayout> &layouts,
                         codegen::WeightType type, const PackProgress &progress) {
  struct Job {
    const PackedWeight *entry;
    const WeightsLayout *layout;
  };
  std::vector<Job> jobs;
  for (const WeightsLayout &l : layouts)
    for (const PackedWeight &e : *l.plan)
      jobs.push_back({&e, &l});
  const unsigned threads = taskThreads(jobs.size(), kMaxPackThreads);
  std::vector<PackBuffers> buffers(threads);
  std::vector<std::string> errors(jobs.size());
  std::mutex progressMutex;
  int64_t packedBytes = 0;
  parallelFor(jobs.size(), threads, [&](size_t i, unsigned worker) {
    const PackedWeight &e = *jobs[i].entry;
    const TensorView &t = checkpoint.get(e.tensor);
    PackBuffers &buf = buffers[worker];
    errors[i] = packEntry(e, t, type, jobs[i].layout->packing, buf);
    t.releasePages(); // read once: keep the checkpoint out of memory
    const off_t at = base + jobs[i].layout->offset + e.offset;
    if (errors[i].empty() && !writeAll(fd, buf.bytes.data(), buf.bytes.size(), at))
      errors[i] = path + ": write failed (weight '" + e.tensor + "'): " + std::strerror(errno);
    if (progress && errors[i].empty()) {
      std::lock_guard<std::mutex> lock(progressMutex);
      packedBytes += static_cast<int64_t>(buf.bytes.size());
      progress(packedBytes);
    }
    return errors[i].empty();
  });
  for (const std::string &err : errors)
    if (!err.empty())
      return llvm::createStringError(llvm::inconvertibleErrorCode(), err);
  return llvm::Error::success();
}

} // namespace

llvm::Expected<uint64_t> hybridc::hashFilePayload(int fd, int64_t base, int64_t bytes,
                                                  const std::string &path) {
  hybridc_payload_hash hash;
  hybridc_payload_hash_init(&hash);
  std::vector<uint8_t> piece(kHashReadBytes);
  for (int64_t done = 0; done < bytes;) {
    size_t n = static_cast<size_t>(std::min<int64_t>(bytes - done, kHashReadBytes));
    if (!readAll(fd, piece.data(), n, static_cast<off_t>(base + done)))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "%s: cannot read the payload at byte %lld to hash it: %s",
                                     path.c_str(), static_cast<long long>(done),
                                     errno ? std::strerror(errno) : "file too short");
    hybridc_payload_hash_update(&hash, piece.data(), n);
    done += static_cast<int64_t>(n);
  }
  return hybridc_payload_hash_final(&hash);
}

llvm::Expected<uint64_t> hybridc::writeWeightsFile(const std::string &path,
                                                   const Checkpoint &checkpoint,
                                                   const std::vector<WeightsLayout> &layouts,
                                                   int64_t payloadBytes,
                                                   codegen::WeightType type,
                                                   const std::string &modelName,
                                                   const PackProgress &progress) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return ioError(path, "cannot create");
  const off_t base = HYBRIDC_WEIGHTS_HEADER_BYTES;
  if (::ftruncate(fd, base + payloadBytes) != 0) {
    ::close(fd);
    return ioError(path, "cannot size");
  }
  if (llvm::Error e = packAndWrite(fd, base, path, checkpoint, layouts, type, progress)) {
    ::close(fd);
    return std::move(e);
  }
  llvm::Expected<uint64_t> hash = hashFilePayload(fd, base, payloadBytes, path);
  if (!hash) {
    ::close(fd);
    return hash.takeError();
  }
  hybridc_weights_header header;
  std::memset(&header, 0, sizeof(header));
  std::memcpy(header.magic, HYBRIDC_WEIGHTS_MAGIC, 8);
  header.format_version = HYBRIDC_WEIGHTS_FORMAT_VERSION;
  header.header_bytes = HYBRIDC_WEIGHTS_HEADER_BYTES;
  header.model_hash = *hash;
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
