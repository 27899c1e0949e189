//===- ReferenceMath.cpp --------------------------------------------------===//

#include "ReferenceMath.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace hybridc::reference {

double dot(const float *a, const float *b, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sum += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return sum;
}

namespace {
thread_local MatmulRounding rounding = MatmulRounding::None;

float roundToBf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  if ((bits & 0x7F800000u) == 0x7F800000u)
    return v; // inf and NaN stay
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  bits &= 0xFFFF0000u;
  std::memcpy(&v, &bits, 4);
  return v;
}
} // namespace

MatmulInputRounding::MatmulInputRounding(MatmulRounding mode) : previous_(rounding) {
  rounding = mode;
}
MatmulInputRounding::~MatmulInputRounding() { rounding = previous_; }

MatmulRounding matmulRounding() { return rounding; }

void roundBf16(float *x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = roundToBf16(x[i]);
}

void roundInt8Block(float *x, int64_t n) {
  double amax = 0;
  for (int64_t i = 0; i < n; ++i)
    amax = std::max(amax, std::fabs(double(x[i])));
  const float scale = static_cast<float>(amax) / 127.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (scale == 0) {
      x[i] = 0;
      continue;
    }
    const float q = std::min(127.0f, std::max(-127.0f, std::nearbyint(x[i] / scale)));
    // The product rounds to float (2^-24 relative): nothing next to the
    // 2^-8 steps of the int8 grid.
    x[i] = q * scale;
  }
}

void roundInt4Block(float *x, int64_t n) {
  // The signed value of largest magnitude maps to -8, so the grid reaches
  // it exactly and spends its one extra level on that side.
  float extreme = 0;
  for (int64_t i = 0; i < n; ++i)
    if (std::fabs(x[i]) > std::fabs(extreme))
      extreme = x[i];
  const float scale = extreme / -8.0f;
  for (int64_t i = 0; i < n; ++i)
    x[i] = scale == 0 ? 0.0f
                      : std::min(7.0f, std::max(-8.0f, std::nearbyint(x[i] / scale))) * scale;
}

void roundMatmulInputs(float *x, int64_t n) {
  switch (rounding) {
  case MatmulRounding::None:
    return;
  case MatmulRounding::Bf16:
    for (int64_t i = 0; i < n; ++i)
      x[i] = roundToBf16(x[i]);
    return;
  case MatmulRounding::Int8:
    for (int64_t first = 0; first < n; first += 32)
      roundInt8Block(x + first, std::min<int64_t>(32, n - first));
    return;
  case MatmulRounding::Int4:
    for (int64_t first = 0; first < n; first += 32)
      roundInt4Block(x + first, std::min<int64_t>(32, n - first));
    return;
  }
}

void linear(const float *weight, const float *bias, const float *x,
            int64_t outDim, int64_t inDim, float *y) {
  std::vector<float> in(x, x + inDim);
  roundMatmulInputs(in.data(), inDim);
  for (int64_t o = 0; o < outDim; ++o) {
    double sum = dot(weight + o * inDim, in.data(), inDim);
    if (bias)
      sum += bias[o];
    y[o] = static_cast<float>(sum);
  }
}

float silu(float v) {
  double d = v;
  return static_cast<float>(d / (1.0 + std::exp(-d)));
}

float softplus(float v) {
  if (v > 20.0f)
    return v;
  return static_cast<float>(std::log1p(std::exp(static_cast<double>(v))));
}

void rmsNorm(const float *x, const float *weight, int64_t n, double eps,
             float *out) {
  double sumSquares = dot(x, x, n);
  double inverseRms = 1.0 / std::sqrt(sumSquares / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(weight[i] * (x[i] * inverseRms));
}

} // namespace hybridc::reference
