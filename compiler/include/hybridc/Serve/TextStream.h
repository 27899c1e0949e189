//===- TextStream.h - generated tokens to text a client can be sent -*- C++ -*-===//
//
// A token is a few bytes, perhaps part of a UTF-8 character, and a stop
// string may end in a later token than it starts. TextStream takes each
// token's bytes and hands out only text that is final: whole characters,
// none of which can still turn out to begin a stop string. When a stop
// string completes, the text before it is the last handed out.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SERVE_TEXTSTREAM_H
#define HYBRIDC_SERVE_TEXTSTREAM_H

#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace hybridc::serve {

class TextStream {
public:
  explicit TextStream(std::vector<std::string> stops = {}) : stops(std::move(stops)) {}

  /// Adds a token's bytes; returns the text that became final.
  std::string push(llvm::StringRef bytes);
  /// At the end of the generation: what was held back (no stop string came).
  std::string finish();
  bool stopped() const { return stopped_; }

private:
  std::vector<std::string> stops;
  std::string pending; // bytes received, not handed out
  bool stopped_ = false;
};

/// The length of the longest suffix of `text` that is a proper prefix of
/// `marker`: how much of `text` to hold back until it is known whether
/// `marker` follows.
size_t partialMarkerLength(llvm::StringRef text, llvm::StringRef marker);

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_TEXTSTREAM_H
