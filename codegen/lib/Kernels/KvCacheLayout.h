//===- KvCacheLayout.h - the KV cache's blocks as Halide expressions -*- C++ -*-===//
//
// Internal to codegen/lib/Kernels (includes Halide.h). The layout itself is
// runtime/include/hybridc/kv_layout.h; its index macros are used here on
// Halide expressions, so the kernels and the runtime share one formula.
// A kernel sees one attention layer's K (or V) cache, its KV segments
// side by side, as a 3-D buffer [kv head][blocks][elements of one block] of
// the type it reads it as (a block's bytes as u8, its pairs of bf16 as u32,
// its scales as f32: views of the same memory).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CODEGEN_KERNELS_KVCACHELAYOUT_H
#define HYBRIDC_CODEGEN_KERNELS_KVCACHELAYOUT_H

#include "KernelBuilders.h"

#include "hybridc/kv_layout.h"

namespace hybridc::codegen {

struct KvBlockLayout {
  int32_t dtype;
  int KV, HD;
  int hdp;          // padded head dim
  int pk, pv;       // K and V packing
  bool int8, bf16;
  int scaleBlocks;  // int8: scale blocks per token and kv head
  int64_t blockBytes;

  KvBlockLayout(int32_t dtype, int KV, int HD)
      : dtype(dtype), KV(KV), HD(HD), hdp(int(hybridc_kv_padded_head_dim(dtype, HD))),
        pk(hybridc_kv_pack_k(dtype)), pv(hybridc_kv_pack_v(dtype)),
        int8(dtype == HYBRIDC_KV_INT8), bf16(dtype == HYBRIDC_KV_BF16),
        scaleBlocks(int8 ? hdp / HYBRIDC_KV_SCALE_BLOCK : 0),
        blockBytes(hybridc_kv_row_bytes(dtype, HD) * HYBRIDC_KV_BLOCK_TOKENS) {}

  /// The type the cache stores K or V data in (int8: bytes).
  Halide::Type storedType(bool) const {
    return int8 ? Halide::UInt(8) : bf16 ? Halide::BFloat(16) : Halide::Float(32);
  }
  /// Elements of one block as that type.
  int blockElements(bool isV) const {
    return int(blockBytes / storedType(isV).bytes());
  }
  /// The stored value of 0: int8 K keeps u8 = q + 128.
  Halide::Expr zero(bool isV) const {
    if (int8)
      return Halide::cast<uint8_t>(isV ? 0 : 128);
    return Halide::cast(storedType(isV), 0.0f);
  }
  /// Element (head dim d, token slot i) of a block, in elements of its type.
  Halide::Expr kIndex(const Halide::Expr &d, const Halide::Expr &i) const {
    return HYBRIDC_KV_K_INDEX(hdp, pk, d, i);
  }
  Halide::Expr vIndex(const Halide::Expr &d, const Halide::Expr &i) const {
    return HYBRIDC_KV_V_INDEX(hdp, pv, d, i);
  }
  /// int8: the scale of (head dim d, token slot i), in f32 units.
  Halide::Expr scaleIndex(const Halide::Expr &d, const Halide::Expr &i) const {
    return HYBRIDC_KV_SCALE_INDEX(hdp, d, i);
  }

  /// A cache's segments viewed as `type`: [KV][blocks][blockBytes / its bytes].
  Halide::ImageParam segments(const char *name, Halide::Type type) const {
    Halide::ImageParam p(type, 3, name);
    p.dim(0).set_bounds(0, int(blockBytes / type.bytes()));
    p.dim(1).set_min(0);
    p.dim(2).set_bounds(0, KV);
    return p;
  }
};

/// The two bf16 halves of a 32-bit pair as exact f32: element `half` (0 the
/// low one, 1 the high one; a constant or an expression).
inline Halide::Expr bf16Half(const Halide::Expr &pair, const Halide::Expr &half) {
  using namespace Halide;
  return reinterpret<float>(select(half == 0, pair << 16, pair & cast<uint32_t>(Expr(uint64_t(0xFFFF0000u)))));
}

/// A cache segment as the attention kernels read it: `data` as f32, as u32
/// pairs of bf16, or as int8 levels (K: u8 = q + 128, V: s8), and for int8
/// `scales` (f32) over the same memory.
struct KvSegmentInput {
  Halide::ImageParam data, scales;
  static Halide::Type dataType(const KvBlockLayout &lay, bool isV) {
    if (lay.int8)
      return isV ? Halide::Int(8) : Halide::UInt(8);
    return lay.bf16 ? Halide::UInt(32) : Halide::Float(32);
  }
  KvSegmentInput(const KvBlockLayout &lay, bool isV, const std::string &name)
      : data(lay.segments(name.c_str(), dataType(lay, isV))),
        scales(lay.int8 ? lay.segments((name + "_scales").c_str(), Halide::Float(32))
                        : Halide::ImageParam()) {}
  void appendTo(std::vector<Halide::ImageParam> &buffers, const KvBlockLayout &lay) const {
    buffers.push_back(data);
    if (lay.int8)
      buffers.push_back(scales);
  }
};

/// Element (kv head g, head dim d) of token `key` as f32: exact for f32 and
/// bf16, the dequantized level q * scale for int8.
inline Halide::Expr kvValue(const KvBlockLayout &lay, const KvSegmentInput &in, bool isV,
                            const Halide::Expr &g, const Halide::Expr &d, const Halide::Expr &key) {
  using namespace Halide;
  const Expr slot = key % HYBRIDC_KV_BLOCK_TOKENS, block = key / HYBRIDC_KV_BLOCK_TOKENS;
  const Expr at = isV ? lay.vIndex(d, slot) : lay.kIndex(d, slot);
  if (lay.bf16) // K pairs two head dims, V two tokens
    return bf16Half(in.data(at / 2, block, g), isV ? slot % 2 : d % 2);
  if (!lay.int8)
    return in.data(at, block, g);
  Expr level = isV ? cast<float>(in.data(at, block, g))
                   : cast<float>(cast<int32_t>(in.data(at, block, g)) - 128);
  return level * in.scales(lay.scaleIndex(d, slot), block, g);
}

} // namespace hybridc::codegen

#endif // HYBRIDC_CODEGEN_KERNELS_KVCACHELAYOUT_H
