//===- SlotCommands.cpp - GET /slots, and save, restore, erase --------------===//
//
// A slot's session is the scheduler's alone: every command runs on the
// scheduler thread between two steps (Engine::runCommand), and what it
// changed is published before its caller hears back.
//
//===----------------------------------------------------------------------===//
#include "EngineState.h"

#include "hybridc/Serve/SessionFiles.h"

namespace hybridc::serve {

std::vector<SlotInfo> Engine::slots() {
  std::lock_guard<std::mutex> lock(state->m);
  return state->slotInfo;
}

namespace {
llvm::Error slotError(int status, const std::string &message) {
  return llvm::make_error<ApiError>(status, "invalid_request_error", message, "id_slot");
}
} // namespace

llvm::Expected<Engine::Slot *> Engine::idleSlot(int id) {
  if (id < 0 || id >= options_.slots)
    return slotError(404, "there is no slot " + std::to_string(id));
  Slot &s = state->slots[size_t(id)];
  if (s.gen)
    return slotError(409, "slot " + std::to_string(id) + " is generating; try again when idle");
  return &s;
}

llvm::Expected<int64_t> Engine::saveSlot(int id, const std::string &path) {
  int64_t bytes = 0;
  if (llvm::Error e = runCommand([&]() -> llvm::Error {
        llvm::Expected<Slot *> idle = idleSlot(id);
        if (!idle)
          return idle.takeError();
        Slot &s = **idle;
        if (!s.session)
          return slotError(409, "slot " + std::to_string(id) + " holds no session");
        llvm::Expected<int64_t> n = saveSessionFiles(*lib, s.session, s.tokens, path);
        if (!n)
          return n.takeError();
        bytes = *n;
        return llvm::Error::success();
      }))
    return std::move(e);
  return bytes;
}

llvm::Expected<int64_t> Engine::restoreSlot(int id, const std::string &path) {
  int64_t tokens = 0;
  if (llvm::Error e = runCommand([&]() -> llvm::Error {
        llvm::Expected<Slot *> idle = idleSlot(id);
        if (!idle)
          return idle.takeError();
        Slot &s = **idle;
        llvm::Expected<LoadedSession> loaded = loadSessionFiles(*lib, model, path);
        if (!loaded)
          return llvm::make_error<ApiError>(400, "invalid_request_error",
                                            llvm::toString(loaded.takeError()), "filename");
        if (int64_t(loaded->tokens.size()) > options_.maxContext) {
          lib->sessionFree(loaded->session);
          return llvm::make_error<ApiError>(
              400, "invalid_request_error",
              path + " holds " + std::to_string(loaded->tokens.size()) +
                  " tokens, more than this server's --max-context " +
                  std::to_string(options_.maxContext),
              "filename");
        }
        if (llvm::Error e = configure(loaded->session)) {
          lib->sessionFree(loaded->session);
          return e;
        }
        if (s.session)
          lib->sessionFree(s.session);
        s.session = loaded->session;
        s.tokens = std::move(loaded->tokens);
        s.lastUse = ++state->clock;
        tokens = int64_t(s.tokens.size());
        return llvm::Error::success();
      }))
    return std::move(e);
  return tokens;
}

llvm::Error Engine::eraseSlot(int id) {
  return runCommand([&]() -> llvm::Error {
    llvm::Expected<Slot *> idle = idleSlot(id);
    if (!idle)
      return idle.takeError();
    Slot &s = **idle;
    if (s.session)
      lib->sessionFree(s.session);
    s.session = nullptr;
    s.tokens.clear();
    return llvm::Error::success();
  });
}

} // namespace hybridc::serve
