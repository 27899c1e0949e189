//===- ProgressLine.h - a long stage's progress on a terminal ---*- C++ -*-===//
//
// `hybridc compile` of a multi-GB model spends minutes in a few stages; on a
// terminal one line on stderr says which stage runs and, while the weights
// are packed, how far it got. The line is rewritten in place (at most five
// times a second) and erased before the stage's log line is printed, so a
// finished compile's output is the same on a terminal and in a pipe. In a
// pipe, or with --quiet, the line is never written.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_PROGRESSLINE_H
#define HYBRIDC_COMPILE_PROGRESSLINE_H

#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <string>

namespace hybridc {

class ProgressLine {
public:
  explicit ProgressLine(bool active) : active(active) {}

  bool enabled() const { return active; }

  /// Shows `text`, unless the last one went out less than 0.2 s ago (and
  /// `always` is false).
  void show(const std::string &text, bool always = false) {
    if (!active)
      return;
    const auto now = std::chrono::steady_clock::now();
    if (!always && shown && now - last < std::chrono::milliseconds(200))
      return;
    last = now;
    shown = true;
    llvm::errs() << '\r' << text << "\x1b[K";
    llvm::errs().flush();
  }

  /// Erases the line (the cursor back at its start).
  void clear() {
    if (!active || !shown)
      return;
    shown = false;
    llvm::errs() << "\r\x1b[K";
    llvm::errs().flush();
  }

private:
  bool active;
  bool shown = false;
  std::chrono::steady_clock::time_point last;
};

} // namespace hybridc

#endif // HYBRIDC_COMPILE_PROGRESSLINE_H
