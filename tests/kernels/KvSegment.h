//===- KvSegment.h - a KV cache built by plain loops ------------*- C++ -*-===//
//
// The kernel tests' oracle of the KV cache format: one attention layer's K
// (or V) cache, a segment per kv head side by side, rows written one
// element at a time through kv_layout.h's index functions, bf16 rounding
// and int8 quantization done by the packer's own functions (floatToBF16,
// quantizeInt8Block), and read back as the values the attention must see.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_KERNELS_KVSEGMENT_H
#define HYBRIDC_TESTS_KERNELS_KVSEGMENT_H

#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Codegen/WeightPacking.h"
#include "hybridc/kv_layout.h"

#include <Halide.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace hybridc::test {

class KvSegment {
public:
  /// A cache of `kv` heads of `tokens` tokens each (rounded up to whole
  /// blocks), every byte `fill`.
  KvSegment(int32_t dtype, int kv, int hd, int64_t tokens, uint8_t fill = 0)
      : dtype_(dtype), kv_(kv), hd_(hd),
        hdp_(int(hybridc_kv_padded_head_dim(dtype, hd))),
        blockBytes_(hybridc_kv_row_bytes(dtype, hd) * HYBRIDC_KV_BLOCK_TOKENS),
        blocks_(hybridc_kv_round_tokens(tokens) / HYBRIDC_KV_BLOCK_TOKENS),
        words_(size_t(blockBytes_ * blocks_ * kv + 3) / 4) {
    std::memset(words_.data(), fill, words_.size() * 4);
  }

  int64_t blocks() const { return blocks_; }
  int64_t blockBytes() const { return blockBytes_; }
  uint8_t *bytes() { return reinterpret_cast<uint8_t *>(words_.data()); }
  const uint8_t *bytes() const { return reinterpret_cast<const uint8_t *>(words_.data()); }
  size_t size() const { return size_t(blockBytes_ * blocks_ * kv_); }
  /// Where block `b` of head `g` starts.
  uint8_t *block(int g, int64_t b) { return bytes() + (g * blocks_ + b) * blockBytes_; }
  const uint8_t *block(int g, int64_t b) const {
    return bytes() + (g * blocks_ + b) * blockBytes_;
  }

  /// Fills head g's blocks [0, blocks) with `byte` (the tests' "never read"
  /// pattern past the cache's used part).
  void fillFrom(int64_t firstBlock, uint8_t byte) {
    for (int g = 0; g < kv_; ++g)
      std::memset(block(g, firstBlock), byte, size_t((blocks_ - firstBlock) * blockBytes_));
  }

  /// Token `token`'s row [kv][hd] (of a K cache, or of a V cache with isV),
  /// stored as the kv_append kernel stores it, padding included.
  void store(bool isV, int64_t token, const float *row) {
    const int64_t blk = token / HYBRIDC_KV_BLOCK_TOKENS, slot = token % HYBRIDC_KV_BLOCK_TOKENS;
    for (int g = 0; g < kv_; ++g) {
      uint8_t *base = block(g, blk);
      std::vector<float> head(size_t(hdp_), 0.0f);
      std::copy(row + g * hd_, row + (g + 1) * hd_, head.begin());
      std::vector<int8_t> q(size_t(hdp_), 0);
      std::vector<float> scale(size_t(hdp_ / HYBRIDC_KV_SCALE_BLOCK + 1), 0.0f);
      if (dtype_ == HYBRIDC_KV_INT8)
        for (int b = 0; b * HYBRIDC_KV_SCALE_BLOCK < hdp_; ++b)
          scale[size_t(b)] = codegen::quantizeInt8Block(&head[size_t(b) * HYBRIDC_KV_SCALE_BLOCK],
                                                        HYBRIDC_KV_SCALE_BLOCK,
                                                        &q[size_t(b) * HYBRIDC_KV_SCALE_BLOCK]);
      for (int d = 0; d < hdp_; ++d) {
        const int64_t at = isV ? hybridc_kv_v_index(dtype_, hd_, d, slot)
                               : hybridc_kv_k_index(dtype_, hd_, d, slot);
        switch (dtype_) {
        case HYBRIDC_KV_F32:
          std::memcpy(base + 4 * at, &head[size_t(d)], 4);
          break;
        case HYBRIDC_KV_BF16: {
          const uint16_t h = codegen::floatToBF16(head[size_t(d)]);
          std::memcpy(base + 2 * at, &h, 2);
          break;
        }
        default: // int8: K as q + 128, V as the s8 byte
          base[at] = isV ? uint8_t(q[size_t(d)]) : uint8_t(int(q[size_t(d)]) + 128);
          if (d % HYBRIDC_KV_SCALE_BLOCK == 0)
            std::memcpy(base + 4 * hybridc_kv_scale_index(hd_, d, slot),
                        &scale[size_t(d / HYBRIDC_KV_SCALE_BLOCK)], 4);
        }
      }
    }
  }

  /// What the attention must read for (token, kv head g, head dim d).
  float value(bool isV, int64_t token, int g, int d) const {
    const int64_t blk = token / HYBRIDC_KV_BLOCK_TOKENS, slot = token % HYBRIDC_KV_BLOCK_TOKENS;
    const uint8_t *base = block(g, blk);
    const int64_t at = isV ? hybridc_kv_v_index(dtype_, hd_, d, slot)
                           : hybridc_kv_k_index(dtype_, hd_, d, slot);
    switch (dtype_) {
    case HYBRIDC_KV_F32: {
      float f;
      std::memcpy(&f, base + 4 * at, 4);
      return f;
    }
    case HYBRIDC_KV_BF16: {
      uint16_t h;
      std::memcpy(&h, base + 2 * at, 2);
      const uint32_t bits = uint32_t(h) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    default: {
      float s;
      std::memcpy(&s, base + 4 * hybridc_kv_scale_index(hd_, d, slot), 4);
      const int q = isV ? int(int8_t(base[at])) : int(base[at]) - 128;
      return float(q) * s;
    }
    }
  }

  /// The cache as a [kv][blocks][..] Halide buffer of `type` over its
  /// memory (not a copy: views of one cache share it).
  Halide::Buffer<> view(Halide::Type type) {
    return Halide::Buffer<>(type, bytes(), int(blockBytes_ / type.bytes()), int(blocks_), kv_);
  }

private:
  int32_t dtype_;
  int kv_, hd_, hdp_;
  int64_t blockBytes_, blocks_;
  std::vector<uint32_t> words_; // 4-byte aligned storage
};

} // namespace hybridc::test

#endif // HYBRIDC_TESTS_KERNELS_KVSEGMENT_H
