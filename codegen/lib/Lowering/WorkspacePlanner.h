//===- WorkspacePlanner.h - reuse of intermediate buffers -------*- C++ -*-===//
//
// Every intermediate of the model driver is a [T][width] matrix, so one
// workspace of T * rowBytes bytes holds them all if each gets a column range
// (an offset in floats per token) that no simultaneously live buffer uses.
// Intervals are op indices in program order (closed ranges).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CODEGEN_LOWERING_WORKSPACEPLANNER_H
#define HYBRIDC_CODEGEN_LOWERING_WORKSPACEPLANNER_H

#include <cstdint>
#include <vector>

namespace hybridc {

class WorkspacePlanner {
public:
  /// Registers a buffer of `width` 4-byte elements per token, live from op
  /// `start` to op `end` inclusive; returns its id.
  int add(int64_t width, int64_t start, int64_t end);

  /// Assigns offsets (first fit, in order of start). Call once, after add().
  void plan();

  /// Offset of buffer `id` in elements per token; a multiple of 16 so that
  /// every buffer starts 64-byte aligned.
  int64_t offset(int id) const { return buffers[id].offset; }
  /// Elements per token the whole workspace needs.
  int64_t rowElements() const { return peak; }

private:
  struct Buffer {
    int64_t width, start, end, offset = -1;
  };
  std::vector<Buffer> buffers;
  int64_t peak = 0;
};

} // namespace hybridc

#endif // HYBRIDC_CODEGEN_LOWERING_WORKSPACEPLANNER_H
