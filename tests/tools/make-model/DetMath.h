// Deterministic random numbers and transcendental functions for the sample
// model generator.
//
// The generator promises byte-identical output for the same options on any
// machine. std::uniform_real_distribution & co. are implementation-defined,
// and libm's log/exp may differ by an ulp between C libraries, so everything
// here is built from IEEE basic operations only (+ - * /, frexp/ldexp, which
// are exact). The target is compiled with -ffp-contract=off so that the
// compiler cannot fuse a*b+c into an FMA on some targets and not others.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

namespace hybridc::makemodel {

// splitmix64's output mixer. Used in counter mode (see TensorStream), which
// makes element i of a tensor a pure function of (key, i): generation can be
// chunked or parallelised without changing a byte.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// FNV-1a over the tensor name: each tensor gets its own stream, so adding a
// tensor (e.g. --proj-bias) never shifts the values of the others.
inline uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

class TensorStream {
public:
  TensorStream(uint64_t seed, std::string_view name)
      : key_(mix64(mix64(seed + 0x6a09e667f3bcc909ULL) ^ fnv1a64(name))) {}

  uint64_t bits(uint64_t i) const {
    return mix64(key_ + (i + 1) * 0x9e3779b97f4a7c15ULL);
  }
  // Uniform in [0, 1) with 24 random bits: exactly representable in float.
  float unit(uint64_t i) const {
    return static_cast<float>(bits(i) >> 40) * 0x1p-24f;
  }
  // Uniform in (-1, 1), symmetric around 0 (mean exactly 0).
  float signedUnit(uint64_t i) const {
    int32_t v = static_cast<int32_t>(bits(i) >> 40) - (1 << 23);
    return (static_cast<float>(v) + 0.5f) * 0x1p-23f;
  }

private:
  uint64_t key_;
};

constexpr double kLn2 = 0.69314718055994530942;

// Natural log for x > 0. atanh series on the mantissa reduced to
// [sqrt(1/2), sqrt(2)), where |t| <= 0.172 and 30 terms are far past
// double precision.
inline double detLog(double x) {
  int e = 0;
  double m = std::frexp(x, &e); // exact: x = m * 2^e, m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  double t = (m - 1.0) / (m + 1.0);
  double t2 = t * t;
  double term = t, sum = 0.0;
  for (int k = 0; k < 30; ++k) {
    sum += term / static_cast<double>(2 * k + 1);
    term *= t2;
  }
  return 2.0 * sum + static_cast<double>(e) * kLn2;
}

// exp(x) for moderate |x|: x = k ln2 + r with |r| <= ln2/2, Taylor on r.
inline double detExp(double x) {
  double kf = std::floor(x / kLn2 + 0.5);
  double r = x - kf * kLn2;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 28; ++k) {
    term *= r / static_cast<double>(k);
    sum += term;
  }
  return std::ldexp(sum, static_cast<int>(kf));
}

// exp(x) - 1 without cancellation for 0 < x <= ~1 (used for small dt).
inline double detExpm1Small(double x) {
  double term = x, sum = 0.0;
  for (int k = 2; k < 30; ++k) {
    sum += term;
    term *= x / static_cast<double>(k);
  }
  return sum;
}

// float -> bfloat16 bits, round to nearest, ties to even (NaN stays NaN).
inline uint16_t toBF16(float f) {
  uint32_t u;
  static_assert(sizeof(u) == sizeof(f));
  __builtin_memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffU) > 0x7f800000U)
    return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffU + ((u >> 16) & 1U);
  return static_cast<uint16_t>(u >> 16);
}

} // namespace hybridc::makemodel
