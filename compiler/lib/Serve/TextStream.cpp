//===- TextStream.cpp - generated tokens to text a client can be sent -----===//
#include "hybridc/Serve/TextStream.h"

#include "hybridc/Run/LibraryText.h"

#include <algorithm>

namespace hybridc::serve {

size_t partialMarkerLength(llvm::StringRef text, llvm::StringRef marker) {
  size_t longest = std::min(text.size(), marker.size() - (marker.empty() ? 0 : 1));
  for (size_t n = longest; n > 0; --n)
    if (text.ends_with(marker.take_front(n)))
      return n;
  return 0;
}

std::string TextStream::push(llvm::StringRef bytes) {
  if (stopped_)
    return "";
  pending += bytes.str();
  // The earliest stop string wins. Text handed out never holds the start of
  // one (see below), so a match lies within `pending`.
  size_t cut = std::string::npos;
  for (const std::string &s : stops)
    cut = std::min(cut, pending.find(s));
  if (cut != std::string::npos) {
    std::string out = pending.substr(0, cut);
    pending.clear();
    stopped_ = true;
    return out;
  }
  size_t hold = unfinishedUtf8Tail(pending);
  for (const std::string &s : stops)
    hold = std::max(hold, partialMarkerLength(pending, s));
  std::string out = pending.substr(0, pending.size() - hold);
  pending.erase(0, pending.size() - hold);
  return out;
}

std::string TextStream::finish() {
  std::string out;
  if (!stopped_)
    out.swap(pending);
  pending.clear();
  return out;
}

} // namespace hybridc::serve
