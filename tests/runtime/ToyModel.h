//===- ToyModel.h - a fake model that drives the runtime through the ABI --===//
//
// The runtime is tested without the compiler: the "driver" here is a few
// lines of C++ implementing a small stateful model exactly through
// runtime_abi.h, checking every promise the runtime makes to a driver
// (buffer sizes, alignment, state_in != state_out, past == state's count,
// KV capacity, logits rows) and counting violations.
//
// The toy model, per token t at position p:
//   state = {h, count}: h = h * 1000003 + t + 7 (mod 2^64), count = p + 1
//   KV segment 0 row p = t, segment 1 row p = h   (int64 rows)
//   logits[v] = (S * w[v] + h % 1009 + v) % 65521 with
//   S = sum over rows q <= p of (seg0[q] * (q + 1) + seg1[q] % 97), w = weights
// so every logit depends on the whole history (state and every KV row) and
// on the mapped weights; all values are exact in float.
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_RUNTIME_TOYMODEL_H
#define HYBRIDC_TESTS_RUNTIME_TOYMODEL_H

#include "hybridc/kv_layout.h"
#include "hybridc/runtime_abi.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace toy {

constexpr int32_t kVocab = 11;
constexpr int64_t kMaxChunk = 4;
constexpr uint64_t kHash = 0x70790000c0ffee01ull;
constexpr uint64_t kWeightsBytes = 256; // 64 int32 multipliers
constexpr int64_t kStateBytes = 16;
constexpr int32_t kKvSegments = 2;
constexpr int64_t kKvRowBytes = 8;
// Bytes of KV cache a session holds after `tokens` tokens: whole blocks of
// every segment (kv_layout.h).
inline int64_t kvBytes(int64_t tokens) {
  return hybridc_kv_round_tokens(tokens) * kKvSegments * kKvRowBytes;
}
constexpr int64_t kWorkspaceFixed = 40;
constexpr int64_t kWorkspacePerToken = 24;

// Per-process knobs and observations of the fake driver.
struct Hooks {
  std::atomic<int32_t> fail_token{-1};         // kernel fails on a chunk holding it
  std::atomic<int32_t> halide_error_token{-1}; // halide_error + failure
  std::atomic<int32_t> task_fail_token{-1};    // a parallel task returns non-zero
  std::atomic<int> prefill_calls{0};
  std::atomic<int> decode_calls{0};      // one-token driver calls (batch streams too)
  std::atomic<int> batch_calls{0};
  std::atomic<int> last_threads{0};
  std::atomic<int> violations{0};
  std::mutex mu;
  std::string first_violation;         // guarded by mu
  std::vector<int64_t> capacities;     // distinct kv_capacity values, in order
  std::vector<int64_t> chunk_sizes;    // n of every driver call
  std::vector<int64_t> batch_sizes;    // n of every batch driver call
};
Hooks &hooks();
void reset_hooks();
std::string first_violation();

// Descriptor using a weights file / embedded weights.
const hybridc_model_desc *file_desc();
const hybridc_model_desc *embedded_desc();
// The payload the tests write / embed.
std::vector<uint8_t> payload();

// Logits row of every position for a token sequence, computed directly.
std::vector<std::vector<float>> reference(const std::vector<int32_t> &tokens);

struct WeightsFileOptions {
  const char *magic = HYBRIDC_WEIGHTS_MAGIC;
  uint32_t version = HYBRIDC_WEIGHTS_FORMAT_VERSION;
  uint32_t header_bytes = HYBRIDC_WEIGHTS_HEADER_BYTES;
  uint64_t hash = kHash;
  uint64_t declared_payload = kWeightsBytes;
  const char *model_name = "toy";
  int64_t drop_bytes = 0;  // cut this many bytes off the end
  int64_t extra_bytes = 0; // append this many
};
// Writes a weights file into the test temp dir; returns its path.
std::string write_weights(const std::string &name, const WeightsFileOptions &o = {});

} // namespace toy

#endif
