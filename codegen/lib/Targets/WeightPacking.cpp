//===- WeightPacking.cpp - weight layouts the kernels read ----------------===//
//
// Pure C++: the compiler packs weights into the blob the runtime maps, and
// the kernels' ImageParams assume exactly these layouts (KernelSpec.h).
//
//===----------------------------------------------------------------------===//
#include "hybridc/Codegen/KernelSpec.h"

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
inline size_t elementBytes(WeightType type) { return type == WeightType::BF16 ? 2 : 4; }

// Grows `bytes` by `n` values of `type` and returns where they go: the
// packers write each value in place (little-endian: x86 only) instead of
// appending byte by byte, which for a 14 GB model is most of the packing time.
uint8_t *grow(std::vector<uint8_t> &bytes, int64_t n, WeightType type) {
  const size_t at = bytes.size();
  bytes.resize(at + size_t(n) * elementBytes(type));
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

namespace {
// Block b of w[OUT][IN]: W[k][l][g] = w[b*L + l][k*G + g] (zero past OUT and
// IN): for one group of inputs the L outputs of the block are adjacent (one
// vector load; with G = 2 each lane holds the bf16 pair vdpbf16ps
// multiplies).
uint8_t *packBlock(const float *w, int64_t out, int64_t in, int64_t b,
                   const LinearPacking &packing, WeightType type, uint8_t *p) {
  const int L = packing.lanes, G = packing.group;
  const int64_t groups = packing.groups(in);
  for (int64_t k = 0; k < groups; ++k)
    for (int l = 0; l < L; ++l)
      for (int g = 0; g < G; ++g) {
        const int64_t o = b * L + l, i = k * G + g;
        p = store(p, o < out && i < in ? w[o * in + i] : 0.0f, type);
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

void packPlain(const float *w, int64_t n, WeightType type, std::vector<uint8_t> &bytes) {
  uint8_t *p = grow(bytes, n, type);
  for (int64_t i = 0; i < n; ++i)
    p = store(p, w[i], type);
}

} // namespace hybridc::codegen
