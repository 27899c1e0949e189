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
#include "hybridc/Run/ModelLibrary.h"

#include "hybridc/payload_hash.h"
#include "hybridc/runtime_abi.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

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

/// Reads exactly n bytes at `at`; false on an error or a short file.
bool readAt(int fd, uint8_t *data, size_t n, off_t at) {
  while (n > 0) {
    ssize_t got = ::pread(fd, data, n, at);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    data += got;
    n -= static_cast<size_t>(got);
    at += got;
  }
  return true;
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
      !readAt(fd, reinterpret_cast<uint8_t *>(&h), sizeof h, 0))
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

  hybridc_payload_hash hash;
  hybridc_payload_hash_init(&hash);
  std::vector<uint8_t> piece(8u << 20);
  for (uint64_t done = 0; done < h.payload_bytes;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(h.payload_bytes - done, piece.size()));
    if (!readAt(fd, piece.data(), n, static_cast<off_t>(h.header_bytes + done)))
      return makeError(path + ": cannot read the payload at byte " + std::to_string(done) +
                       ": " + (errno ? std::strerror(errno) : "file too short"));
    hybridc_payload_hash_update(&hash, piece.data(), n);
    done += n;
  }
  uint64_t got = hybridc_payload_hash_final(&hash);
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
