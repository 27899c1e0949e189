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
/// input row is first rounded by roundMatmulInputs().
void linear(const float *weight, const float *bias, const float *x,
            int64_t outDim, int64_t inDim, float *y);

/// How the inputs of products with a weight matrix are rounded, as a
/// compiled library's kernels round them: not at all, to bf16 (to nearest,
/// ties to even: vdpbf16ps), or to int8 blocks of 32 consecutive inputs
/// (scale = max |x| / 127, q = round(x / scale) to nearest even: vpdpbusd),
/// or to int4 blocks of 32 (the weights of an int4 library: scale = the
/// value of largest magnitude over -8, q = round(x / scale) in [-8, 7]).
/// Attention, the scan and every reduction are never rounded.
enum class MatmulRounding { None, Bf16, Int8, Int4 };

/// Sets the rounding for this thread while it lives.
class MatmulInputRounding {
public:
  explicit MatmulInputRounding(MatmulRounding mode);
  ~MatmulInputRounding();
  MatmulInputRounding(const MatmulInputRounding &) = delete;
  MatmulInputRounding &operator=(const MatmulInputRounding &) = delete;

private:
  MatmulRounding previous_;
};

/// The rounding in effect on this thread.
MatmulRounding matmulRounding();
/// Rounds the n inputs of one matrix product in place as matmulRounding()
/// says (int8 blocks start at x[0]).
void roundMatmulInputs(float *x, int64_t n);
/// n values rounded to bf16 in place (to nearest, ties to even).
void roundBf16(float *x, int64_t n);
/// An int8 block (n <= 32 values) quantized and dequantized in place.
void roundInt8Block(float *x, int64_t n);
/// An int4 block (n <= 32 values) quantized and dequantized in place.
void roundInt4Block(float *x, int64_t n);

/// How a KV cache stores its rows (runtime/include/hybridc/kv_layout.h):
/// as they are, rounded to bf16, or as int8 blocks of 32 head dims of one
/// kv head (roundInt8Block). Attention then reads the stored values.
enum class KvStorage { F32, Bf16, Int8 };

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
