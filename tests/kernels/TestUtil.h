//===- TestUtil.h - shared helpers for the kernel tests ---------*- C++ -*-===//
//
// Kernels are JIT-compiled through the same builders the AOT path uses and
// compared against plain C++ loops computed in double. Shared by every
// tests/kernels/*Test.cpp; keep the interface stable.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_KERNELS_TESTUTIL_H
#define HYBRIDC_TESTS_KERNELS_TESTUTIL_H

#include "KernelBuilders.h"
#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Codegen/WeightPacking.h"

#include <Halide.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace hybridc::test {

using hybridc::codegen::KernelSpec;
using hybridc::codegen::TargetSpec;
using hybridc::codegen::WeightType;

/// The explicit targets every kernel test runs on: each named target this
/// CPU can execute (x86-64-avx512-bf16 needs AVX512-BF16; TargetTest's
/// EveryTargetRunsHere reports, as a skip, any target left out).
inline std::vector<std::string> testTargetNames() {
  std::vector<std::string> names;
  for (const std::string &name : hybridc::codegen::knownTargets()) {
    std::string error;
    auto t = hybridc::codegen::resolveTarget(name, error);
    if (name != "host" && t && hybridc::codegen::cpuSupports(*t))
      names.push_back(name);
  }
  return names;
}

inline TargetSpec testTarget(const std::string &name) {
  std::string error;
  auto t = hybridc::codegen::resolveTarget(name, error);
  if (!t)
    throw std::runtime_error(error);
  return *t;
}

/// The Halide target for JIT: the AOT target minus no_runtime (JIT links its
/// own runtime) and user_context (realize() would otherwise need a context
/// argument); the vector features, and so the schedule, stay the same.
inline Halide::Target jitTarget(const TargetSpec &t) {
  return Halide::Target(t.halideTarget)
      .without_feature(Halide::Target::NoRuntime)
      .without_feature(Halide::Target::UserContext);
}

/// Builds `spec` for `target` and JIT-compiles it.
inline hybridc::codegen::BuiltKernel buildJit(const KernelSpec &spec, const TargetSpec &target) {
  hybridc::codegen::BuiltKernel k = hybridc::codegen::buildKernel(spec, target);
  k.pipeline.compile_jit(jitTarget(target));
  return k;
}

/// Deterministic uniform random floats in [lo, hi).
inline std::vector<float> randomVector(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

/// Deterministic uniform random ints in [lo, hi].
inline std::vector<int32_t> randomInts(size_t n, uint32_t seed, int32_t lo, int32_t hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(lo, hi);
  std::vector<int32_t> v(n);
  for (int32_t &x : v)
    x = dist(rng);
  return v;
}

/// bf16 round trip (round to nearest even), as the packed weights see it.
inline float roundBF16(float f) {
  uint16_t h = hybridc::codegen::floatToBF16(f);
  uint32_t bits = uint32_t(h) << 16;
  float r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}

/// The values a weight of `type` really holds.
inline std::vector<float> roundedTo(const std::vector<float> &v, WeightType type) {
  if (type == WeightType::F32)
    return v;
  std::vector<float> r(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    r[i] = roundBF16(v[i]);
  return r;
}

/// A row of `n` values as an int8 / int4 matmul multiplies it (weights as
/// the packer stores them, activations as the kernels quantize them, always
/// int8): blocks of kQuantBlock, quantized as `type` says and dequantized.
inline std::vector<float> blockSeen(const float *v, int n, WeightType type = WeightType::INT8) {
  std::vector<float> out(static_cast<size_t>(n));
  for (int first = 0; first < n; first += hybridc::codegen::kQuantBlock) {
    const int m = std::min(hybridc::codegen::kQuantBlock, n - first);
    int8_t q[hybridc::codegen::kQuantBlock];
    const float d = type == WeightType::INT4
                        ? hybridc::codegen::quantizeInt4Block(v + first, m, q)
                        : hybridc::codegen::quantizeInt8Block(v + first, m, q);
    for (int i = 0; i < m; ++i)
      out[size_t(first + i)] = float(q[i]) * d;
  }
  return out;
}

/// Every row of a [rows][cols] matrix so.
inline std::vector<float> blockSeenRows(const std::vector<float> &m, int rows, int cols,
                                        WeightType type = WeightType::INT8) {
  std::vector<float> out;
  out.reserve(m.size());
  for (int r = 0; r < rows; ++r) {
    std::vector<float> row = blockSeen(&m[size_t(r) * cols], cols, type);
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

/// The activations a packed matmul really multiplies: rounded to bf16 where
/// the packing pairs bf16 inputs (the kernels round them the same way).
inline std::vector<float> inputsSeen(const std::vector<float> &x,
                                     const hybridc::codegen::LinearPacking &p) {
  return p.group > 1 ? roundedTo(x, WeightType::BF16) : x;
}

/// Row-major shape (outermost first) to a Halide buffer of `T` with dim 0 the
/// last (innermost) extent. Halide::Buffer takes sizes innermost first.
template <typename T>
Halide::Buffer<T> makeBuffer(const std::vector<int> &rowMajorShape) {
  std::vector<int> sizes(rowMajorShape.rbegin(), rowMajorShape.rend());
  return Halide::Buffer<T>(sizes);
}

/// A row-major f32/i32 buffer filled from `data` (size must match).
template <typename T>
Halide::Buffer<T> bufferFrom(const std::vector<T> &data, const std::vector<int> &rowMajorShape) {
  Halide::Buffer<T> b = makeBuffer<T>(rowMajorShape);
  size_t n = 1;
  for (int s : rowMajorShape)
    n *= size_t(s);
  EXPECT_EQ(n, data.size());
  std::memcpy(b.data(), data.data(), std::min(n, data.size()) * sizeof(T));
  return b;
}

/// A raw byte blob (e.g. from packLinear / packPlain) viewed as a Halide
/// buffer of `type` with the given row-major shape. The returned buffer owns
/// a copy of the bytes.
inline Halide::Buffer<> bufferFromBytes(const std::vector<uint8_t> &bytes, Halide::Type type,
                                        const std::vector<int> &rowMajorShape) {
  std::vector<int> sizes(rowMajorShape.rbegin(), rowMajorShape.rend());
  Halide::Buffer<> b(type, sizes);
  size_t n = b.size_in_bytes();
  EXPECT_EQ(n, bytes.size());
  std::memcpy(b.data(), bytes.data(), std::min(n, bytes.size()));
  return b;
}

/// w[out][in] packed by packLinear as the kernels read it, W[NB][KG][L][G];
/// with `experts` > 0, w[E][out][in] packed by packExperts, W[NB][E][KG][L][G].
inline Halide::Buffer<> packedWeightBuffer(const float *w, int out, int in,
                                           const hybridc::codegen::LinearPacking &p,
                                           WeightType type, int experts = 0) {
  std::vector<uint8_t> bytes;
  std::vector<int> shape{int(p.blocks(out)), int(p.storedGroups(in)), p.lanes, p.group};
  if (experts > 0) {
    hybridc::codegen::packExperts(w, experts, out, in, p, type, bytes);
    shape.insert(shape.begin() + 1, experts);
  } else {
    hybridc::codegen::packLinear(w, out, in, p, type, bytes);
  }
  return bufferFromBytes(bytes, hybridc::codegen::halideType(type), shape);
}

/// The int8 / int4 scales of w[E][out][in] as the kernels read them.
inline Halide::Buffer<> packedScaleBuffer(const float *w, int out, int in,
                                          const hybridc::codegen::LinearPacking &p,
                                          WeightType type, int experts = 0) {
  std::vector<uint8_t> bytes;
  std::vector<int> shape{int(p.blocks(out)), int(p.scaleBlocks(in)), p.lanes};
  if (experts > 0) {
    hybridc::codegen::packExpertScales(w, experts, out, in, p, type, bytes);
    shape.insert(shape.begin() + 1, experts);
  } else {
    hybridc::codegen::packLinearScales(w, out, in, p, type, bytes);
  }
  return bufferFromBytes(bytes, Halide::Float(32), shape);
}

/// Copies a dense Halide buffer (any dims, stride-1 innermost) out as a flat
/// row-major vector.
template <typename T>
std::vector<T> toVector(const Halide::Buffer<T> &b) {
  std::vector<T> v(b.number_of_elements());
  std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
  return v;
}

/// max |got - want| / max(max |want|, floor). Relative-to-max error: robust
/// for outputs that cross zero.
inline double relMaxError(const std::vector<float> &got, const std::vector<double> &want,
                          double floor = 1e-6) {
  double maxAbs = floor, maxErr = 0;
  for (double w : want)
    maxAbs = std::max(maxAbs, std::fabs(w));
  size_t n = std::min(got.size(), want.size());
  for (size_t i = 0; i < n; ++i) {
    double e = std::fabs(double(got[i]) - want[i]);
    if (!(e <= maxErr)) // also catches NaN
      maxErr = std::isnan(e) ? INFINITY : e;
  }
  return maxErr / maxAbs;
}

/// gtest check: sizes match and relative-to-max error is within `tol`.
inline ::testing::AssertionResult closeRel(const std::vector<float> &got,
                                           const std::vector<double> &want, double tol) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure()
           << "size " << got.size() << " != expected " << want.size();
  double err = relMaxError(got, want);
  if (err <= tol)
    return ::testing::AssertionSuccess();
  // Report the worst element for debugging.
  size_t worst = 0;
  double worstErr = -1;
  for (size_t i = 0; i < got.size(); ++i) {
    double e = std::fabs(double(got[i]) - want[i]);
    if (std::isnan(e) || e > worstErr) {
      worst = i;
      worstErr = std::isnan(e) ? INFINITY : e;
    }
  }
  return ::testing::AssertionFailure() << "relative-to-max error " << err << " > " << tol
                                       << " (worst at flat index " << worst << ": got "
                                       << got[worst] << ", want " << want[worst] << ")";
}

/// The token counts every kernel is checked at (T is dynamic).
inline std::vector<int> testTokenCounts() { return {1, 3, 17, 64}; }

/// Canonical f32 relative-to-max tolerance.
constexpr double kTolF32 = 1e-5;

} // namespace hybridc::test

#endif // HYBRIDC_TESTS_KERNELS_TESTUTIL_H
