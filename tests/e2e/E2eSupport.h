//===- E2eSupport.h - compiled models vs the reference, shared helpers -*- C++ -*-===//
//
// The end-to-end tests load libraries that `hybridc compile` wrote at test
// time (CTest fixtures, see CMakeLists.txt) into <models root>/<variant>/out,
// next to the checkpoint they were compiled from (<variant>/checkpoint), and
// judge them against the plain C++ reference on that same checkpoint.
//
// The library is driven through its own prefixed C API found with dlsym
// (hybridc::CompiledLibrary, RTLD_LOCAL), exactly as a C program would:
// several sessions, other weights files, NULL arguments.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_E2E_E2ESUPPORT_H
#define HYBRIDC_TESTS_E2E_E2ESUPPORT_H

#include "ReferenceModel.h"

#include "hybridc/Run/ModelLibrary.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hybridc::e2e {

// Public status codes; static_asserted against runtime_abi.h in E2eSupport.cpp.
constexpr int kOk = 0, kInvalidArgument = 1, kOutOfMemory = 2, kIo = 3, kFormat = 4,
              kCapacity = 5, kKernel = 6, kCpu = 7, kNoTokenizer = 8;
constexpr int32_t kLogitsLast = 0, kLogitsAll = 1;

/// A compiled variant prepared by a fixture, and how closely it must follow
/// the reference.
struct Variant {
  const char *name;       // folder under the models root, also the test prefix
  double tolerance;       // max |compiled - reference| over every logit
  const char *rationale;  // why that tolerance (printed with failures)
  // How the library stores weights that the checkpoint holds wider (bf16
  // from f32, int8 blocks from f32 or bf16); the reference's are rounded so.
  reference::MatmulRounding weights = reference::MatmulRounding::None;
  // How its kernels round matmul inputs (bf16: vdpbf16ps, int8: vpdpbusd).
  reference::MatmulRounding inputs = reference::MatmulRounding::None;
  // Router logit gap below which the reference's top-K choice is a coin toss
  // at this variant's precision (0: none is). From the first token with such
  // a near tie on, an expert choice may flip and the logits of that token and
  // its successors (through the recurrent state) legitimately move by O(0.1):
  // those rows are held to the argmax only. See rowsBeforeRoutingTie.
  double routingTieMargin = 0;
};

/// f32 weights (or bf16 ones widened exactly) and f32 math: the compiled
/// kernels differ from the reference only in summation order (vector lanes,
/// blocked matmuls, the chunked SSD scan), which for the tiny models' logits
/// (|logit| < ~6) stays well below 1e-4 on every target.
constexpr double kF32Tol = 1e-4;
constexpr const char *kF32Why =
    "f32 weights, f32 math: only summation order differs from the reference";

// int8 weight blocks times int8-quantized activation blocks (vpdpbusd, or
// pairs of products per lane), against a reference that rounds both the
// same way. The first rows agree to ~3e-7 (the integer dot products are
// exact); what moves later rows is an input computed a hair apart on either
// side of a rounding boundary, and one int8 step is 1/127 of the block's
// largest value (bf16's is 2^-8 of the element itself), so each such
// crossing moves a product several times more than with bf16: measured up
// to 0.017 over these tests, hence 3e-2. A wrong scale or block moves the
// logits by O(0.1) or more.
constexpr double kInt8Tol = 3e-2, kInt8Tie = 1.0 / 1024;
constexpr const char *kInt8Why =
    "int8 weights x int8-quantized inputs, the reference rounds them too: rounding-boundary "
    "crossings";
/// An int8-block variant (`experts`: its routing may meet a near tie).
Variant int8Dot(const char *name, bool experts,
                reference::MatmulRounding weights = reference::MatmulRounding::Int8);

/// The golden logits, computed independently of this project's reference,
/// for the golden tiny model (tests/data/golden/tiny-seed1).
struct GoldenData {
  std::vector<int32_t> tokens;
  std::vector<float> logits; // [tokens][512]
};
/// Reads them (test failures when the files are missing or short).
GoldenData readGolden();

/// The models root: $HYBRIDC_E2E_MODELS if set, else the build's folder.
std::string modelsRoot();
std::string variantDir(const std::string &variant);      // <root>/<variant>
std::string checkpointDir(const std::string &variant);   // .../checkpoint
std::string outDir(const std::string &variant);          // .../out
/// A fresh, empty folder for one test's files (weights copies, ...).
std::string scratchDir(const std::string &testName);

/// One dlopen'ed compiled library and its whole C API (shared with hybridc).
using Library = hybridc::CompiledLibrary;

/// Loads the library named by outDir's manifest; when it cannot, records a
/// test failure saying why and returns null (callers ASSERT on it).
std::unique_ptr<Library> loadLibrary(const std::string &outDir);

/// An open model plus one session on it, closed in the destructor.
class Runner {
public:
  /// Opens the library's own weights (or the embedded ones) and a session
  /// with `threads` threads (0: the library's default).
  Runner(const Library &lib, int32_t threads = 2);
  ~Runner();
  Runner(const Runner &) = delete;
  Runner &operator=(const Runner &) = delete;

  bool ok() const { return session_ != nullptr; }
  void *model() const { return model_; }
  void *session() const { return session_; }
  const Library &lib() const { return lib_; }

  /// prefill with LOGITS_ALL: [n][V], or empty after a failed call (then
  /// recorded as a test failure with the status and last_error()).
  std::vector<float> prefillAll(const int32_t *tokens, int64_t n);
  /// prefill with LOGITS_LAST: [V].
  std::vector<float> prefillLast(const int32_t *tokens, int64_t n);
  std::vector<float> decode(int32_t token);

private:
  const Library &lib_;
  void *model_ = nullptr;
  void *session_ = nullptr;
};

/// Deterministic pseudo-random token ids in [0, vocab).
std::vector<int32_t> randomTokens(int64_t n, int32_t vocab, uint32_t seed);

/// The reference model on <variant>/checkpoint with the checkpoint's own
/// config (mamba_chunk_size included). Every weight the compiler stores in
/// the weights dtype (matrices and expert tensors; not the conv, norms,
/// A_log, D, dt_bias, biases or the router, which stay f32) is first rounded
/// the way the compiler's packer rounds: to bf16 (to nearest, ties to even),
/// or to int8 blocks of 32 along each row, the embedding table used for
/// lookups to bf16 then (an int8 library keeps it so).
/// The reference's K and V rows are stored as the variant's library stores
/// them (its manifest's kv_dtype: rounded to bf16 or int8 blocks).
std::unique_ptr<reference::ReferenceModel>
makeVariantReference(const std::string &variant,
                     reference::MatmulRounding weights = reference::MatmulRounding::None);
/// The same with the K and V rows kept in f32 whatever the library does.
std::unique_ptr<reference::ReferenceModel>
makeReferenceWeights(const std::string &variant,
                     reference::MatmulRounding weights = reference::MatmulRounding::None);
/// How the library in `outDir` stores its KV cache (from its manifest).
reference::KvStorage kvStorageOf(const std::string &outDir);
/// The reference a variant is judged against: its weights rounded and its
/// matmul inputs rounded (setMatmulRounding) as the variant says.
std::unique_ptr<reference::ReferenceModel> makeVariantReference(const Variant &variant);

/// Result of comparing rows of logits.
struct Diff {
  double maxAbs = 0;
  int64_t worstRow = -1, worstCol = -1;
  int64_t argmaxMismatches = 0;  // rows whose argmax differs though the
                                 // reference's top-2 gap exceeds 2 * tolerance
  int64_t ambiguousRows = 0;     // rows with a top-2 gap <= 2 * tolerance
  std::string firstMismatch;
};

/// Compares `got` ([rows][V]) with the reference's `want` ([rows][V]).
Diff compareRows(const float *got, const float *want, int64_t rows, int64_t vocab,
                 double tolerance);

/// EXPECTs `got` within `tolerance` of `want` with the same argmax (rows
/// whose reference top-2 gap is within 2 * tolerance are exempt from the
/// argmax check: there a legitimate rounding difference may swap them), and
/// prints the measured error as "[e2e] <label>: max abs ..." for the report.
/// The max-abs bound is the real check: with tied embeddings the sample
/// models' argmax is the input token on every row, whatever the weights.
/// With `exactRows` < rows, only the first exactRows rows are held to the
/// tolerance; the rest to the argmax alone (rows past a near-tie routing
/// choice, see Variant::routingTieMargin), and the report says how many.
void expectClose(const std::string &label, const std::vector<float> &got, const float *want,
                 int64_t rows, int64_t vocab, double tolerance, int64_t exactRows = -1);

/// How far logits `got` are from `want` ([rows][vocab]) as a whole.
struct ErrorStats {
  double maxAbs = 0, meanAbs = 0;
  double medianRowMax = 0; // the median over rows of the row's max |error|
};
ErrorStats errorStats(const float *got, const float *want, int64_t rows, int64_t vocab);

/// For a quantized library: EXPECTs `got` about as close to `want` as
/// `other` (another implementation's logits with the same quantization) is:
/// mean |error| and median row error at most `slack` times other's, and the
/// same argmax as `want` on every row. Means and medians, not maxima: one
/// near-tie expert choice that the quantization tips moves a whole row by
/// O(0.1), in either implementation, on rows of its own. Prints both.
void expectAsAccurateAs(const std::string &label, const std::vector<float> &got,
                        const float *want, const float *other, int64_t rows, int64_t vocab,
                        double slack);

/// How many leading tokens come before the first whose routing margin (the
/// reference's routingMargins()) is below `tieMargin`: all of them when
/// tieMargin is 0.
int64_t rowsBeforeRoutingTie(const std::vector<double> &margins, double tieMargin);

int32_t argmax(const float *row, int64_t n);

/// Whether this CPU can run code built for `target` (an avx512 library would
/// die of SIGILL on an avx2-only CI machine: the tests skip instead); for a
/// library of several variants (`target` a comma list), whether it runs one.
bool cpuRuns(const std::string &target);

/// Copies a file (for the weights-file failure tests).
void copyFile(const std::string &from, const std::string &to);

} // namespace hybridc::e2e

#endif // HYBRIDC_TESTS_E2E_E2ESUPPORT_H
