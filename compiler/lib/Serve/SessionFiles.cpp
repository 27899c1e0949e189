//===- SessionFiles.cpp - a session and its tokens in two files -------------===//
#include "hybridc/Serve/SessionFiles.h"

#include "hybridc/Support/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <unistd.h>

namespace hybridc::serve {
namespace {

constexpr char kTokensMagic[8] = {'H', 'Y', 'B', 'T', 'O', 'K', '0', '1'};

/// Writes `bytes` to path through a temporary file in the same folder.
llvm::Error writeAtomically(const std::string &path, llvm::StringRef bytes) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec)
      return makeError(tmp + ": cannot write: " + ec.message());
    os << bytes;
    os.close();
    if (os.has_error()) {
      std::string message = os.error().message();
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return makeError(tmp + ": cannot write: " + message);
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    llvm::sys::fs::remove(tmp);
    return makeError(path + ": cannot rename into place: " + ec.message());
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<int64_t> saveSessionFiles(const CompiledLibrary &lib, const void *session,
                                         const std::vector<int32_t> &tokens,
                                         const std::string &path) {
  int64_t size = lib.sessionSaveSize(session);
  if (size <= 0)
    return makeError(path + ": the session has no image to save");
  std::string image(static_cast<size_t>(size), '\0');
  int64_t written = 0;
  if (lib.sessionSave(session, image.data(), size, &written) != 0)
    return makeError(path + ": session_save: " + lib.lastError());
  image.resize(static_cast<size_t>(written));
  std::string list(kTokensMagic, sizeof kTokensMagic);
  uint64_t count = tokens.size();
  list.append(reinterpret_cast<const char *>(&count), sizeof count);
  list.append(reinterpret_cast<const char *>(tokens.data()), tokens.size() * sizeof(int32_t));
  // The tokens last: a reader indexing the folder by them finds the image.
  if (llvm::Error e = writeAtomically(path, image))
    return std::move(e);
  if (llvm::Error e = writeAtomically(path + ".tokens", list))
    return std::move(e);
  return written;
}

llvm::Expected<std::vector<int32_t>> readTokensFile(const std::string &path) {
  std::string file = path + ".tokens";
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf = llvm::MemoryBuffer::getFile(file);
  if (!buf)
    return makeError(file + ": cannot read: " + buf.getError().message());
  llvm::StringRef b = (*buf)->getBuffer();
  uint64_t count = 0;
  if (b.size() < sizeof kTokensMagic + sizeof count ||
      std::memcmp(b.data(), kTokensMagic, sizeof kTokensMagic) != 0)
    return makeError(file + ": not a token list written by hybridc serve");
  std::memcpy(&count, b.data() + sizeof kTokensMagic, sizeof count);
  size_t header = sizeof kTokensMagic + sizeof count;
  if ((b.size() - header) % sizeof(int32_t) != 0 || (b.size() - header) / sizeof(int32_t) != count)
    return makeError(file + ": truncated: it announces " + std::to_string(count) + " tokens");
  std::vector<int32_t> tokens(count);
  std::memcpy(tokens.data(), b.data() + header, count * sizeof(int32_t));
  return tokens;
}

llvm::Expected<LoadedSession> loadSessionFiles(const CompiledLibrary &lib, void *model,
                                               const std::string &path) {
  llvm::Expected<std::vector<int32_t>> tokens = readTokensFile(path);
  if (!tokens)
    return tokens.takeError();
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> image =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!image)
    return makeError(path + ": cannot read: " + image.getError().message());
  LoadedSession out;
  if (lib.sessionCreate(model, &out.session) != 0)
    return makeError(path + ": session_create: " + lib.lastError());
  llvm::StringRef bytes = (*image)->getBuffer();
  if (lib.sessionLoad(out.session, bytes.data(), int64_t(bytes.size())) != 0) {
    std::string why = lib.lastError();
    lib.sessionFree(out.session);
    return makeError(path + ": " + why);
  }
  if (int64_t held = lib.sessionPosition(out.session); held != int64_t(tokens->size())) {
    lib.sessionFree(out.session);
    return makeError(path + ": the image holds " + std::to_string(held) +
                     " tokens but " + path + ".tokens lists " + std::to_string(tokens->size()));
  }
  out.tokens = std::move(*tokens);
  return out;
}

} // namespace hybridc::serve
