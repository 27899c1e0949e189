//===- KvAppend.cpp - K or V rows written into a KV cache segment ---------===//
//
// The attention's new K (or V) rows x[T][KV*HD] become tokens past ..
// past+T-1 of one cache segment, in the segment's element type and block
// layout (runtime/include/hybridc/kv_layout.h): an f32 copy, a bf16
// rounding (to nearest even) or, for int8, a quantization per token, kv
// head and block of 32 head dims (scale = max |x| / 127, q = round(x /
// scale) to nearest even) with the scale stored beside the block's data.
// Every row is converted once, here, when it is written; the attention
// kernels read the stored values as they are.
//
// The output is the whole segment (its capacity in blocks): the pure
// definition is undef, so only what the updates write changes. The updates
// scatter each new element to its place and then write zeros into the token
// slots past past+T of the last block touched, so no block ever shows
// stale values past the session's position. Rows are a few hundred values
// per token: scalar scatter loops, a negligible cost beside the projections
// that made them.
//
//===----------------------------------------------------------------------===//
#include "KvCacheLayout.h"

namespace hybridc::codegen {

using namespace Halide;

BuiltKernel buildKvAppend(const KernelSpec &spec, const TargetSpec &) {
  const int KV = int(spec.size("KV"));
  const int HD = int(spec.size("HD"));
  const auto dtype = static_cast<int32_t>(spec.size("dtype"));
  const bool isV = spec.size("v") != 0;
  if (KV <= 0 || HD <= 0)
    failKernel(spec, "KV and HD must be positive");
  if (!hybridc_kv_dtype_name(dtype))
    failKernel(spec, "dtype must be a KV dtype code (0 f32, 1 bf16, 2 int8)");
  const KvBlockLayout lay(dtype, KV, HD);

  ImageParam x = tokenRows("x", int64_t(KV) * HD);
  Param<int32_t> past("past");
  const Expr T = x.dim(1).extent();

  // The cache's segments: [kv head][block][element].
  Var e("e"), blk("blk"), head("head");
  Func data("kv_data");
  data(e, blk, head) = undef(lay.storedType(isV));
  Func scales("kv_scales");
  if (lay.int8)
    scales(e, blk, head) = undef<float>();

  // New element (d, g) of row t, and where it goes.
  RDom r(0, HD, 0, KV, 0, T, "r");
  const Expr d = r.x, g = r.y, t = r.z;
  const Expr token = past + t, slot = token % HYBRIDC_KV_BLOCK_TOKENS,
             block = token / HYBRIDC_KV_BLOCK_TOKENS;
  const Expr value = x(g * HD + d, t);
  const Expr at = isV ? lay.vIndex(d, slot) : lay.kIndex(d, slot);
  if (!lay.int8) {
    data(at, block, g) = cast(lay.storedType(isV), value);
  } else {
    // Per (token, kv head, block of 32 head dims): the scale from the
    // largest magnitude, then each element's level.
    const int QB = HYBRIDC_KV_SCALE_BLOCK;
    Var qb("qb"), gg("gg"), tt("tt");
    RDom rq(0, QB, "rq");
    Expr di = qb * QB + rq;
    Func amax("amax");
    amax(qb, gg, tt) = 0.0f;
    amax(qb, gg, tt) = max(amax(qb, gg, tt), select(di < HD, abs(x(gg * HD + min(di, HD - 1), tt)), 0.0f));
    Func scale("scale");
    // strict_float: an exact division (else Halide may multiply by 1/127,
    // an ulp away from the packer's and the state image's own scales).
    scale(qb, gg, tt) = strict_float(amax(qb, gg, tt) / 127.0f);
    const Expr s = scale(d / QB, g, t);
    const Expr q = select(s > 0, clamp(round(value / s), -127.0f, 127.0f), 0.0f);
    // K: u8 = q + 128 (vpdpbusd's unsigned operand); V: the s8 q as a byte.
    data(at, block, g) = isV ? reinterpret<uint8_t>(cast<int8_t>(q)) : cast<uint8_t>(q + 128.0f);
    // One scale per block of head dims, written by its first element.
    RDom rs(0, lay.scaleBlocks, 0, KV, 0, T, "rs");
    const Expr stoken = past + rs.z;
    scales(lay.scaleIndex(rs.x * QB, stoken % HYBRIDC_KV_BLOCK_TOKENS),
           stoken / HYBRIDC_KV_BLOCK_TOKENS, rs.y) = scale(rs.x, rs.y, rs.z);
    amax.compute_root();
    amax.update().reorder(rq, qb, gg, tt);
    scale.compute_root();
  }
  // Padded head dims (HDP > HD) hold zeros, and so do the slots past the
  // last new token in its block: every element of those tokens.
  if (lay.hdp > HD) {
    RDom rp(HD, int(lay.hdp - HD), 0, KV, 0, T, "rp");
    const Expr ptoken = past + rp.z, pslot = ptoken % HYBRIDC_KV_BLOCK_TOKENS;
    data(isV ? lay.vIndex(rp.x, pslot) : lay.kIndex(rp.x, pslot),
         ptoken / HYBRIDC_KV_BLOCK_TOKENS, rp.y) = lay.zero(isV);
  }
  const Expr end = past + T;
  const Expr lastBlock = (end - 1) / HYBRIDC_KV_BLOCK_TOKENS;
  RDom rz(0, int(lay.hdp), 0, KV, 0, HYBRIDC_KV_BLOCK_TOKENS, "rz");
  rz.where(rz.z >= end % HYBRIDC_KV_BLOCK_TOKENS && end % HYBRIDC_KV_BLOCK_TOKENS != 0);
  data(isV ? lay.vIndex(rz.x, rz.z) : lay.kIndex(rz.x, rz.z), lastBlock, rz.y) = lay.zero(isV);
  if (lay.int8) {
    RDom rzs(0, lay.scaleBlocks, 0, KV, 0, HYBRIDC_KV_BLOCK_TOKENS, "rzs");
    rzs.where(rzs.z >= end % HYBRIDC_KV_BLOCK_TOKENS && end % HYBRIDC_KV_BLOCK_TOKENS != 0);
    scales(lay.scaleIndex(rzs.x * HYBRIDC_KV_SCALE_BLOCK, rzs.z), lastBlock, rzs.y) = 0.0f;
  }

  for (Func *f : {&data, &scales}) {
    if (!f->defined())
      continue;
    f->output_buffer().dim(0).set_bounds(0, int(f == &data ? lay.blockElements(isV)
                                                             : lay.blockBytes / 4));
    f->output_buffer().dim(1).set_min(0);
    f->output_buffer().dim(2).set_bounds(0, KV);
  }
  // ---------------- Schedule ----------------
  // Scalar scatters in row order (t outer, then kv heads, then head dims):
  // a few hundred stores per token, in the order the rows are read.
  std::vector<Func> outputs{data};
  if (lay.int8)
    outputs.push_back(scales);
  return BuiltKernel{Pipeline(outputs), {x}, {past}};
}

} // namespace hybridc::codegen
