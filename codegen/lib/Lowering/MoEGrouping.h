//===- MoEGrouping.h - bucketing a chunk's MoE rows by expert ---*- C++ -*-===//
//
// Prefill runs each expert as one GEMM over the tokens that picked it
// (moe_expert_tiles). The driver prepares that with a counting sort of the
// (token, slot) pairs by expert, emitted as scf loops: O(T*K + E) integer
// work per MoE layer, negligible next to the matmuls.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CODEGEN_LOWERING_MOEGROUPING_H
#define HYBRIDC_CODEGEN_LOWERING_MOEGROUPING_H

#include "mlir/IR/Builders.h"

namespace hybridc {

/// The memrefs the grouping reads and writes.
struct MoEGroupingBuffers {
  mlir::Value ids;        // [T][K] i32, the router's expert ids (read)
  mlir::Value gates;      // [T][K] f32, the router's gates (read)
  mlir::Value cursor;     // [E] i32 scratch
  mlir::Value rowToken;   // [rows] i32: the token of each grouped row
  mlir::Value rowGate;    // [rows] f32: its gate (0 on padding rows)
  mlir::Value tileExpert; // [rows / tile] i32: the expert of each tile
  mlir::Value rowOf;      // [T][K] i32: the grouped row of each pair
};

/// Upper bound of the rows the grouping uses for T tokens: every pair gets
/// a row, and each of the (at most E) experts pads its last tile.
inline int64_t moeGroupedRowsFixedPart(int64_t E, int64_t tile) { return E * (tile - 1); }

/// Emits the counting sort at the builder's insertion point. Expert e's
/// pairs take rows [start_e, start_e + count_e) in token order, padded to a
/// multiple of `tile` with rows of token 0 and gate 0; experts in id order.
/// Returns the number of rows used (an index, a multiple of `tile`).
mlir::Value emitMoEGrouping(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tokenCount,
                            int64_t E, int64_t K, int64_t tile,
                            const MoEGroupingBuffers &bufs);

} // namespace hybridc

#endif // HYBRIDC_CODEGEN_LOWERING_MOEGROUPING_H
