//===- ReferenceMath.h - numeric primitives of the reference ----*- C++ -*-===//
//
// Values are stored as float (the model's fp32 activations); every reduction
// (dot product, mean of squares, softmax denominator) accumulates in double
// and is rounded to float once. Why double: the reference exists to judge
// other implementations, so its own rounding error should be negligible next
// to the tolerances the tests use (~1e-4 absolute on logits). The result is
// still the fp32 math of the spec, only rounded less often.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_REFERENCE_REFERENCEMATH_H
#define HYBRIDC_TESTS_REFERENCE_REFERENCEMATH_H

#include <cstdint>

namespace hybridc::reference {

/// Σ a[i]·b[i], accumulated in double.
double dot(const float *a, const float *b, int64_t n);

/// y = W·x (+ bias), W row-major [outDim][inDim]; `bias` may be null.
void linear(const float *weight, const float *bias, const float *x,
            int64_t outDim, int64_t inDim, float *y);

/// SiLU(v) = v·sigmoid(v).
float silu(float v);

/// softplus(v) = log(1 + e^v), returning v itself above 20 (the threshold
/// PyTorch and ggml use, docs/model.md).
float softplus(float v);

/// out = weight ⊙ x / sqrt(mean(x²) + eps) over n values (docs/model.md).
/// `out` may alias `x`.
void rmsNorm(const float *x, const float *weight, int64_t n, double eps,
             float *out);

} // namespace hybridc::reference

#endif // HYBRIDC_TESTS_REFERENCE_REFERENCEMATH_H
