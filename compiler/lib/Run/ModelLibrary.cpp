//===- ModelLibrary.cpp - a compiled model, loaded with dlopen ------------===//
#include "hybridc/Run/ModelLibrary.h"
#include "hybridc/Support/Error.h"
#include "hybridc/cpu_check.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>

#include <vector>

using namespace hybridc;

/// Resolves `symbol` into `fn`; records it in `missing` when absent.
template <typename Fn>
static void resolve(void *handle, const std::string &symbol, Fn &fn, std::string &missing) {
  fn = reinterpret_cast<Fn>(dlsym(handle, symbol.c_str()));
  if (!fn)
    missing += " " + symbol;
}

llvm::Expected<std::unique_ptr<CompiledLibrary>>
CompiledLibrary::load(const std::string &outDir) {
  llvm::Expected<Manifest> manifest = readManifest(outDir);
  if (!manifest)
    return manifest.takeError();
  std::unique_ptr<CompiledLibrary> lib(new CompiledLibrary());
  lib->manifest_ = *manifest;
  lib->outDir_ = outDir;
  std::string path = outDir + "/" + manifest->library;
  // dlopen would only say "wrong ELF machine" of a cross-compiled library.
  const bool aarch64 = hybridc_target_level(manifest->target.c_str()) == HYBRIDC_LEVEL_AARCH64;
  if (aarch64 != HYBRIDC_HOST_IS_AARCH64)
    return makeError(path + " is compiled for target " + manifest->target +
                     ", another machine than this one: run it there (or under qemu-user, "
                     "see the README's cross-compiling section)");
  lib->handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle_)
    return makeError("cannot load " + path + ": " + dlerror());
  const std::string p = manifest->name + "_";
  std::string missing, optional;
  resolve(lib->handle_, p + "model_open", lib->modelOpen, missing);
  resolve(lib->handle_, p + "model_open_ex", lib->modelOpenEx, missing);
  resolve(lib->handle_, p + "model_close", lib->modelClose, missing);
  resolve(lib->handle_, p + "model_set_threads", lib->modelSetThreads, missing);
  resolve(lib->handle_, p + "session_create", lib->sessionCreate, missing);
  resolve(lib->handle_, p + "session_free", lib->sessionFree, missing);
  resolve(lib->handle_, p + "session_reset", lib->sessionReset, missing);
  resolve(lib->handle_, p + "session_set_threads", lib->sessionSetThreads, missing);
  resolve(lib->handle_, p + "session_set_max_tokens", lib->sessionSetMaxTokens, missing);
  resolve(lib->handle_, p + "session_position", lib->sessionPosition, missing);
  resolve(lib->handle_, p + "session_state_bytes", lib->sessionStateBytes, missing);
  resolve(lib->handle_, p + "session_save_size", lib->sessionSaveSize, missing);
  resolve(lib->handle_, p + "session_save", lib->sessionSave, missing);
  resolve(lib->handle_, p + "session_load", lib->sessionLoad, missing);
  resolve(lib->handle_, p + "session_fork", lib->sessionFork, missing);
  resolve(lib->handle_, p + "session_set_checkpoint_interval",
          lib->sessionSetCheckpointInterval, missing);
  resolve(lib->handle_, p + "session_truncate", lib->sessionTruncate, missing);
  resolve(lib->handle_, p + "model_target", lib->modelTarget, missing);
  resolve(lib->handle_, p + "prefill", lib->prefill, missing);
  resolve(lib->handle_, p + "decode", lib->decode, missing);
  resolve(lib->handle_, p + "decode_batch", lib->decodeBatch, missing);
  resolve(lib->handle_, p + "last_error", lib->lastError, missing);
  resolve(lib->handle_, p + "status_string", lib->statusString, missing);
  resolve(lib->handle_, p + "profile_report", lib->profileReport, optional);
  resolve(lib->handle_, p + "profile_reset", lib->profileReset, optional);
  if (!missing.empty())
    return makeError(path + " does not export:" + missing);
  return lib;
}

void *CompiledLibrary::symbol(const std::string &name) const {
  return dlsym(handle_, (manifest_.name + "_" + name).c_str());
}

CompiledLibrary::~CompiledLibrary() {
  if (handle_)
    dlclose(handle_);
}

std::string CompiledLibrary::weightsPath() const {
  return manifest_.weights.empty() ? std::string() : outDir_ + "/" + manifest_.weights;
}

llvm::Expected<std::unique_ptr<ModelLibrary>> ModelLibrary::open(const std::string &outDir,
                                                                 int32_t threads,
                                                                 bool verify) {
  llvm::Expected<std::unique_ptr<CompiledLibrary>> lib = CompiledLibrary::load(outDir);
  if (!lib)
    return lib.takeError();
  std::unique_ptr<ModelLibrary> m(new ModelLibrary());
  m->lib = std::move(*lib);
  std::string weights = m->lib->weightsPath();
  if (llvm::Error e = m->check(m->lib->modelOpenEx(weights.empty() ? nullptr : weights.c_str(),
                                                   verify ? 1 : 0, &m->model),
                               "model_open_ex"))
    return std::move(e);
  if (llvm::Error e = m->check(m->lib->sessionCreate(m->model, &m->session), "session_create"))
    return std::move(e);
  if (threads != 0)
    if (llvm::Error e = m->check(m->lib->sessionSetThreads(m->session, threads),
                                 "session_set_threads"))
      return std::move(e);
  return m;
}

ModelLibrary::~ModelLibrary() {
  for (void *f : forks)
    lib->sessionFree(f);
  if (session)
    lib->sessionFree(session);
  if (model)
    lib->modelClose(model);
}

llvm::Error ModelLibrary::check(int status, const char *call) const {
  if (status == 0)
    return llvm::Error::success();
  return makeError(lib->manifest().name + "_" + call + ": " + lib->lastError());
}

llvm::Error ModelLibrary::prefill(const int32_t *tokens, int64_t n, float *logits, bool all) {
  return check(lib->prefill(session, tokens, n, logits, all ? 1 : 0), "prefill");
}

llvm::Error ModelLibrary::decode(int32_t token, float *logits) {
  return check(lib->decode(session, token, logits), "decode");
}

llvm::Error ModelLibrary::forkStreams(int64_t n) {
  for (void *f : forks)
    lib->sessionFree(f);
  forks.clear();
  for (int64_t i = 0; i < n; ++i) {
    void *f = nullptr;
    if (llvm::Error e = check(lib->sessionFork(session, &f), "session_fork"))
      return e;
    forks.push_back(f);
  }
  return llvm::Error::success();
}

llvm::Error ModelLibrary::decodeBatch(const int32_t *tokens, float *logits) {
  return check(lib->decodeBatch(forks.data(), tokens, streams(), logits), "decode_batch");
}

llvm::Error ModelLibrary::reset() { return check(lib->sessionReset(session), "session_reset"); }

llvm::Error ModelLibrary::truncate(int64_t position) {
  return check(lib->sessionTruncate(session, position), "session_truncate");
}

llvm::Error ModelLibrary::setCheckpointInterval(int64_t tokens) {
  return check(lib->sessionSetCheckpointInterval(session, tokens),
               "session_set_checkpoint_interval");
}

llvm::Error ModelLibrary::saveState(const std::string &path) {
  const int64_t size = lib->sessionSaveSize(session);
  if (size < 0)
    return check(1, "session_save_size");
  std::vector<char> image(static_cast<size_t>(size));
  if (llvm::Error e =
          check(lib->sessionSave(session, image.data(), size, nullptr), "session_save"))
    return e;
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError(path + ": cannot write: " + ec.message());
  out.write(image.data(), image.size());
  out.close();
  if (out.has_error())
    return makeError(path + ": write failed: " + out.error().message());
  return llvm::Error::success();
}

llvm::Error ModelLibrary::loadState(const std::string &path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return makeError(path + ": cannot read: " + buf.getError().message());
  const llvm::StringRef bytes = (*buf)->getBuffer();
  if (llvm::Error e = check(lib->sessionLoad(session, bytes.data(),
                                             static_cast<int64_t>(bytes.size())),
                            "session_load"))
    return makeError(path + ": " + llvm::toString(std::move(e)));
  return llvm::Error::success();
}
