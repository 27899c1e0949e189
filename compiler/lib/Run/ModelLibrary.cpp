//===- ModelLibrary.cpp - a compiled model, loaded with dlopen ------------===//
#include "hybridc/Run/ModelLibrary.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"

#include <dlfcn.h>

using namespace hybridc;

static llvm::Error makeError(const std::string &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Resolves `symbol` into `fn`; records it in `missing` when absent.
template <typename Fn>
static void resolve(void *handle, const std::string &symbol, Fn &fn, std::string &missing) {
  fn = reinterpret_cast<Fn>(dlsym(handle, symbol.c_str()));
  if (!fn)
    missing += " " + symbol;
}

llvm::Expected<std::unique_ptr<ModelLibrary>> ModelLibrary::open(const std::string &outDir) {
  llvm::Expected<Manifest> manifest = readManifest(outDir);
  if (!manifest)
    return manifest.takeError();
  std::unique_ptr<ModelLibrary> lib(new ModelLibrary());
  lib->manifest_ = *manifest;
  auto path = [&](const std::string &file) {
    llvm::SmallString<256> p(outDir);
    llvm::sys::path::append(p, file);
    return std::string(p);
  };
  // RTLD_LOCAL: two compiled models can be loaded side by side.
  lib->handle = dlopen(path(manifest->library).c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle)
    return makeError(std::string("cannot load ") + path(manifest->library) + ": " + dlerror());
  const std::string p = manifest->name + "_";
  std::string missing;
  resolve(lib->handle, p + "model_open", lib->modelOpen, missing);
  resolve(lib->handle, p + "model_close", lib->modelClose, missing);
  resolve(lib->handle, p + "session_create", lib->sessionCreate, missing);
  resolve(lib->handle, p + "session_free", lib->sessionFree, missing);
  resolve(lib->handle, p + "session_reset", lib->sessionReset, missing);
  resolve(lib->handle, p + "session_set_threads", lib->sessionSetThreads, missing);
  resolve(lib->handle, p + "session_position", lib->sessionPosition, missing);
  resolve(lib->handle, p + "session_state_bytes", lib->sessionStateBytes, missing);
  resolve(lib->handle, p + "prefill", lib->prefillFn, missing);
  resolve(lib->handle, p + "decode", lib->decodeFn, missing);
  resolve(lib->handle, p + "last_error", lib->lastError, missing);
  std::string optional;
  resolve(lib->handle, p + "profile_report", lib->profileReportFn, optional);
  resolve(lib->handle, p + "profile_reset", lib->profileResetFn, optional);
  if (!missing.empty())
    return makeError(path(manifest->library) + " does not export:" + missing);
  std::string weights = manifest->weights.empty() ? "" : path(manifest->weights);
  if (llvm::Error e = lib->check(lib->modelOpen(weights.empty() ? nullptr : weights.c_str(),
                                                &lib->model),
                                 "model_open"))
    return std::move(e);
  if (llvm::Error e = lib->check(lib->sessionCreate(lib->model, &lib->session), "session_create"))
    return std::move(e);
  return lib;
}

ModelLibrary::~ModelLibrary() {
  if (session)
    sessionFree(session);
  if (model)
    modelClose(model);
  if (handle)
    dlclose(handle);
}

llvm::Error ModelLibrary::check(int status, const char *call) const {
  if (status == 0)
    return llvm::Error::success();
  return makeError(manifest_.name + "_" + call + ": " + lastError());
}

llvm::Error ModelLibrary::setThreads(int32_t n) {
  return check(sessionSetThreads(session, n), "session_set_threads");
}

llvm::Error ModelLibrary::prefill(const int32_t *tokens, int64_t n, float *logits, bool all) {
  return check(prefillFn(session, tokens, n, logits, all ? 1 : 0), "prefill");
}

llvm::Error ModelLibrary::decode(int32_t token, float *logits) {
  return check(decodeFn(session, token, logits), "decode");
}

llvm::Error ModelLibrary::reset() { return check(sessionReset(session), "session_reset"); }
int64_t ModelLibrary::position() const { return sessionPosition(session); }
int64_t ModelLibrary::stateBytes() const { return sessionStateBytes(session); }
