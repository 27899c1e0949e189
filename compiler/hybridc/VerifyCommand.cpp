//===- VerifyCommand.cpp - `hybridc verify OUT_DIR` -----------------------===//
//
// Opening a model checks the weights file's header against the library but
// never reads the weights (docs/formats.md). This recomputes the payload
// hash twice over: from the file alone, against the hash its own header
// records (a mismatch: bytes altered or damaged after compile), then through
// the library, opened with its weights verified (a mismatch: the file of
// another build, or embedded weights that differ). Exit code 1 on either.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "hybridc/Compile/WeightsPayload.h"
#include "hybridc/Run/ModelLibrary.h"

#include "hybridc/runtime_abi.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace hybridc;

namespace {

llvm::Error makeError(const std::string &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

std::string hex(uint64_t v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format_hex_no_prefix(v, 16);
  return os.str();
}

/// The file's own consistency: its header, then its payload's hash against
/// the one the header records. Returns the payload size.
llvm::Expected<uint64_t> checkFile(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return makeError(path + ": cannot open: " + std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return makeError(path + ": cannot stat: " + std::strerror(errno));
  hybridc_weights_header h;
  if (static_cast<uint64_t>(st.st_size) < sizeof h ||
      ::pread(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
    return makeError(path + ": shorter than a weights file header (" +
                     std::to_string(sizeof h) + " bytes)");
  if (std::memcmp(h.magic, HYBRIDC_WEIGHTS_MAGIC, sizeof h.magic) != 0)
    return makeError(path + ": not a hybridc weights file (bad magic)");
  if (h.format_version != HYBRIDC_WEIGHTS_FORMAT_VERSION)
    return makeError(path + ": format version " + std::to_string(h.format_version) +
                     ", this hybridc reads version " +
                     std::to_string(HYBRIDC_WEIGHTS_FORMAT_VERSION) + " (compile again)");
  if (h.header_bytes != HYBRIDC_WEIGHTS_HEADER_BYTES ||
      static_cast<uint64_t>(st.st_size) != h.header_bytes + h.payload_bytes)
    return makeError(path + ": " + std::to_string(st.st_size) + " bytes, its header says " +
                     std::to_string(h.header_bytes) + " + " + std::to_string(h.payload_bytes) +
                     " (truncated or extended)");

  llvm::Expected<uint64_t> hash = hashFilePayload(fd, h.header_bytes, h.payload_bytes, path);
  if (!hash)
    return hash.takeError();
  const uint64_t got = *hash;
  if (got != h.model_hash)
    return makeError(path + ": the payload (" + std::to_string(h.payload_bytes) +
                     " bytes) hashes to " + hex(got) + ", its header records " +
                     hex(h.model_hash) +
                     ": weight bytes were altered or damaged after compile (compile again)");
  llvm::outs() << path << ": " << h.payload_bytes << " payload bytes, hash " << hex(got)
               << ", as its header records\n";
  return h.payload_bytes;
}

llvm::Error verify(const std::string &outDir) {
  llvm::Expected<std::unique_ptr<CompiledLibrary>> lib = CompiledLibrary::load(outDir);
  if (!lib)
    return lib.takeError();
  const std::string weights = (*lib)->weightsPath();
  const std::string library = outDir + "/" + (*lib)->manifest().library;
  lib->reset();
  if (!weights.empty())
    if (llvm::Expected<uint64_t> bytes = checkFile(weights); !bytes)
      return bytes.takeError();
  // Through the library: the payload (file or embedded) against its hash.
  llvm::Expected<std::unique_ptr<ModelLibrary>> model =
      ModelLibrary::open(outDir, /*threads=*/1, /*verify=*/true);
  if (!model)
    return model.takeError();
  llvm::outs() << library << ": "
               << (weights.empty() ? "its embedded weights match" : "the weights file matches")
               << " the library's hash\n";
  return llvm::Error::success();
}

} // namespace

void hybridc::addVerifyCommand(CLI::App &app, int &exitCode) {
  auto outDir = std::make_shared<std::string>();
  CLI::App *cmd = app.add_subcommand(
      "verify", "Recompute the weights' payload hash of a compiled output folder and "
                "compare it with the weights file's header and with the library");
  cmd->add_option("out_dir", *outDir, "Output folder of `hybridc compile`")->required();
  cmd->callback([outDir, &exitCode] {
    exitCode = 0;
    if (llvm::Error e = verify(*outDir)) {
      reportError(std::move(e));
      exitCode = 1;
    }
  });
}
