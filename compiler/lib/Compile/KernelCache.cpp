//===- KernelCache.cpp - compiled kernels reused across compiles ------------===//
#include "KernelCache.h"

#include "hybridc/Support/Error.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/xxhash.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace hybridc {

llvm::Expected<std::optional<KernelCache>> KernelCache::fromEnvironment() {
  const char *env = std::getenv("HYBRIDC_KERNEL_CACHE");
  if (!env || !*env)
    return std::nullopt;
  KernelCache cache;
  cache.dir = env;
  if (std::error_code ec = llvm::sys::fs::create_directories(cache.dir))
    return makeError("HYBRIDC_KERNEL_CACHE=" + cache.dir + ": " + ec.message());
  // The kernels' code comes from this executable (the kernel builders are
  // linked into it) and from libHalide: a rebuilt hybridc or another
  // Halide release is another cache.
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> self =
      llvm::MemoryBuffer::getFile("/proc/self/exe", /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!self)
    return makeError("HYBRIDC_KERNEL_CACHE: cannot read this executable to identify it: " +
                     self.getError().message());
  cache.compilerIdentity =
      llvm::utohexstr(llvm::xxh3_64bits((*self)->getBuffer())) + " " +
      codegen::halideLibraryIdentity();
  return cache;
}

std::string KernelCache::key(const codegen::KernelSpec *spec,
                             const codegen::TargetSpec &target) const {
  // Every field of the target a kernel builder reads (--f32-activations
  // turns bf16Dot off on a bf16 target, say), and every field of the spec.
  // (The structs as this key knows them: a field added to either fails here.)
  struct KnownTarget {
    std::string name, halideTarget;
    int lanes, vectorRegisters;
    bool bf16Dot, int8Dot;
    std::string llvmTriple, llvmCpu, llvmFeatures, cc, ccPackage, runtimeDir; // driver only
  };
  struct KnownSpec {
    std::string kind, symbol;
    std::map<std::string, int64_t> sizes;
    std::map<std::string, double> constants;
    codegen::WeightType weightType;
  };
  static_assert(sizeof(codegen::TargetSpec) == sizeof(KnownTarget),
                "TargetSpec changed: put what kernels read of it in the kernel cache key");
  static_assert(sizeof(codegen::KernelSpec) == sizeof(KnownSpec),
                "KernelSpec changed: put the new field in the kernel cache key");
  std::string text = compilerIdentity + "\ntarget " + target.name + " " + target.halideTarget +
                     " lanes " + std::to_string(target.lanes) + " registers " +
                     std::to_string(target.vectorRegisters) + " bf16dot " +
                     std::to_string(target.bf16Dot) + " int8dot " + std::to_string(target.int8Dot);
  if (!spec) {
    text += "\nhalide runtime";
  } else {
    text += "\nkind " + spec->kind + "\nsymbol " + spec->symbol + "\nweights " +
            std::to_string(int(spec->weightType));
    for (const auto &[name, value] : spec->sizes)
      text += "\nsize " + name + " " + std::to_string(value);
    for (const auto &[name, value] : spec->constants) {
      char exact[32];
      snprintf(exact, sizeof exact, "%a", value); // every bit of the double
      text += "\nconstant " + name + " " + exact;
    }
  }
  // Two 64-bit hashes of the text (the second of it reversed): a collision
  // would have to hit both.
  std::string reversed(text.rbegin(), text.rend());
  return llvm::utohexstr(llvm::xxh3_64bits(text), false, 16) +
         llvm::utohexstr(llvm::xxh3_64bits(reversed), false, 16);
}

// An entry is the object's bytes and then their xxh3 hash (8 bytes): a
// damaged or truncated entry is a miss, compiled again and replaced.
bool KernelCache::fetch(const std::string &key, const std::string &objectPath) const {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> entry = llvm::MemoryBuffer::getFile(
      dir + "/" + key + ".o", /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!entry || (*entry)->getBufferSize() < sizeof(uint64_t))
    return false;
  llvm::StringRef bytes = (*entry)->getBuffer();
  llvm::StringRef object = bytes.drop_back(sizeof(uint64_t));
  uint64_t sum;
  std::memcpy(&sum, bytes.end() - sizeof sum, sizeof sum);
  if (sum != llvm::xxh3_64bits(object))
    return false;
  std::error_code ec;
  llvm::raw_fd_ostream os(objectPath, ec);
  if (ec)
    return false;
  os << object;
  os.close();
  if (os.has_error()) {
    os.clear_error();
    return false;
  }
  return true;
}

void KernelCache::store(const std::string &key, const std::string &objectPath) const {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> object = llvm::MemoryBuffer::getFile(
      objectPath, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!object)
    return;
  const std::string final = dir + "/" + key + ".o";
  const std::string tmp = final + ".tmp." + std::to_string(::getpid());
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec)
      return;
    uint64_t sum = llvm::xxh3_64bits((*object)->getBuffer());
    os << (*object)->getBuffer();
    os.write(reinterpret_cast<const char *>(&sum), sizeof sum);
    os.close();
    if (os.has_error()) {
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return;
    }
  }
  if (llvm::sys::fs::rename(tmp, final))
    llvm::sys::fs::remove(tmp);
}

} // namespace hybridc
