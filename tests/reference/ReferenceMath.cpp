//===- ReferenceMath.cpp --------------------------------------------------===//

#include "ReferenceMath.h"

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
thread_local bool roundMatmulInputs = false;

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

Bf16MatmulInputs::Bf16MatmulInputs(bool on) : previous_(roundMatmulInputs) {
  roundMatmulInputs = on;
}
Bf16MatmulInputs::~Bf16MatmulInputs() { roundMatmulInputs = previous_; }

float matmulInput(float v) { return roundMatmulInputs ? roundToBf16(v) : v; }
bool matmulInputsRounded() { return roundMatmulInputs; }

void linear(const float *weight, const float *bias, const float *x,
            int64_t outDim, int64_t inDim, float *y) {
  std::vector<float> in(x, x + inDim);
  for (float &v : in)
    v = matmulInput(v);
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
