//===- MoEGrouping.cpp - bucketing a chunk's MoE rows by expert -----------===//
#include "MoEGrouping.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace hybridc {

namespace {

/// Loop helpers over index ranges: `body(builder, iv)`.
void forRange(OpBuilder &b, Location loc, Value lo, Value hi,
              function_ref<void(OpBuilder &, Value)> body) {
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  b.create<scf::ForOp>(loc, lo, hi, one, ValueRange{},
                       [&](OpBuilder &nb, Location, Value iv, ValueRange) {
                         body(nb, iv);
                         nb.create<scf::YieldOp>(loc);
                       });
}

} // namespace

Value emitMoEGrouping(OpBuilder &b, Location loc, Value tokenCount, int64_t E, int64_t K,
                      int64_t tile, const MoEGroupingBuffers &bufs) {
  auto cIdx = [&](OpBuilder &nb, int64_t v) -> Value {
    return nb.create<arith::ConstantIndexOp>(loc, v);
  };
  Type i32 = b.getI32Type();
  auto toI32 = [&](OpBuilder &nb, Value v) -> Value {
    return nb.create<arith::IndexCastOp>(loc, i32, v);
  };
  auto toIndex = [&](OpBuilder &nb, Value v) -> Value {
    return nb.create<arith::IndexCastOp>(loc, nb.getIndexType(), v);
  };
  // The router wrote the ids; clamping only keeps a corrupt id from
  // addressing outside the cursor array.
  auto expertOf = [&](OpBuilder &nb, Value t, Value k) -> Value {
    Value e = toIndex(nb, nb.create<memref::LoadOp>(loc, bufs.ids, ValueRange{t, k}));
    e = nb.create<arith::MaxSIOp>(loc, e, cIdx(nb, 0));
    return nb.create<arith::MinSIOp>(loc, e, cIdx(nb, E - 1));
  };
  // cursor[e] += 1; returns the value before (i32).
  auto bumpCursor = [&](OpBuilder &nb, Value e) -> Value {
    Value n = nb.create<memref::LoadOp>(loc, bufs.cursor, ValueRange{e});
    Value n1 = nb.create<arith::AddIOp>(loc, n, nb.create<arith::ConstantIntOp>(loc, 1, 32));
    nb.create<memref::StoreOp>(loc, n1, bufs.cursor, ValueRange{e});
    return n;
  };
  Value zero = cIdx(b, 0), numE = cIdx(b, E);

  // 1. Pairs per expert.
  forRange(b, loc, zero, numE, [&](OpBuilder &nb, Value e) {
    nb.create<memref::StoreOp>(loc, nb.create<arith::ConstantIntOp>(loc, 0, 32), bufs.cursor,
                               ValueRange{e});
  });
  forRange(b, loc, zero, tokenCount, [&](OpBuilder &nb, Value t) {
    forRange(nb, loc, cIdx(nb, 0), cIdx(nb, K), [&](OpBuilder &kb, Value k) {
      bumpCursor(kb, expertOf(kb, t, k));
    });
  });

  // 2. Each expert's first row (the cursor from now on), its tiles, and the
  //    padding rows of its last tile.
  Value one = cIdx(b, 1), tileC = cIdx(b, tile);
  auto loop = b.create<scf::ForOp>(
      loc, zero, numE, one, ValueRange{zero},
      [&](OpBuilder &nb, Location, Value e, ValueRange iter) {
        Value row = iter[0];
        Value n = toIndex(nb, nb.create<memref::LoadOp>(loc, bufs.cursor, ValueRange{e}));
        Value up = nb.create<arith::AddIOp>(loc, n, cIdx(nb, tile - 1));
        Value padded = nb.create<arith::MulIOp>(
            loc, nb.create<arith::DivUIOp>(loc, up, tileC), tileC);
        Value end = nb.create<arith::AddIOp>(loc, row, padded);
        nb.create<memref::StoreOp>(loc, toI32(nb, row), bufs.cursor, ValueRange{e});
        Value firstTile = nb.create<arith::DivUIOp>(loc, row, tileC);
        Value endTile = nb.create<arith::DivUIOp>(loc, end, tileC);
        Value eI32 = toI32(nb, e);
        forRange(nb, loc, firstTile, endTile, [&](OpBuilder &tb, Value j) {
          tb.create<memref::StoreOp>(loc, eI32, bufs.tileExpert, ValueRange{j});
        });
        Value padFrom = nb.create<arith::AddIOp>(loc, row, n);
        forRange(nb, loc, padFrom, end, [&](OpBuilder &pb, Value r) {
          pb.create<memref::StoreOp>(loc, pb.create<arith::ConstantIntOp>(loc, 0, 32),
                                     bufs.rowToken, ValueRange{r});
          pb.create<memref::StoreOp>(
              loc, pb.create<arith::ConstantFloatOp>(loc, APFloat(0.0f), pb.getF32Type()),
              bufs.rowGate, ValueRange{r});
        });
        nb.create<scf::YieldOp>(loc, end);
      });

  // 3. Place the pairs, in token order within each expert.
  forRange(b, loc, zero, tokenCount, [&](OpBuilder &nb, Value t) {
    forRange(nb, loc, cIdx(nb, 0), cIdx(nb, K), [&](OpBuilder &kb, Value k) {
      Value r = bumpCursor(kb, expertOf(kb, t, k));
      Value rIdx = toIndex(kb, r);
      kb.create<memref::StoreOp>(loc, toI32(kb, t), bufs.rowToken, ValueRange{rIdx});
      Value g = kb.create<memref::LoadOp>(loc, bufs.gates, ValueRange{t, k});
      kb.create<memref::StoreOp>(loc, g, bufs.rowGate, ValueRange{rIdx});
      kb.create<memref::StoreOp>(loc, r, bufs.rowOf, ValueRange{t, k});
    });
  });
  return loop.getResult(0);
}

} // namespace hybridc
