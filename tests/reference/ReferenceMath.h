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

/// y = W·x (+ bias), W row-major [outDim][inDim]; `bias` may be null. The
/// inputs pass through matmulInput() first.
void linear(const float *weight, const float *bias, const float *x,
            int64_t outDim, int64_t inDim, float *y);

/// While one of these lives on a thread, matmulInput() rounds to bf16 (to
/// nearest, ties to even) on that thread: the reference of a library whose
/// kernels multiply bf16 weights by bf16-rounded activations (vdpbf16ps).
/// Only the inputs of products with a weight matrix are rounded; attention,
/// the scan and every reduction stay as they are.
class Bf16MatmulInputs {
public:
  explicit Bf16MatmulInputs(bool on);
  ~Bf16MatmulInputs();
  Bf16MatmulInputs(const Bf16MatmulInputs &) = delete;
  Bf16MatmulInputs &operator=(const Bf16MatmulInputs &) = delete;

private:
  bool previous_;
};

/// An activation as a product with a weight matrix sees it: unchanged, or
/// rounded to bf16 inside a Bf16MatmulInputs scope.
float matmulInput(float v);
/// Whether matmulInput() rounds on this thread now.
bool matmulInputsRounded();

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
