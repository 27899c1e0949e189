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
// Appends one value in the weight type's little-endian encoding (x86 only,
// so host byte order is little-endian).
inline void appendValue(float v, WeightType type, std::vector<uint8_t> &bytes) {
  if (type == WeightType::BF16) {
    uint16_t h = floatToBF16(v);
    bytes.push_back(uint8_t(h & 0xFF));
    bytes.push_back(uint8_t(h >> 8));
  } else {
    uint8_t raw[4];
    std::memcpy(raw, &v, 4);
    bytes.insert(bytes.end(), raw, raw + 4);
  }
}

inline size_t elementBytes(WeightType type) { return type == WeightType::BF16 ? 2 : 4; }
} // namespace

void packLinear(const float *w, int64_t out, int64_t in, int lanes, WeightType type,
                std::vector<uint8_t> &bytes) {
  const int64_t blocks = (out + lanes - 1) / lanes;
  bytes.reserve(bytes.size() + size_t(blocks * in * lanes) * elementBytes(type));
  // W[ob][i][l] = w[ob*L + l][i]: for one input element the L outputs of a
  // block are adjacent, so the kernel's inner loop is one vector load.
  for (int64_t ob = 0; ob < blocks; ++ob)
    for (int64_t i = 0; i < in; ++i)
      for (int l = 0; l < lanes; ++l) {
        int64_t o = ob * lanes + l;
        appendValue(o < out ? w[o * in + i] : 0.0f, type, bytes);
      }
}

void packPlain(const float *w, int64_t n, WeightType type, std::vector<uint8_t> &bytes) {
  bytes.reserve(bytes.size() + size_t(n) * elementBytes(type));
  for (int64_t i = 0; i < n; ++i)
    appendValue(w[i], type, bytes);
}

} // namespace hybridc::codegen
