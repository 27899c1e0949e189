//===- E2eSupport.cpp - compiled models vs the reference, shared helpers ---===//
#include "E2eSupport.h"

#include "ReferenceFromCheckpoint.h"
#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Model/Checkpoint.h"
#include "hybridc/Run/Manifest.h"
#include "hybridc/runtime_abi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace hybridc::e2e {

// The tests spell the statuses themselves (the generated header is per
// model); they must stay the runtime's.
static_assert(kOk == HYBRIDC_OK && kInvalidArgument == HYBRIDC_ERR_INVALID_ARGUMENT &&
                  kOutOfMemory == HYBRIDC_ERR_OUT_OF_MEMORY && kIo == HYBRIDC_ERR_IO &&
                  kFormat == HYBRIDC_ERR_FORMAT && kCapacity == HYBRIDC_ERR_CAPACITY &&
                  kKernel == HYBRIDC_ERR_KERNEL && kCpu == HYBRIDC_ERR_CPU &&
                  kNoTokenizer == HYBRIDC_ERR_NO_TOKENIZER,
              "status codes mirror runtime_abi.h");
static_assert(kLogitsLast == HYBRIDC_LOGITS_LAST && kLogitsAll == HYBRIDC_LOGITS_ALL,
              "flags mirror runtime_abi.h");

std::string modelsRoot() {
  if (const char *env = std::getenv("HYBRIDC_E2E_MODELS"); env && *env)
    return env;
  return HYBRIDC_E2E_MODELS_DIR;
}
std::string variantDir(const std::string &variant) { return modelsRoot() + "/" + variant; }
std::string checkpointDir(const std::string &variant) {
  return variantDir(variant) + "/checkpoint";
}
std::string outDir(const std::string &variant) { return variantDir(variant) + "/out"; }

std::string scratchDir(const std::string &testName) {
  std::string dir = modelsRoot() + "/scratch/" + testName;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  EXPECT_FALSE(ec) << "cannot create " << dir << ": " << ec.message();
  return dir;
}

//===----------------------------------------------------------------------===//
// Library / Runner
//===----------------------------------------------------------------------===//

std::unique_ptr<Library> loadLibrary(const std::string &dir) {
  llvm::Expected<std::unique_ptr<Library>> lib = Library::load(dir);
  if (!lib) {
    ADD_FAILURE() << "no usable compiled model in " << dir << " (did its CTest fixture "
                  << "e2e-prepare-* run and pass?): " << llvm::toString(lib.takeError());
    return nullptr;
  }
  return std::move(*lib);
}

Runner::Runner(const Library &lib, int32_t threads) : lib_(lib) {
  std::string weights = lib.weightsPath();
  int st = lib.modelOpen(weights.empty() ? nullptr : weights.c_str(), &model_);
  if (st != kOk) {
    ADD_FAILURE() << lib.manifest().name << "_model_open(" << weights << ") = " << st << ": "
                  << lib.lastError();
    model_ = nullptr;
    return;
  }
  st = lib.sessionCreate(model_, &session_);
  if (st == kOk && threads > 0)
    st = lib.sessionSetThreads(session_, threads);
  if (st != kOk) {
    ADD_FAILURE() << "session setup = " << st << ": " << lib.lastError();
    lib.sessionFree(session_);
    session_ = nullptr;
  }
}

Runner::~Runner() {
  lib_.sessionFree(session_);
  lib_.modelClose(model_);
}

std::vector<float> Runner::prefillAll(const int32_t *tokens, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n) * lib_.vocab());
  int st = lib_.prefill(session_, tokens, n, out.data(), kLogitsAll);
  if (st != kOk) {
    ADD_FAILURE() << "prefill of " << n << " tokens (LOGITS_ALL) at position "
                  << lib_.sessionPosition(session_) << " = " << st << ": " << lib_.lastError();
    return {};
  }
  return out;
}

std::vector<float> Runner::prefillLast(const int32_t *tokens, int64_t n) {
  std::vector<float> out(static_cast<size_t>(lib_.vocab()));
  int st = lib_.prefill(session_, tokens, n, out.data(), kLogitsLast);
  if (st != kOk) {
    ADD_FAILURE() << "prefill of " << n << " tokens (LOGITS_LAST) at position "
                  << lib_.sessionPosition(session_) << " = " << st << ": " << lib_.lastError();
    return {};
  }
  return out;
}

std::vector<float> Runner::decode(int32_t token) {
  std::vector<float> out(static_cast<size_t>(lib_.vocab()));
  int st = lib_.decode(session_, token, out.data());
  if (st != kOk) {
    ADD_FAILURE() << "decode of token " << token << " at position "
                  << lib_.sessionPosition(session_) << " = " << st << ": " << lib_.lastError();
    return {};
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Reference
//===----------------------------------------------------------------------===//

std::vector<int32_t> randomTokens(int64_t n, int32_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, vocab - 1);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto &x : t)
    x = dist(rng);
  return t;
}

static float roundToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7F800000u) != 0x7F800000u) { // finite: round to nearest, ties to even
    bits += 0x7FFFu + ((bits >> 16) & 1u);
  }
  bits &= 0xFFFF0000u;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// Whether the compiler packs this tensor in the weights dtype: the linear /
/// expert / embedding matrices. The conv weight is rank 3 but stays f32 (its
/// kernel reads a plain f32 [C][K] view), as do all rank-1 parameters.
static bool storedInWeightsDtype(const TensorView &t) {
  // Matrices, but not the conv weight nor the router (always f32).
  return t.shape.size() >= 2 && t.name.find("conv1d") == std::string::npos &&
         t.name.find("block_sparse_moe.router") == std::string::npos;
}

/// `v` (the values of `t`) rounded as a library with weights of type
/// `mode` stores it; `lookupTable`: the embedding table as the lookup reads
/// it, which an int8 or int4 library keeps in bf16.
static void roundWeight(const TensorView &t, reference::MatmulRounding mode, bool lookupTable,
                        bool lmHead, std::vector<float> &v) {
  using reference::MatmulRounding;
  if (mode == MatmulRounding::None || !storedInWeightsDtype(t))
    return;
  // An int4 library keeps lm_head and the attention K/V projections int8.
  auto endsWith = [&](const std::string &suffix) {
    return t.name.size() >= suffix.size() &&
           t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (mode == MatmulRounding::Int4 &&
      (lmHead || endsWith("self_attn.k_proj.weight") || endsWith("self_attn.v_proj.weight")))
    mode = MatmulRounding::Int8;
  if (mode == MatmulRounding::Bf16 || lookupTable) {
    for (float &x : v)
      x = roundToBf16(x);
    return;
  }
  const int64_t in = t.shape.back(); // blocks run along each row
  for (int64_t row = 0; row < int64_t(v.size()) / in; ++row)
    for (int64_t first = 0; first < in; first += 32) {
      float *block = &v[row * in + first];
      const int64_t n = std::min<int64_t>(32, in - first);
      if (mode == MatmulRounding::Int4)
        reference::roundInt4Block(block, n);
      else
        reference::roundInt8Block(block, n);
    }
}

reference::KvStorage kvStorageOf(const std::string &outDir) {
  llvm::Expected<Manifest> m = readManifest(outDir);
  if (!m) {
    ADD_FAILURE() << "cannot read the manifest of " << outDir << ": "
                  << llvm::toString(m.takeError());
    return reference::KvStorage::F32;
  }
  if (!m->description) {
    ADD_FAILURE() << outDir << ": the manifest has no description (its KV dtype)";
    return reference::KvStorage::F32;
  }
  switch (m->description->memory.kvDtype) {
  case HYBRIDC_KV_BF16:
    return reference::KvStorage::Bf16;
  case HYBRIDC_KV_INT8:
    return reference::KvStorage::Int8;
  default:
    return reference::KvStorage::F32;
  }
}

std::unique_ptr<reference::ReferenceModel>
makeVariantReference(const std::string &variant, reference::MatmulRounding weights) {
  std::unique_ptr<reference::ReferenceModel> ref = makeReferenceWeights(variant, weights);
  if (ref)
    ref->setKvStorage(kvStorageOf(outDir(variant)));
  return ref;
}

std::unique_ptr<reference::ReferenceModel>
makeReferenceWeights(const std::string &variant, reference::MatmulRounding weights) {
  auto checkpoint = Checkpoint::open(checkpointDir(variant));
  if (!checkpoint) {
    ADD_FAILURE() << "cannot open the checkpoint of " << variant << ": "
                  << llvm::toString(checkpoint.takeError());
    return nullptr;
  }
  const Checkpoint &ck = **checkpoint;
  if (weights == reference::MatmulRounding::None)
    return reference::makeReference(ck);
  const std::string table = "model.embed_tokens.weight";
  const std::string lmHead = lmHeadTensorName(ck.config());
  auto load = [&](const std::string &name, bool lookup) {
    const TensorView &t = ck.get(name);
    std::vector<float> v = t.toFloat();
    roundWeight(t, weights, lookup, name == lmHead && !lookup, v);
    return v;
  };
  auto ref = std::make_unique<reference::ReferenceModel>(
      ck.config(), [&](const std::string &name) { return load(name, name == table); });
  // Tied, the table is also the lm_head matrix, which the library packs
  // like any other (int8 or int4 blocks) apart from the lookup's copy.
  const bool blocks = weights == reference::MatmulRounding::Int8 ||
                      weights == reference::MatmulRounding::Int4;
  if (blocks && lmHead == table)
    ref->setLmHead(load(table, false));
  return ref;
}

std::unique_ptr<reference::ReferenceModel> makeVariantReference(const Variant &variant) {
  auto ref = makeVariantReference(variant.name, variant.weights);
  if (ref)
    ref->setMatmulRounding(variant.inputs);
  return ref;
}

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

int32_t argmax(const float *row, int64_t n) {
  return static_cast<int32_t>(std::max_element(row, row + n) - row);
}

/// Gap between the largest and second largest entries.
static double top2Gap(const float *row, int64_t n) {
  float a = -INFINITY, b = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    if (row[i] > a) {
      b = a;
      a = row[i];
    } else if (row[i] > b) {
      b = row[i];
    }
  }
  return static_cast<double>(a) - b;
}

Diff compareRows(const float *got, const float *want, int64_t rows, int64_t vocab,
                 double tolerance) {
  Diff d;
  for (int64_t r = 0; r < rows; ++r) {
    const float *g = got + r * vocab, *w = want + r * vocab;
    for (int64_t c = 0; c < vocab; ++c) {
      // NaN in `got` must count as an error, hence the negated comparison.
      double e = std::fabs(static_cast<double>(g[c]) - w[c]);
      if (!(e <= d.maxAbs)) {
        d.maxAbs = std::isnan(e) ? INFINITY : e;
        d.worstRow = r;
        d.worstCol = c;
      }
    }
    if (top2Gap(w, vocab) <= 2 * tolerance) {
      ++d.ambiguousRows;
      continue;
    }
    int32_t ag = argmax(g, vocab), aw = argmax(w, vocab);
    if (ag != aw) {
      if (d.argmaxMismatches++ == 0) {
        std::ostringstream os;
        os << "row " << r << ": argmax " << ag << " (" << g[ag] << "), reference " << aw
           << " (" << w[aw] << ")";
        d.firstMismatch = os.str();
      }
    }
  }
  return d;
}

void expectClose(const std::string &label, const std::vector<float> &got, const float *want,
                 int64_t rows, int64_t vocab, double tolerance, int64_t exactRows) {
  ASSERT_EQ(got.size(), static_cast<size_t>(rows * vocab)) << label << ": no logits";
  if (exactRows < 0 || exactRows > rows)
    exactRows = rows;
  Diff d = compareRows(got.data(), want, exactRows, vocab, tolerance);
  Diff after = compareRows(got.data() + exactRows * vocab, want + exactRows * vocab,
                           rows - exactRows, vocab, tolerance);
  std::printf("[e2e] %s: max abs %.3g (row %lld col %lld), %lld argmax mismatches, %lld "
              "ambiguous rows, %lld rows",
              label.c_str(), d.maxAbs, static_cast<long long>(d.worstRow),
              static_cast<long long>(d.worstCol),
              static_cast<long long>(d.argmaxMismatches + after.argmaxMismatches),
              static_cast<long long>(d.ambiguousRows + after.ambiguousRows),
              static_cast<long long>(rows));
  if (exactRows < rows)
    std::printf("; the last %lld (from a near-tie expert choice on) by argmax only, max abs "
                "%.3g there",
                static_cast<long long>(rows - exactRows), after.maxAbs);
  std::printf("\n");
  EXPECT_LE(d.maxAbs, tolerance)
      << label << ": worst logit at row " << d.worstRow << " col " << d.worstCol << ": got "
      << (d.worstRow >= 0 ? got[d.worstRow * vocab + d.worstCol] : 0.f) << ", reference "
      << (d.worstRow >= 0 ? want[d.worstRow * vocab + d.worstCol] : 0.f);
  EXPECT_EQ(d.argmaxMismatches, 0) << label << ": first at " << d.firstMismatch;
  EXPECT_EQ(after.argmaxMismatches, 0)
      << label << ": past the near tie, first at row +" << exactRows << ": "
      << after.firstMismatch;
}

ErrorStats errorStats(const float *got, const float *want, int64_t rows, int64_t vocab) {
  ErrorStats s;
  std::vector<double> rowMax(static_cast<size_t>(rows));
  double sum = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < vocab; ++c) {
      const double e = std::fabs(double(got[r * vocab + c]) - double(want[r * vocab + c]));
      sum += std::isnan(e) ? INFINITY : e;
      rowMax[r] = std::max(rowMax[r], std::isnan(e) ? INFINITY : e);
    }
    s.maxAbs = std::max(s.maxAbs, rowMax[r]);
  }
  s.meanAbs = rows ? sum / double(rows * vocab) : 0;
  if (rows) {
    std::nth_element(rowMax.begin(), rowMax.begin() + rows / 2, rowMax.end());
    s.medianRowMax = rowMax[rows / 2];
  }
  return s;
}

void expectAsAccurateAs(const std::string &label, const std::vector<float> &got,
                        const float *want, const float *other, int64_t rows, int64_t vocab,
                        double slack) {
  ASSERT_EQ(got.size(), static_cast<size_t>(rows * vocab)) << label << ": no logits";
  const ErrorStats ours = errorStats(got.data(), want, rows, vocab);
  const ErrorStats theirs = errorStats(other, want, rows, vocab);
  std::printf("[e2e] %s: mean abs %.3g, median row max %.3g, max abs %.3g (the other: %.3g, "
              "%.3g, %.3g)\n",
              label.c_str(), ours.meanAbs, ours.medianRowMax, ours.maxAbs, theirs.meanAbs,
              theirs.medianRowMax, theirs.maxAbs);
  EXPECT_LE(ours.meanAbs, slack * theirs.meanAbs) << label;
  EXPECT_LE(ours.medianRowMax, slack * theirs.medianRowMax) << label;
  for (int64_t r = 0; r < rows; ++r)
    EXPECT_EQ(argmax(&got[r * vocab], vocab), argmax(want + r * vocab, vocab))
        << label << ": row " << r;
}

int64_t rowsBeforeRoutingTie(const std::vector<double> &margins, double tieMargin) {
  for (size_t i = 0; i < margins.size(); ++i)
    if (margins[i] < tieMargin)
      return static_cast<int64_t>(i);
  return static_cast<int64_t>(margins.size());
}

bool cpuRuns(const std::string &target) {
  // A library of several variants (a comma list) runs if one of them does.
  std::string error;
  std::optional<std::vector<hybridc::codegen::TargetSpec>> specs =
      hybridc::codegen::resolveTargets(target, error);
  if (!specs)
    return false;
  for (const hybridc::codegen::TargetSpec &spec : *specs)
    if (hybridc::codegen::cpuSupports(spec))
      return true;
  return false;
}

void copyFile(const std::string &from, const std::string &to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  ASSERT_FALSE(ec) << "copy " << from << " -> " << to << ": " << ec.message();
}

Variant int8Dot(const char *name, bool experts, reference::MatmulRounding weights) {
  Variant v{name, kInt8Tol, kInt8Why, weights, reference::MatmulRounding::Int8};
  v.routingTieMargin = experts ? kInt8Tie : 0;
  return v;
}

GoldenData readGolden() {
  GoldenData g;
  const std::string golden = std::string(HYBRIDC_TEST_DATA_DIR) + "/golden/tiny-seed1";
  // tokens.json: read the "token_ids" array without a JSON library.
  std::ifstream tj(golden + "/tokens.json");
  EXPECT_TRUE(tj) << golden << "/tokens.json";
  std::string text((std::istreambuf_iterator<char>(tj)), {});
  auto at = text.find("\"token_ids\"");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no token_ids in " << golden << "/tokens.json";
    return g;
  }
  auto open = text.find('[', at), close = text.find(']', at);
  for (size_t i = open + 1; i < close;) {
    size_t used = 0;
    g.tokens.push_back(std::stoi(text.substr(i, close - i), &used));
    i = text.find_first_of("0123456789", i + used);
    if (i == std::string::npos || i > close)
      break;
  }
  g.logits.resize(g.tokens.size() * 512);
  std::ifstream lf(golden + "/logits.f32", std::ios::binary);
  EXPECT_TRUE(lf.read(reinterpret_cast<char *>(g.logits.data()), g.logits.size() * sizeof(float)))
      << golden << "/logits.f32";
  return g;
}

} // namespace hybridc::e2e
