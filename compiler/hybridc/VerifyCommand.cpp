//===- VerifyCommand.cpp - `hybridc verify OUT_DIR` -----------------------===//
//
// Opening a model checks the weights file's header against the library but
// never reads the weights (docs/formats.md). verify opens the library as a
// program would, which checks the header (magic, version, sizes, the hash
// against the library's), then hashes the payload once and compares it
// with the hash the header records: a mismatch means bytes altered or
// damaged after compile. Embedded weights are hashed by the library itself
// (model_open_ex with VERIFY_WEIGHTS). Exit code 1 on any failure.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "hybridc/Support/Error.h"
#include "hybridc/Compile/WeightsPayload.h"
#include "hybridc/Run/ModelLibrary.h"

#include "hybridc/runtime_abi.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

using namespace hybridc;

namespace {

std::string hex(uint64_t v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format_hex_no_prefix(v, 16);
  return os.str();
}

/// The payload of the weights file `path` (its header already checked by
/// the library's open) against the hash its header records.
llvm::Error checkPayload(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return makeError(path + ": cannot open: " + std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  hybridc_weights_header h;
  if (::pread(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
    return makeError(path + ": cannot read its header");
  llvm::Expected<uint64_t> got = hashFilePayload(fd, h.header_bytes, h.payload_bytes, path);
  if (!got)
    return got.takeError();
  if (*got != h.model_hash)
    return makeError(path + ": the payload (" + std::to_string(h.payload_bytes) +
                     " bytes) hashes to " + hex(*got) + ", its header records " +
                     hex(h.model_hash) +
                     ": weight bytes were altered or damaged after compile (compile again)");
  llvm::outs() << path << ": " << h.payload_bytes << " payload bytes, hash " << hex(*got)
               << ", as its header and the library record\n";
  return llvm::Error::success();
}

llvm::Error verify(const std::string &outDir) {
  llvm::Expected<Manifest> manifest = readManifest(outDir);
  if (!manifest)
    return manifest.takeError();
  const bool embedded = manifest->weights.empty();
  // The header against the library; embedded weights hashed right there.
  llvm::Expected<std::unique_ptr<ModelLibrary>> model =
      ModelLibrary::open(outDir, /*threads=*/1, /*verify=*/embedded);
  if (!model)
    return model.takeError();
  if (!embedded)
    return checkPayload(outDir + "/" + manifest->weights);
  llvm::outs() << outDir << "/" << manifest->library
               << ": its embedded weights match the library's hash\n";
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
