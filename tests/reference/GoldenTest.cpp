//===- GoldenTest.cpp - the reference against independent golden logits --===//
//
// tests/data/golden/tiny-seed1 is a tiny random Granite-4.0-H-shaped model
// with logits from an independent implementation (llama.cpp, all F32) for 32
// tokens from an empty state (docs/testing.md). The reference must
// reproduce them to max abs error < 1e-4 with the same argmax in every row,
// whether the tokens come in one call, one at a time, or in any split, and
// with the SSD chunk length overridden so prefill spans several chunks.
//
//===----------------------------------------------------------------------===//

#include "ReferenceFromCheckpoint.h"

#include "hybridc/Model/Checkpoint.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>

using namespace hybridc;
using namespace hybridc::reference;

namespace {

constexpr double kMaxAbsError = 1e-4;

std::string goldenDir() {
  return std::string(HYBRIDC_TEST_DATA_DIR) + "/golden/tiny-seed1";
}

struct Golden {
  std::unique_ptr<Checkpoint> checkpoint;
  std::vector<int32_t> tokens;
  std::vector<float> logits; // [tokens][vocab]
  int64_t vocab = 0;
  std::string error; // set when loading failed
};

Golden loadGolden() {
  Golden g;
  auto checkpoint = Checkpoint::open(goldenDir());
  if (!checkpoint) {
    g.error = "Checkpoint::open: " + llvm::toString(checkpoint.takeError());
    return g;
  }
  g.checkpoint = std::move(*checkpoint);
  g.vocab = g.checkpoint->config().vocabSize;

  auto tokensFile = llvm::MemoryBuffer::getFile(goldenDir() + "/tokens.json");
  if (!tokensFile) {
    g.error = "cannot read tokens.json";
    return g;
  }
  auto json = llvm::json::parse((*tokensFile)->getBuffer());
  if (!json) {
    g.error = "tokens.json: " + llvm::toString(json.takeError());
    return g;
  }
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Array *ids = root ? root->getArray("token_ids") : nullptr;
  if (!ids) {
    g.error = "tokens.json has no token_ids array";
    return g;
  }
  for (const llvm::json::Value &id : *ids)
    g.tokens.push_back(static_cast<int32_t>(id.getAsInteger().value_or(-1)));

  auto logitsFile = llvm::MemoryBuffer::getFile(goldenDir() + "/logits.f32",
                                                /*IsText=*/false,
                                                /*RequiresNullTerminator=*/false);
  if (!logitsFile) {
    g.error = "cannot read logits.f32";
    return g;
  }
  llvm::StringRef bytes = (*logitsFile)->getBuffer();
  if (bytes.size() != g.tokens.size() * g.vocab * sizeof(float)) {
    g.error = "logits.f32 has " + std::to_string(bytes.size()) +
              " bytes, expected tokens x vocab x 4";
    return g;
  }
  g.logits.resize(bytes.size() / sizeof(float));
  std::memcpy(g.logits.data(), bytes.data(), bytes.size()); // little-endian host
  return g;
}

const Golden &golden() {
  static const Golden g = loadGolden();
  return g;
}

/// Feeds the golden tokens in pieces of the given lengths (repeated
/// cyclically, the last piece cut short) and concatenates the logits.
std::vector<float> runInPieces(ReferenceModel &model,
                               const std::vector<int32_t> &tokens,
                               const std::vector<int> &pieces) {
  std::vector<float> logits;
  size_t next = 0;
  for (size_t i = 0; next < tokens.size(); ++i) {
    size_t len = std::min<size_t>(pieces[i % pieces.size()], tokens.size() - next);
    std::vector<int32_t> piece(tokens.begin() + next, tokens.begin() + next + len);
    std::vector<float> out = model.forward(piece);
    EXPECT_EQ(out.size(), len * model.config().vocabSize);
    logits.insert(logits.end(), out.begin(), out.end());
    next += len;
  }
  return logits;
}

/// Max abs error against golden, and the rows whose argmax differs.
void expectMatchesGolden(const std::vector<float> &logits,
                         const std::string &what) {
  const Golden &g = golden();
  ASSERT_EQ(logits.size(), g.logits.size());
  double maxError = 0.0;
  int argmaxMismatches = 0;
  const int64_t rows = static_cast<int64_t>(g.tokens.size());
  for (int64_t r = 0; r < rows; ++r) {
    const float *ours = &logits[r * g.vocab];
    const float *want = &g.logits[r * g.vocab];
    for (int64_t v = 0; v < g.vocab; ++v)
      maxError = std::max(maxError, std::fabs(double(ours[v]) - want[v]));
    const int64_t ourArgmax = std::max_element(ours, ours + g.vocab) - ours;
    const int64_t wantArgmax = std::max_element(want, want + g.vocab) - want;
    if (ourArgmax != wantArgmax) {
      ++argmaxMismatches;
      ADD_FAILURE() << what << ": row " << r << " argmax " << ourArgmax
                    << ", golden " << wantArgmax;
    }
  }
  std::printf("[ golden ] %s: max abs error %.3g (limit %.0e), argmax "
              "mismatches %d/%lld\n",
              what.c_str(), maxError, kMaxAbsError, argmaxMismatches,
              static_cast<long long>(rows));
  EXPECT_LT(maxError, kMaxAbsError) << what;
}

struct SplitCase {
  const char *name;
  std::vector<int> pieces;   // call lengths, repeated
  int64_t mambaChunkSize;    // 0: the config's own (256)
};

// Names the case in gtest's failure messages instead of a byte dump.
void PrintTo(const SplitCase &c, std::ostream *os) { *os << c.name; }

class GoldenTest : public ::testing::TestWithParam<SplitCase> {
protected:
  void SetUp() override {
    ASSERT_TRUE(golden().error.empty()) << golden().error;
    ASSERT_EQ(golden().tokens.size(), 32u);
  }
};

TEST_P(GoldenTest, MatchesGoldenLogits) {
  const SplitCase &c = GetParam();
  const Golden &g = golden();
  ModelConfig config = g.checkpoint->config();
  if (c.mambaChunkSize > 0)
    config.mambaChunkSize = c.mambaChunkSize;
  std::unique_ptr<ReferenceModel> model = makeReference(*g.checkpoint, config);
  std::vector<float> logits = runInPieces(*model, g.tokens, c.pieces);
  EXPECT_EQ(model->position(), 32);
  expectMatchesGolden(logits, c.name);
}

INSTANTIATE_TEST_SUITE_P(
    Splits, GoldenTest,
    ::testing::Values(
        SplitCase{"OneCall", {32}, 0},
        SplitCase{"TokenByToken", {1}, 0},
        SplitCase{"Calls_5_1_26", {5, 1, 26}, 0},
        SplitCase{"CallsOf3", {3}, 0},
        SplitCase{"CallsOf7", {7}, 0},
        // Prefill spanning several SSD chunks, with the state carried
        // between chunks and between calls.
        SplitCase{"SsdChunk8_OneCall", {32}, 8},
        SplitCase{"SsdChunk8_Calls_13_19", {13, 19}, 8},
        SplitCase{"SsdChunk5_CallsOf7", {7}, 5},
        SplitCase{"SsdChunk1_OneCall", {32}, 1}),
    [](const ::testing::TestParamInfo<SplitCase> &info) {
      return std::string(info.param.name);
    });

TEST(GoldenResetTest, ResetStartsANewSequence) {
  const Golden &g = golden();
  ASSERT_TRUE(g.error.empty()) << g.error;
  std::unique_ptr<ReferenceModel> model = makeReference(*g.checkpoint);
  std::vector<float> first = model->forward(g.tokens);
  // A different prefix first, so the state is dirty when reset() runs.
  model->reset();
  model->forward({1, 2, 3});
  model->reset();
  EXPECT_EQ(model->position(), 0);
  std::vector<float> second = model->forward(g.tokens);
  EXPECT_EQ(first, second);
  expectMatchesGolden(second, "AfterReset");
}

} // namespace
