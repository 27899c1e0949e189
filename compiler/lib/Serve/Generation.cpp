//===- Generation.cpp - one request in flight, between two threads ---------===//
#include "hybridc/Serve/Engine.h"

namespace hybridc::serve {

bool Generation::next(std::string &text) {
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return !pieces.empty() || ended; });
  if (pieces.empty())
    return false;
  text = std::move(pieces.front());
  pieces.pop_front();
  return true;
}

void Generation::emit(std::string text) {
  if (text.empty())
    return;
  std::lock_guard<std::mutex> lock(m);
  pieces.push_back(std::move(text));
  cv.notify_all();
}

void Generation::end() {
  std::lock_guard<std::mutex> lock(m);
  ended = true;
  cv.notify_all();
}

} // namespace hybridc::serve
