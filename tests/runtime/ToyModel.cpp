//===- ToyModel.cpp - the fake driver and its reference ---------------------===//
#include "ToyModel.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include <unistd.h>

extern "C" int halide_do_par_for(void *user_context,
                                 int (*task)(void *, int, uint8_t *), int min, int size,
                                 uint8_t *closure);
extern "C" void halide_error(void *user_context, const char *msg);

namespace toy {

Hooks &hooks() {
  static Hooks h;
  return h;
}

void reset_hooks() {
  Hooks &h = hooks();
  h.fail_token = -1;
  h.halide_error_token = -1;
  h.task_fail_token = -1;
  h.prefill_calls = 0;
  h.decode_calls = 0;
  h.batch_calls = 0;
  h.last_threads = 0;
  h.violations = 0;
  std::lock_guard<std::mutex> lock(h.mu);
  h.first_violation.clear();
  h.capacities.clear();
  h.chunk_sizes.clear();
  h.batch_sizes.clear();
}

std::string first_violation() {
  std::lock_guard<std::mutex> lock(hooks().mu);
  return hooks().first_violation;
}

static void violation(const std::string &what) {
  Hooks &h = hooks();
  if (h.violations++ == 0) {
    std::lock_guard<std::mutex> lock(h.mu);
    h.first_violation = what;
  }
}

#define EXPECT_CONTRACT(cond)                                                                      \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      violation(#cond);                                                                            \
  } while (0)

static int32_t weight(int v) { return 3 * v + 1; }

std::vector<uint8_t> payload() {
  std::vector<uint8_t> p(kWeightsBytes, 0);
  for (int v = 0; v < int(kWeightsBytes / 4); ++v) {
    int32_t w = weight(v);
    std::memcpy(p.data() + 4 * v, &w, 4);
  }
  return p;
}

static uint64_t step_hash(uint64_t h, int32_t t) { return h * 1000003ull + uint64_t(t) + 7; }

static float logit(uint64_t S, uint64_t h, int32_t w, int v) {
  return float((S * uint64_t(w) + h % 1009 + uint64_t(v)) % 65521);
}

std::vector<std::vector<float>> reference(const std::vector<int32_t> &tokens) {
  std::vector<std::vector<float>> rows;
  uint64_t h = 0, S = 0;
  for (size_t p = 0; p < tokens.size(); ++p) {
    h = step_hash(h, tokens[p]);
    S += uint64_t(tokens[p]) * (p + 1) + h % 97;
    std::vector<float> row(kVocab);
    for (int v = 0; v < kVocab; ++v)
      row[v] = logit(S, h, weight(v), v);
    rows.push_back(row);
  }
  return rows;
}

namespace {

// The toy's K segment: token t's int64 split into head dims 0 (low half) and
// 1 (high half) of kv head 0, each 4 bytes where kv_layout.h puts an f32.
struct KCache {
  uint8_t *base;
  uint8_t *at(int64_t token, int64_t d) const {
    const int64_t block = token / HYBRIDC_KV_BLOCK_TOKENS;
    return base + block * kKvRowBytes * HYBRIDC_KV_BLOCK_TOKENS +
           4 * hybridc_kv_k_index(HYBRIDC_KV_F32, 2, d, token % HYBRIDC_KV_BLOCK_TOKENS);
  }
  void put(int64_t token, int64_t v) const {
    const uint64_t u = uint64_t(v);
    const uint32_t halves[2] = {uint32_t(u), uint32_t(u >> 32)};
    std::memcpy(at(token, 0), &halves[0], 4);
    std::memcpy(at(token, 1), &halves[1], 4);
  }
  int64_t get(int64_t token) const {
    uint32_t lo, hi;
    std::memcpy(&lo, at(token, 0), 4);
    std::memcpy(&hi, at(token, 1), 4);
    return int64_t(uint64_t(hi) << 32 | lo);
  }
};

struct LogitsClosure {
  uint64_t S, h;
  const int32_t *w;
  float *row;
  bool fail;
};

int logits_task(void *uc, int v, uint8_t *closure) {
  auto *c = reinterpret_cast<LogitsClosure *>(closure);
  if (c->fail && v == 5)
    return -9;
  c->row[v] = logit(c->S, c->h, c->w[v], v);
  return 0;
}

bool aligned64(const void *p) { return p && (reinterpret_cast<uintptr_t>(p) % 64) == 0; }

bool holds(const hybridc_memref1d *tok, int32_t token) {
  const int32_t *t = static_cast<const int32_t *>(tok->aligned);
  for (int64_t i = 0; i < tok->size; ++i)
    if (t[i] == token)
      return true;
  return false;
}

void driver(bool is_decode, void *ctx_ptr, hybridc_memref1d *tokens, hybridc_memref1d *weights,
            hybridc_memref1d *state_in, hybridc_memref1d *state_out, hybridc_memref1d *kv,
            int64_t kv_capacity, int64_t past, hybridc_memref1d *workspace,
            hybridc_memref1d *logits, int64_t logits_from) {
  Hooks &hk = hooks();
  auto *ctx = static_cast<hybridc_call_ctx *>(ctx_ptr);
  const int64_t n = tokens->size;
  (is_decode ? hk.decode_calls : hk.prefill_calls)++;
  {
    std::lock_guard<std::mutex> lock(hk.mu);
    if (hk.capacities.empty() || hk.capacities.back() != kv_capacity)
      hk.capacities.push_back(kv_capacity);
    hk.chunk_sizes.push_back(n);
  }
  // What the runtime promises a driver.
  EXPECT_CONTRACT(ctx && ctx->status == HYBRIDC_OK && ctx->session && ctx->num_threads >= 1);
  if (!ctx)
    return;
  hk.last_threads = ctx->num_threads;
  EXPECT_CONTRACT(n >= 1 && n <= kMaxChunk);
  EXPECT_CONTRACT(!is_decode || n == 1);
  EXPECT_CONTRACT(weights->size == int64_t(kWeightsBytes) && weights->aligned);
  EXPECT_CONTRACT(state_in->size == kStateBytes && state_out->size == kStateBytes);
  EXPECT_CONTRACT(aligned64(state_in->aligned) && aligned64(state_out->aligned));
  EXPECT_CONTRACT(state_in->aligned != state_out->aligned);
  EXPECT_CONTRACT(kv_capacity >= past + n);
  EXPECT_CONTRACT(kv->size == kKvSegments * kv_capacity * kKvRowBytes && aligned64(kv->aligned));
  EXPECT_CONTRACT(workspace->size == kWorkspaceFixed + n * kWorkspacePerToken);
  EXPECT_CONTRACT(aligned64(workspace->aligned));
  EXPECT_CONTRACT(logits_from >= 0 && logits_from <= n);
  EXPECT_CONTRACT(logits->size == (n - logits_from) * kVocab && logits->aligned);
  EXPECT_CONTRACT(tokens->offset == 0 && tokens->stride == 1 && logits->offset == 0);
  const int32_t *w = static_cast<const int32_t *>(weights->aligned);
  for (int v = 0; v < kVocab; ++v)
    EXPECT_CONTRACT(w[v] == weight(v));

  // Scribble over the whole workspace: it is scratch the driver owns.
  std::memset(workspace->aligned, 0xAB, size_t(workspace->size));

  uint64_t st[2];
  std::memcpy(st, state_in->aligned, sizeof st);
  EXPECT_CONTRACT(st[1] == uint64_t(past)); // state_in is the state after `past` tokens
  // Segment 0 is a K cache, 1 a V cache of rows [1 head][2 dims] f32
  // (kv_layout.h): a token's int64 is its two dims' 32-bit halves. In the
  // V layout that is token-major; in the K layout dim d of the block's 16
  // tokens lies side by side.
  KCache seg0{static_cast<uint8_t *>(kv->aligned)};
  int64_t *seg1 = static_cast<int64_t *>(kv->aligned) + kv_capacity;
  const int32_t *tok = static_cast<const int32_t *>(tokens->aligned);
  for (int64_t i = 0; i < n; ++i)
    EXPECT_CONTRACT(tok[i] >= 0 && tok[i] < kVocab);

  if (holds(tokens, hk.fail_token) || holds(tokens, hk.halide_error_token)) {
    // Leave garbage everywhere a failed call may write, then fail: the
    // runtime must not let any of it leak into the session.
    std::memset(state_out->aligned, 0x5A, size_t(state_out->size));
    for (int64_t i = 0; i < n; ++i)
      seg0.put(past + i, seg1[past + i] = -77);
    if (holds(tokens, hk.halide_error_token))
      halide_error(ctx, "toy: buffer 'x' is accessed at 99, which is beyond the max (10)");
    hybridc_rt_kernel_failed(ctx, holds(tokens, hk.fail_token) ? "toy_kernel" : "toy_kernel2",
                             -42);
    return;
  }

  uint64_t h = st[0];
  uint64_t S = 0;
  for (int64_t q = 0; q < past; ++q) // history comes only from the KV cache
    S += uint64_t(seg0.get(q)) * uint64_t(q + 1) + uint64_t(seg1[q]) % 97;
  float *out = static_cast<float *>(logits->aligned);
  bool task_fail = holds(tokens, hk.task_fail_token);
  for (int64_t i = 0; i < n; ++i) {
    int64_t p = past + i;
    h = step_hash(h, tok[i]);
    seg0.put(p, tok[i]);
    seg1[p] = int64_t(h);
    S += uint64_t(seg0.get(p)) * uint64_t(p + 1) + uint64_t(seg1[p]) % 97;
    if (i >= logits_from) {
      LogitsClosure c{S, h, w, out + (i - logits_from) * kVocab, task_fail};
      int r = halide_do_par_for(ctx, logits_task, 0, kVocab, reinterpret_cast<uint8_t *>(&c));
      if (r != 0) {
        hybridc_rt_kernel_failed(ctx, "toy_logits", r);
        return;
      }
    }
  }
  st[0] = h;
  st[1] = uint64_t(past + n);
  std::memcpy(state_out->aligned, st, sizeof st);
}

void toy_prefill(void *ctx, hybridc_memref1d *t, hybridc_memref1d *w, hybridc_memref1d *si,
                 hybridc_memref1d *so, hybridc_memref1d *kv, int64_t cap, int64_t past,
                 hybridc_memref1d *ws, hybridc_memref1d *lg, int64_t from) {
  driver(false, ctx, t, w, si, so, kv, cap, past, ws, lg, from);
}

void toy_decode(void *ctx, hybridc_memref1d *t, hybridc_memref1d *w, hybridc_memref1d *si,
                hybridc_memref1d *so, hybridc_memref1d *kv, int64_t cap, int64_t past,
                hybridc_memref1d *ws, hybridc_memref1d *lg, int64_t from) {
  driver(true, ctx, t, w, si, so, kv, cap, past, ws, lg, from);
}

// The batch driver: checks its own contract, then runs each stream through
// the one-token driver on the stream's state and KV cache, a workspace
// slice and its logits row.
void toy_decode_batch(void *ctx_ptr, hybridc_memref1d *tokens, hybridc_memref1d *weights,
                      hybridc_memref1d *streams, hybridc_memref1d *workspace,
                      hybridc_memref1d *logits) {
  Hooks &hk = hooks();
  hk.batch_calls++;
  const int64_t n = tokens->size;
  {
    std::lock_guard<std::mutex> lock(hk.mu);
    hk.batch_sizes.push_back(n);
  }
  EXPECT_CONTRACT(n >= 1 && n <= kMaxChunk);
  EXPECT_CONTRACT(streams->size == n * HYBRIDC_STREAM_FIELDS && streams->stride == 1);
  EXPECT_CONTRACT(workspace->size == kWorkspaceFixed + n * kWorkspacePerToken);
  EXPECT_CONTRACT(logits->size == n * kVocab);
  const int64_t *table = static_cast<const int64_t *>(streams->aligned);
  auto bytes = [](int64_t address, int64_t size) {
    hybridc_memref1d m{};
    m.allocated = m.aligned = reinterpret_cast<void *>(uintptr_t(address));
    m.size = size;
    m.stride = 1;
    return m;
  };
  auto *ctx = static_cast<hybridc_call_ctx *>(ctx_ptr);
  for (int64_t i = 0; i < n && ctx->status == HYBRIDC_OK; ++i) {
    const int64_t *row = table + i * HYBRIDC_STREAM_FIELDS;
    for (int64_t j = 0; j < i; ++j) // distinct streams never share a buffer
      for (int f : {HYBRIDC_STREAM_STATE_IN, HYBRIDC_STREAM_STATE_OUT, HYBRIDC_STREAM_KV})
        EXPECT_CONTRACT(table[j * HYBRIDC_STREAM_FIELDS + f] != row[f]);
    const int64_t cap = row[HYBRIDC_STREAM_KV_CAPACITY];
    hybridc_memref1d tok = bytes(int64_t(uintptr_t(tokens->aligned)) + 4 * i, 1);
    hybridc_memref1d sin = bytes(row[HYBRIDC_STREAM_STATE_IN], kStateBytes);
    hybridc_memref1d sout = bytes(row[HYBRIDC_STREAM_STATE_OUT], kStateBytes);
    hybridc_memref1d kv = bytes(row[HYBRIDC_STREAM_KV], kKvSegments * cap * kKvRowBytes);
    hybridc_memref1d ws = bytes(int64_t(uintptr_t(workspace->aligned)),
                                kWorkspaceFixed + kWorkspacePerToken);
    hybridc_memref1d lg = bytes(int64_t(uintptr_t(logits->aligned)) + 4 * i * kVocab, kVocab);
    driver(true, ctx, &tok, weights, &sin, &sout, &kv, cap, row[HYBRIDC_STREAM_PAST], &ws, &lg,
           0);
  }
}

hybridc_model_desc make_desc(const uint8_t *embedded) {
  hybridc_model_desc d{};
  d.name = "toy";
  d.model_hash = kHash;
  d.weights_bytes = kWeightsBytes;
  d.embedded_weights = embedded;
  d.vocab_size = kVocab;
  d.hidden_size = 8;
  d.num_layers = 2;
  d.state_bytes = kStateBytes;
  d.kv_segments = kKvSegments;
  d.kv_row_bytes = kKvRowBytes;
  d.kv_dtype = HYBRIDC_KV_F32;
  d.kv_heads = 1;
  d.kv_head_dim = 2;
  d.max_chunk_tokens = kMaxChunk;
  d.workspace_fixed_bytes = kWorkspaceFixed;
  d.workspace_bytes_per_token = kWorkspacePerToken;
  d.prefill = toy_prefill;
  d.decode = toy_decode;
  d.target = "x86-64-avx2"; // the least target: every CPU hybridc supports
  d.decode_batch = toy_decode_batch;
  d.weights_layout_bytes = kWeightsBytes;
  return d;
}

} // namespace

const hybridc_model_desc *file_desc() {
  static const hybridc_model_desc d = make_desc(nullptr);
  return &d;
}

const hybridc_model_desc *embedded_desc() {
  static const std::vector<uint8_t> bytes = payload();
  static const hybridc_model_desc d = make_desc(bytes.data());
  return &d;
}

namespace {
// Removes every weights file the tests wrote once all tests have run.
class WeightsFiles : public ::testing::Environment {
public:
  void add(const std::string &path) {
    std::lock_guard<std::mutex> lock(mu_);
    paths_.push_back(path);
  }
  void TearDown() override {
    for (const std::string &p : paths_)
      std::remove(p.c_str());
  }

private:
  std::mutex mu_;
  std::vector<std::string> paths_;
};
WeightsFiles *const weights_files =
    static_cast<WeightsFiles *>(::testing::AddGlobalTestEnvironment(new WeightsFiles));
} // namespace

std::string write_weights(const std::string &name, const WeightsFileOptions &o) {
  hybridc_weights_header h{};
  std::memcpy(h.magic, o.magic, sizeof h.magic);
  h.format_version = o.version;
  h.header_bytes = o.header_bytes;
  h.model_hash = o.hash;
  h.payload_bytes = o.declared_payload;
  std::snprintf(h.model_name, sizeof h.model_name, "%s", o.model_name);
  std::vector<char> bytes(HYBRIDC_WEIGHTS_HEADER_BYTES, 0);
  std::memcpy(bytes.data(), &h, sizeof h);
  std::vector<uint8_t> p = payload();
  bytes.insert(bytes.end(), p.begin(), p.end());
  bytes.resize(size_t(int64_t(bytes.size()) - o.drop_bytes + o.extra_bytes), 0);
  // The pid keeps parallel test processes (ctest -j) from rewriting a file
  // another one has mapped (which would SIGBUS it).
  std::string path = ::testing::TempDir() + "hybridc-rt-" + std::to_string(getpid()) + "-" +
                     name + ".weights";
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  weights_files->add(path);
  return path;
}

} // namespace toy
