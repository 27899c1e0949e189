//===- WeightPacking.cpp - weight layouts the kernels read ----------------===//
//
// Pure C++: the compiler packs weights into the blob the runtime maps, and
// the kernels' ImageParams assume exactly these layouts (KernelSpec.h).
//
//===----------------------------------------------------------------------===//
#include "hybridc/Codegen/WeightPacking.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace hybridc::codegen {

uint16_t floatToBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu) != 0) {
    // NaN: truncating could clear every mantissa bit left and turn it into
    // an infinity, so keep the sign and force a quiet-NaN mantissa bit.
    return uint16_t((bits >> 16) | 0x0040u);
  }
  // Round to nearest, ties to even: add 0x7FFF plus the lowest kept bit.
  // Overflow past the largest finite value correctly rounds to infinity.
  uint32_t lsb = (bits >> 16) & 1u;
  bits += 0x7FFFu + lsb;
  return uint16_t(bits >> 16);
}

namespace {
// Bytes of n values of `type` (int4: two per byte; n is then even).
inline size_t storedBytes(int64_t n, WeightType type) {
  switch (type) {
  case WeightType::BF16:
    return size_t(n) * 2;
  case WeightType::INT8:
    return size_t(n);
  case WeightType::INT4:
    return size_t(n) / 2;
  case WeightType::F32:
    break;
  }
  return size_t(n) * 4;
}

// Grows `bytes` by `n` values of `type` and returns where they go: the
// packers write each value in place (little-endian: x86 only) instead of
// appending byte by byte, which for a 14 GB model is most of the packing time.
uint8_t *grow(std::vector<uint8_t> &bytes, int64_t n, WeightType type) {
  const size_t at = bytes.size();
  bytes.resize(at + storedBytes(n, type));
  return bytes.data() + at;
}

inline uint8_t *store(uint8_t *p, float v, WeightType type) {
  if (type == WeightType::BF16) {
    uint16_t h = floatToBF16(v);
    std::memcpy(p, &h, 2);
    return p + 2;
  }
  std::memcpy(p, &v, 4);
  return p + 4;
}
} // namespace

float quantizeInt8Block(const float *x, int n, int8_t *q) {
  const float d = blockScale(x, n, WeightType::INT8);
  for (int i = 0; i < n; ++i)
    q[i] = d == 0 ? 0 : int8_t(std::clamp(std::nearbyint(x[i] / d), -127.0f, 127.0f));
  return d;
}

float quantizeInt4Block(const float *x, int n, int8_t *q) {
  const float d = blockScale(x, n, WeightType::INT4);
  for (int i = 0; i < n; ++i)
    q[i] = d == 0 ? 0 : int8_t(std::clamp(std::nearbyint(x[i] / d), -8.0f, 7.0f));
  return d;
}

float blockScale(const float *x, int n, WeightType type) {
  // int8: max |x| / 127. int4: the value of largest magnitude, signed, over
  // -8, so that value is q = -8 exactly and the other end reaches 7.
  float m = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > std::fabs(m))
      m = x[i];
  return type == WeightType::INT4 ? m / -8.0f : std::fabs(m) / 127.0f;
}

namespace {
// Row o of w[OUT][IN] as int8 or int4 blocks: q (IN padded to whole blocks,
// zero past IN and past OUT) and one scale per block.
void quantizeRow(const float *w, int64_t out, int64_t in, int64_t o, const LinearPacking &p,
                 WeightType type, int8_t *q, float *scales) {
  const int64_t padded = p.paddedInputs(in);
  std::fill(q, q + padded, int8_t(0));
  if (o >= out) {
    std::fill(scales, scales + p.scaleBlocks(in), 0.0f);
    return;
  }
  for (int64_t blk = 0; blk < p.scaleBlocks(in); ++blk) {
    const int64_t first = blk * kQuantBlock;
    const int n = int(std::max<int64_t>(0, std::min<int64_t>(kQuantBlock, in - first)));
    const float *x = w + o * in + first;
    scales[blk] = n == 0                      ? 0.0f
                  : type == WeightType::INT4 ? quantizeInt4Block(x, n, q + first)
                                             : quantizeInt8Block(x, n, q + first);
  }
}

// Block b of w[OUT][IN]: W[k][l][g] = w[b*L + l][k*G + g] (zero past OUT and
// IN): for one group of inputs the L outputs of the block are adjacent (one
// vector load; with G = 2 each lane holds the bf16 pair vdpbf16ps
// multiplies, with G = 4 the four int8 values vpdpbusd does, as q + 128, or
// for int4 two such groups as nibbles q + 8: group 2j low, 2j + 1 high).
uint8_t *packBlock(const float *w, int64_t out, int64_t in, int64_t b,
                   const LinearPacking &packing, WeightType type, uint8_t *p) {
  const int L = packing.lanes, G = packing.group;
  const int64_t groups = packing.groups(in);
  if (isBlockQuantized(type)) {
    const int64_t padded = packing.paddedInputs(in);
    std::vector<int8_t> q(size_t(L * padded));
    std::vector<float> scales(size_t(packing.scaleBlocks(in)));
    for (int l = 0; l < L; ++l)
      quantizeRow(w, out, in, b * L + l, packing, type, &q[size_t(l * padded)], scales.data());
    auto at = [&](int l, int64_t k, int g) { return int(q[size_t(l * padded + k * G + g)]); };
    if (type == WeightType::INT4) {
      for (int64_t k = 0; k < groups; k += 2)
        for (int l = 0; l < L; ++l)
          for (int g = 0; g < G; ++g)
            *p++ = uint8_t((at(l, k, g) + 8) | (at(l, k + 1, g) + 8) << 4);
      return p;
    }
    for (int64_t k = 0; k < groups; ++k)
      for (int l = 0; l < L; ++l)
        for (int g = 0; g < G; ++g)
          *p++ = uint8_t(at(l, k, g) + 128);
    return p;
  }
  for (int64_t k = 0; k < groups; ++k)
    for (int l = 0; l < L; ++l)
      for (int g = 0; g < G; ++g) {
        const int64_t o = b * L + l, i = k * G + g;
        p = store(p, o < out && i < in ? w[o * in + i] : 0.0f, type);
      }
  return p;
}

// The scales of block b of w[OUT][IN]: S[blk][l] f32, each as the block's
// quantizer computes it (blockScale), without the q values.
uint8_t *packBlockScales(const float *w, int64_t out, int64_t in, int64_t b,
                         const LinearPacking &packing, WeightType type, uint8_t *p) {
  const int L = packing.lanes;
  for (int64_t blk = 0; blk < packing.scaleBlocks(in); ++blk)
    for (int l = 0; l < L; ++l) {
      const int64_t o = b * L + l, first = blk * kQuantBlock;
      const int n = o < out ? int(std::max<int64_t>(0, std::min<int64_t>(kQuantBlock, in - first))) : 0;
      p = store(p, n ? blockScale(w + o * in + first, n, type) : 0.0f, WeightType::F32);
    }
  return p;
}
} // namespace

void packLinear(const float *w, int64_t out, int64_t in, const LinearPacking &packing,
                WeightType type, std::vector<uint8_t> &bytes) {
  packExperts(w, 1, out, in, packing, type, bytes);
}

void packExperts(const float *w, int64_t experts, int64_t out, int64_t in,
                 const LinearPacking &packing, WeightType type, std::vector<uint8_t> &bytes) {
  const int64_t blocks = packing.blocks(out), groups = packing.groups(in);
  uint8_t *p = grow(bytes, experts * blocks * groups * packing.lanes * packing.group, type);
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t e = 0; e < experts; ++e)
      p = packBlock(w + e * out * in, out, in, b, packing, type, p);
}

void packLinearScales(const float *w, int64_t out, int64_t in, const LinearPacking &packing,
                      WeightType type, std::vector<uint8_t> &bytes) {
  packExpertScales(w, 1, out, in, packing, type, bytes);
}

void packExpertScales(const float *w, int64_t experts, int64_t out, int64_t in,
                      const LinearPacking &packing, WeightType type,
                      std::vector<uint8_t> &bytes) {
  const int64_t blocks = packing.blocks(out);
  uint8_t *p = grow(bytes, experts * blocks * packing.scaleBlocks(in) * packing.lanes,
                    WeightType::F32);
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t e = 0; e < experts; ++e)
      p = packBlockScales(w + e * out * in, out, in, b, packing, type, p);
}

void packPlain(const float *w, int64_t n, WeightType type, std::vector<uint8_t> &bytes) {
  uint8_t *p = grow(bytes, n, type);
  for (int64_t i = 0; i < n; ++i)
    p = store(p, w[i], type);
}

} // namespace hybridc::codegen
