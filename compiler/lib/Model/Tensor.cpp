//===- Tensor.cpp - element types, dequantization, tensor views -----------===//
//
// The block layouts decoded here are GGUF's (docs/formats.md): Q8_0 and
// Q4_0 store 32 elements with one f16 scale; the K-quants store 256 with an
// f16 super-scale (and super-min) and 6-bit (Q4_K, Q5_K) or 8-bit (Q6_K)
// scales per sub-block of 32 or 16. Values are computed in f32 in the
// order the format's reference dequantizer uses, so they are bit-exact.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Model/Tensor.h"

#include <cstring>
#include <sys/mman.h>
#include <unistd.h>

using namespace hybridc;

llvm::StringRef hybridc::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::BF16:
    return "BF16";
  case DType::F16:
    return "F16";
  case DType::Q8_0:
    return "Q8_0";
  case DType::Q4_0:
    return "Q4_0";
  case DType::Q4_K:
    return "Q4_K";
  case DType::Q5_K:
    return "Q5_K";
  case DType::Q6_K:
    return "Q6_K";
  }
  return "?";
}

DTypeBlock hybridc::dtypeBlock(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return {1, 4};
  case DType::BF16:
  case DType::F16:
    return {1, 2};
  case DType::Q8_0:
    return {32, 2 + 32};
  case DType::Q4_0:
    return {32, 2 + 16};
  case DType::Q4_K:
    return {256, 2 + 2 + 12 + 128};
  case DType::Q5_K:
    return {256, 2 + 2 + 12 + 32 + 128};
  case DType::Q6_K:
    return {256, 128 + 64 + 16 + 2};
  }
  return {1, 4};
}

int64_t hybridc::dtypeBytes(DType dtype, int64_t elements) {
  const DTypeBlock b = dtypeBlock(dtype);
  if (elements < 0 || elements % b.elements != 0)
    return -1;
  int64_t bytes;
  if (__builtin_mul_overflow(elements / b.elements, b.bytes, &bytes))
    return -1;
  return bytes;
}

float hybridc::bf16ToFloat(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, sizeof(f));
  return f;
}

float hybridc::f16ToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) { // inf / nan
    bits = sign | 0x7f800000 | (mant << 13);
  } else if (exp != 0) { // normal
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) { // zero
    bits = sign;
  } else { // subnormal: renormalise
    int shift = 0;
    while (!(mant & 0x400)) {
      mant <<= 1;
      ++shift;
    }
    mant &= 0x3ff;
    bits = sign | (static_cast<uint32_t>(113 - shift) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

namespace {

float f16At(const uint8_t *p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16ToFloat(h);
}

// Q8_0: f16 scale d, then 32 signed bytes q: x = q * d.
void decodeQ8_0(const uint8_t *b, float *y) {
  const float d = f16At(b);
  for (int i = 0; i < 32; ++i)
    y[i] = static_cast<float>(static_cast<int8_t>(b[2 + i])) * d;
}

// Q4_0: f16 scale d, then 16 bytes: the low nibbles are elements 0..15, the
// high nibbles 16..31, each stored as q + 8: x = (nibble - 8) * d.
void decodeQ4_0(const uint8_t *b, float *y) {
  const float d = f16At(b);
  const uint8_t *q = b + 2;
  for (int i = 0; i < 16; ++i) {
    y[i] = static_cast<float>((q[i] & 0x0F) - 8) * d;
    y[i + 16] = static_cast<float>((q[i] >> 4) - 8) * d;
  }
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block,
// packed in 12 bytes: sub-blocks 0-3 in the low 6 bits of bytes 0-3 (scale)
// and 4-7 (min); sub-blocks 4-7 in the nibbles of bytes 8-11 plus the top 2
// bits of bytes 0-3 (scale) and 4-7 (min).
void scaleMin6(int j, const uint8_t *s, uint8_t &sc, uint8_t &mn) {
  if (j < 4) {
    sc = s[j] & 63;
    mn = s[j + 4] & 63;
  } else {
    sc = static_cast<uint8_t>((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
    mn = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// Q4_K and Q5_K: f16 d and dmin, 12 bytes of 6-bit scales and mins, [Q5_K:
// 32 bytes holding a fifth bit per element], 128 bytes of 4-bit values.
// Each 64 elements are two sub-blocks sharing 32 bytes: low nibbles first,
// then high nibbles; x = (d * sc) * q - (dmin * m).
void decodeQ45K(const uint8_t *b, float *y, bool fifthBit) {
  const float d = f16At(b), dmin = f16At(b + 2);
  const uint8_t *scales = b + 4;
  const uint8_t *qh = b + 16;
  const uint8_t *q = fifthBit ? b + 48 : b + 16;
  int bit = 0;
  for (int j = 0; j < 8; j += 2, q += 32, bit += 2) {
    uint8_t sc1, m1, sc2, m2;
    scaleMin6(j, scales, sc1, m1);
    scaleMin6(j + 1, scales, sc2, m2);
    const float d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2;
    for (int l = 0; l < 32; ++l) {
      int lo = q[l] & 0x0F, hi = q[l] >> 4;
      if (fifthBit) {
        lo += (qh[l] >> bit) & 1 ? 16 : 0;
        hi += (qh[l] >> (bit + 1)) & 1 ? 16 : 0;
      }
      y[j * 32 + l] = d1 * static_cast<float>(lo) - min1;
      y[j * 32 + 32 + l] = d2 * static_cast<float>(hi) - min2;
    }
  }
}

// Q6_K: 128 bytes of low 4 bits, 64 bytes of high 2 bits, 16 signed 8-bit
// scales (one per 16 elements), f16 d. Each half of 128 elements takes 64
// low bytes and 32 high bytes; element l + 32k of the half has its low bits
// in nibble (k / 2) of byte l + 32 (k % 2) and its high bits at bit 2k of
// high byte l; x = d * scale * (q - 32).
void decodeQ6K(const uint8_t *b, float *y) {
  const uint8_t *ql = b, *qh = b + 128;
  const int8_t *sc = reinterpret_cast<const int8_t *>(b + 192);
  const float d = f16At(b + 208);
  for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, y += 128)
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
}

} // namespace

void hybridc::decodeElements(DType dtype, const uint8_t *src, int64_t elements, float *out) {
  const DTypeBlock blk = dtypeBlock(dtype);
  for (int64_t i = 0; i < elements; i += blk.elements, src += blk.bytes, out += blk.elements) {
    switch (dtype) {
    case DType::F32:
      std::memcpy(out, src, 4);
      break;
    case DType::BF16: {
      uint16_t h;
      std::memcpy(&h, src, 2);
      *out = bf16ToFloat(h);
      break;
    }
    case DType::F16:
      *out = f16At(src);
      break;
    case DType::Q8_0:
      decodeQ8_0(src, out);
      break;
    case DType::Q4_0:
      decodeQ4_0(src, out);
      break;
    case DType::Q4_K:
      decodeQ45K(src, out, false);
      break;
    case DType::Q5_K:
      decodeQ45K(src, out, true);
      break;
    case DType::Q6_K:
      decodeQ6K(src, out);
      break;
    }
  }
}

int64_t TensorView::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

void TensorView::decode(float *out) const {
  if (derive) {
    derive(out);
    return;
  }
  if (dtype == DType::F32) {
    std::memcpy(out, data, numBytes);
    return;
  }
  decodeElements(dtype, data, numElements(), out);
}

std::vector<float> TensorView::toFloat() const {
  std::vector<float> out(static_cast<size_t>(numElements()));
  decode(out.data());
  return out;
}

float TensorView::at(int64_t i) const {
  if (derive)
    return toFloat()[static_cast<size_t>(i)];
  const DTypeBlock b = dtypeBlock(dtype);
  float block[256];
  decodeElements(dtype, data + (i / b.elements) * b.bytes, b.elements, block);
  return block[i % b.elements];
}

void TensorView::releasePages() const {
  for (const TensorView *s : sources)
    s->releasePages();
  if (!mapped || numBytes == 0)
    return;
  // Whole pages only, rounded outwards: a page shared with a neighbouring
  // tensor is simply read from the file again if that tensor is still used.
  // MADV_DONTNEED on a read-only private file mapping drops no data.
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t begin = reinterpret_cast<uintptr_t>(data) & ~(page - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(data) + numBytes + page - 1) & ~(page - 1);
  ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}
