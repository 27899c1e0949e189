// hybridc-make-model: writes a deterministic, randomly initialised Granite 4.0 H
// (GraniteMoeHybrid) model in Hugging Face layout: config.json plus
// model.safetensors, or N shards with model.safetensors.index.json.
//
// Tensor names and shapes follow docs/model.md (checkpoint tensors) and the
// config fields section 2. The weights are random but scaled so that
// activations stay O(1) through the whole stack, which makes the models useful
// for comparing the compiler against a reference implementation. A small
// byte-level BPE tokenizer (tokenizer.json, tokenizer_config.json; see
// SampleTokenizer.h) comes with every model unless --no-tokenizer is given.

#include "DetMath.h"
#include "SampleTokenizer.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace hybridc::makemodel;

namespace {

// ---------------------------------------------------------------------------
// Model description
// ---------------------------------------------------------------------------

struct ModelConfig {
  std::string preset;
  int64_t hidden = 0, vocab = 0, heads = 0, kvHeads = 0;
  int64_t experts = 0, topK = 0, expertFfn = 0, sharedFfn = 0;
  int64_t mambaHeads = 0, mambaHeadDim = 0, dState = 0, groups = 1, conv = 4;
  int64_t expand = 2, chunk = 256, maxPositions = 4096;
  std::vector<std::string> layerTypes;
  double embeddingMultiplier = 1, residualMultiplier = 1,
         attentionMultiplier = 1, logitsScaling = 1, rmsNormEps = 1e-5;
  bool tied = true, convBias = true, projBias = false, attentionBias = false;

  int64_t dInner() const { return expand * hidden; }
  int64_t convDim() const { return dInner() + 2 * groups * dState; }
  int64_t inProjRows() const { return dInner() + convDim() + mambaHeads; }
  int64_t headDim() const { return hidden / heads; }
  bool hasAttention() const {
    return std::find(layerTypes.begin(), layerTypes.end(), "attention") !=
           layerTypes.end();
  }
};

ModelConfig makePreset(const std::string &name) {
  ModelConfig c;
  c.preset = name;
  if (name == "tiny") {
    // Same shape as tests/data/golden/tiny-seed1 (docs/testing.md).
    c.hidden = 64;
    c.layerTypes = {"mamba", "mamba", "attention", "mamba"};
    c.heads = 4;
    c.kvHeads = 2;
    c.experts = 8;
    c.topK = 2;
    c.expertFfn = 32;
    c.sharedFfn = 64;
    c.mambaHeads = 8;
    c.mambaHeadDim = 16;
    c.dState = 16;
    c.vocab = 512;
    c.attentionMultiplier = 1.0 / 16;
    c.logitsScaling = 1.5;
    c.maxPositions = 4096;
  } else if (name == "htiny") {
    // The shape of Granite 4.0 H Tiny (6.9 B parameters, ~1 B active):
    // attention at layers 5, 15, 25, 35 of 40, 64 experts top-6. A
    // benchmark, not a test: its f32 checkpoint is about 28 GB (bf16 14 GB).
    c.hidden = 1536;
    c.layerTypes.assign(40, "mamba");
    for (int i : {5, 15, 25, 35})
      c.layerTypes[i] = "attention";
    c.heads = 12;
    c.kvHeads = 4;
    c.experts = 64;
    c.topK = 6;
    c.expertFfn = 512;
    c.sharedFfn = 1024;
    c.mambaHeads = 48;
    c.mambaHeadDim = 64;
    c.dState = 128;
    c.vocab = 100352;
    c.attentionMultiplier = 1.0 / 128;
    c.logitsScaling = 6.0;
    c.maxPositions = 131072;
  } else {
    // "small": a ~0.4B-parameter model with real Granite 4.0 H proportions
    // (head dim 64, d_state 128, attention 1 layer in 6).
    c.hidden = 768;
    c.layerTypes.assign(12, "mamba");
    c.layerTypes[5] = c.layerTypes[11] = "attention";
    c.heads = 12;
    c.kvHeads = 4;
    c.experts = 32;
    c.topK = 4;
    c.expertFfn = 384;
    c.sharedFfn = 1024;
    c.mambaHeads = 24;
    c.mambaHeadDim = 64;
    c.dState = 128;
    c.vocab = 32000;
    c.attentionMultiplier = 1.0 / 64;
    c.logitsScaling = 3.0;
    c.maxPositions = 8192;
  }
  c.groups = 1;
  c.conv = 4;
  c.expand = 2;
  c.chunk = 256;
  c.embeddingMultiplier = 12.0;
  c.residualMultiplier = 0.22;
  c.rmsNormEps = 1e-5;
  c.tied = true;
  c.convBias = true;
  return c;
}

enum class InitKind {
  Uniform, // center + halfWidth * U(-1, 1)
  ALog,    // log(U(1, 16)): A = -exp(A_log) in [-16, -1]
  DtBias,  // inverse softplus of a log-uniform dt in [1e-3, 1e-1]
};

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  InitKind kind = InitKind::Uniform;
  float center = 0, halfWidth = 0;
  // Rows [0, quietRows) drawn at a quarter of the half-width (see lm_head).
  int64_t quietRows = 0;

  uint64_t numel() const {
    uint64_t n = 1;
    for (int64_t d : shape)
      n *= static_cast<uint64_t>(d);
    return n;
  }
};

// Uniform(-a, a) has std a/sqrt(3).
float halfWidthForStd(double std) {
  return static_cast<float>(std * std::sqrt(3.0));
}

std::vector<TensorSpec> buildTensors(const ModelConfig &c) {
  std::vector<TensorSpec> ts;
  auto linear = [&](std::string name, std::vector<int64_t> shape) {
    // Fan-in is the last dimension in PyTorch [out, in] (and [E, out, in]).
    double fanIn = static_cast<double>(shape.back());
    ts.push_back({std::move(name), std::move(shape), InitKind::Uniform, 0.0f,
                  halfWidthForStd(1.0 / std::sqrt(fanIn))});
  };
  // RMSNorm weights near 1, with some noise so that a missing or transposed
  // norm weight shows up in comparisons.
  auto norm = [&](std::string name, int64_t n) {
    ts.push_back({std::move(name), {n}, InitKind::Uniform, 1.0f, 0.1f});
  };
  auto bias = [&](std::string name, int64_t n) {
    ts.push_back({std::move(name), {n}, InitKind::Uniform, 0.0f, 0.05f});
  };

  const int64_t H = c.hidden;
  // std 1/sqrt(H): after embedding_multiplier (12) the residual stream has
  // RMS 12/sqrt(H) (1.5 for tiny, 0.43 for small), and tied logits have
  // std ~1 before the division by logits_scaling.
  ts.push_back({"model.embed_tokens.weight",
                {c.vocab, H},
                InitKind::Uniform,
                0.0f,
                halfWidthForStd(1.0 / std::sqrt(static_cast<double>(H)))});

  for (size_t i = 0; i < c.layerTypes.size(); ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    norm(p + "input_layernorm.weight", H);
    if (c.layerTypes[i] == "mamba") {
      const std::string m = p + "mamba.";
      linear(m + "in_proj.weight", {c.inProjRows(), H});
      if (c.projBias)
        bias(m + "in_proj.bias", c.inProjRows());
      // Depthwise conv: std 1/sqrt(K) keeps the variance through K taps.
      ts.push_back({m + "conv1d.weight",
                    {c.convDim(), 1, c.conv},
                    InitKind::Uniform,
                    0.0f,
                    halfWidthForStd(1.0 / std::sqrt(double(c.conv)))});
      if (c.convBias)
        bias(m + "conv1d.bias", c.convDim());
      ts.push_back({m + "dt_bias", {c.mambaHeads}, InitKind::DtBias, 0, 0});
      ts.push_back({m + "A_log", {c.mambaHeads}, InitKind::ALog, 0, 0});
      ts.push_back({m + "D", {c.mambaHeads}, InitKind::Uniform, 1.0f, 0.25f});
      norm(m + "norm.weight", c.dInner());
      linear(m + "out_proj.weight", {H, c.dInner()});
      if (c.projBias)
        bias(m + "out_proj.bias", H);
    } else {
      const std::string a = p + "self_attn.";
      const int64_t hd = c.headDim();
      const int64_t q = c.heads * hd, kv = c.kvHeads * hd;
      linear(a + "q_proj.weight", {q, H});
      if (c.attentionBias)
        bias(a + "q_proj.bias", q);
      linear(a + "k_proj.weight", {kv, H});
      if (c.attentionBias)
        bias(a + "k_proj.bias", kv);
      linear(a + "v_proj.weight", {kv, H});
      if (c.attentionBias)
        bias(a + "v_proj.bias", kv);
      linear(a + "o_proj.weight", {H, q});
      if (c.attentionBias)
        bias(a + "o_proj.bias", H);
    }
    norm(p + "post_attention_layernorm.weight", H);
    if (c.experts > 0) {
      const std::string e = p + "block_sparse_moe.";
      linear(e + "router.layer.weight", {c.experts, H});
      linear(e + "input_linear.weight", {c.experts, 2 * c.expertFfn, H});
      linear(e + "output_linear.weight", {c.experts, H, c.expertFfn});
    }
    linear(p + "shared_mlp.input_linear.weight", {2 * c.sharedFfn, H});
    linear(p + "shared_mlp.output_linear.weight", {H, c.sharedFfn});
  }
  norm("model.norm.weight", H);
  if (!c.tied) {
    linear("lm_head.weight", {c.vocab, H});
    // The sample tokenizer's single-byte tokens (ids 0-255) get quieter
    // output rows: a trained model rarely predicts a raw byte where a word
    // piece will do, and a random model's continuation then reads as the
    // tokenizer's word pieces rather than stray bytes. Exact (x 0.25).
    ts.back().quietRows = std::min<int64_t>(256, c.vocab);
  }
  return ts;
}

// Element values for [begin, begin+count) of one tensor. A pure function of
// (seed, name, index), so any chunking or threading gives the same bytes.
void fillTensor(const TensorSpec &t, uint64_t seed, uint64_t begin,
                uint64_t count, float *out) {
  TensorStream rng(seed, t.name);
  switch (t.kind) {
  case InitKind::Uniform: {
    const float c = t.center, a = t.halfWidth;
    const uint64_t cols = static_cast<uint64_t>(t.shape.back());
    for (uint64_t i = 0; i < count; ++i) {
      const bool quiet = (begin + i) / cols < static_cast<uint64_t>(t.quietRows);
      out[i] = c + (quiet ? 0.25f * a : a) * rng.signedUnit(begin + i);
    }
    break;
  }
  case InitKind::ALog:
    for (uint64_t i = 0; i < count; ++i) {
      double a = 1.0 + 15.0 * static_cast<double>(rng.unit(begin + i));
      out[i] = static_cast<float>(detLog(a));
    }
    break;
  case InitKind::DtBias: {
    // As in the Mamba2 initialisation: dt log-uniform in
    // [time_step_min, time_step_max], floored, then dt_bias = softplus^-1(dt)
    // = log(expm1(dt)) so that softplus(dt_bias) == dt.
    const double lo = detLog(1e-3), hi = detLog(1e-1);
    for (uint64_t i = 0; i < count; ++i) {
      double u = static_cast<double>(rng.unit(begin + i));
      double dt = std::max(detExp(lo + u * (hi - lo)), 1e-4);
      out[i] = static_cast<float>(detLog(detExpm1Small(dt)));
    }
    break;
  }
  }
}

// ---------------------------------------------------------------------------
// JSON output (by hand: the layout is fixed and small)
// ---------------------------------------------------------------------------

std::string jsonString(std::string_view s) {
  std::string r = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
    case '"':
      r += "\\\"";
      break;
    case '\\':
      r += "\\\\";
      break;
    case '\n':
      r += "\\n";
      break;
    case '\r':
      r += "\\r";
      break;
    case '\t':
      r += "\\t";
      break;
    default:
      if (ch < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", ch);
        r += buf;
      } else {
        r += static_cast<char>(ch);
      }
    }
  }
  return r + "\"";
}

// Shortest round-trip decimal, always with a '.' or exponent so that Python
// and HF read it back as a float (12 -> "12.0", 1e-5 -> "1e-05").
// std::to_chars is locale-independent, unlike printf.
std::string jsonDouble(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".eE") == std::string::npos)
    s += ".0";
  return s;
}

std::string jsonBool(bool b) { return b ? "true" : "false"; }

// Minimal ordered JSON value, just enough to pretty-print config.json the way
// HF's save_pretrained does (2-space indent, one list item per line).
struct JsonValue {
  enum Kind { Raw, Array, Object } kind = Raw;
  std::string raw;
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> members;

  static JsonValue r(std::string s) {
    JsonValue v;
    v.raw = std::move(s);
    return v;
  }
  JsonValue &add(const std::string &k, JsonValue v) {
    kind = Object;
    members.emplace_back(k, std::move(v));
    return *this;
  }
  JsonValue &add(const std::string &k, std::string rawValue) {
    return add(k, r(std::move(rawValue)));
  }

  void print(std::string &out, int indent) const {
    const std::string pad(indent + 2, ' ');
    if (kind == Raw) {
      out += raw;
    } else if (kind == Array) {
      out += "[\n";
      for (size_t i = 0; i < items.size(); ++i) {
        out += pad;
        items[i].print(out, indent + 2);
        out += i + 1 < items.size() ? ",\n" : "\n";
      }
      out += std::string(indent, ' ') + "]";
    } else {
      out += "{\n";
      for (size_t i = 0; i < members.size(); ++i) {
        out += pad + jsonString(members[i].first) + ": ";
        members[i].second.print(out, indent + 2);
        out += i + 1 < members.size() ? ",\n" : "\n";
      }
      out += std::string(indent, ' ') + "}";
    }
  }
};

struct Options {
  std::string outDir;
  std::string preset = "tiny";
  uint64_t seed = 1;
  std::string dtype = "f32";
  bool untied = false, dense = false, convBias = true, projBias = false,
       attentionBias = false;
  int64_t groups = 0; // 0: the preset's value
  std::string layers;
  int64_t shards = 1;
  bool tokenizer = true;
};

// The sample tokenizer's BOS / EOS: its added tokens sit at the top ids.
std::string configJson(const ModelConfig &c, const Options &o,
                       const hybridc::sample::SampleTokenizerFiles &tok) {
  auto i64 = [](int64_t v) { return std::to_string(v); };
  JsonValue layerTypes;
  layerTypes.kind = JsonValue::Array;
  for (const auto &t : c.layerTypes)
    layerTypes.items.push_back(JsonValue::r(jsonString(t)));
  JsonValue arch;
  arch.kind = JsonValue::Array;
  arch.items.push_back(JsonValue::r(jsonString("GraniteMoeHybridForCausalLM")));

  JsonValue synthetic;
  synthetic.add("generator", jsonString("hybridc-make-model"))
      .add("preset", jsonString(c.preset))
      .add("seed", std::to_string(o.seed))
      .add("dtype", jsonString(o.dtype));

  // Every field of docs/model.md is written explicitly, so that no consumer
  // depends on HF's defaults. time_step_limit is omitted on purpose (its
  // default (0, inf) means no clamp).
  JsonValue j;
  j.add("architectures", arch)
      .add("model_type", jsonString("granitemoehybrid"))
      .add("attention_bias", jsonBool(c.attentionBias))
      .add("attention_dropout", "0.0")
      .add("attention_multiplier", jsonDouble(c.attentionMultiplier))
      .add("bos_token_id", std::to_string(tok.bosId))
      .add("eos_token_id", std::to_string(tok.eosId))
      .add("pad_token_id", "0")
      .add("embedding_multiplier", jsonDouble(c.embeddingMultiplier))
      .add("hidden_act", jsonString("silu"))
      .add("hidden_size", i64(c.hidden))
      .add("init_method", jsonString("mup"))
      .add("initializer_range", "0.1")
      .add("intermediate_size", i64(c.expertFfn))
      .add("layer_types", layerTypes)
      .add("logits_scaling", jsonDouble(c.logitsScaling))
      .add("mamba_chunk_size", i64(c.chunk))
      .add("mamba_conv_bias", jsonBool(c.convBias))
      .add("mamba_d_conv", i64(c.conv))
      .add("mamba_d_head", i64(c.mambaHeadDim))
      .add("mamba_d_state", i64(c.dState))
      .add("mamba_expand", i64(c.expand))
      .add("mamba_n_groups", i64(c.groups))
      .add("mamba_n_heads", i64(c.mambaHeads))
      .add("mamba_proj_bias", jsonBool(c.projBias))
      .add("max_position_embeddings", i64(c.maxPositions))
      .add("normalization_function", jsonString("rmsnorm"))
      .add("num_attention_heads", i64(c.heads))
      .add("num_experts_per_tok", i64(c.topK))
      .add("num_hidden_layers", i64(int64_t(c.layerTypes.size())))
      .add("num_key_value_heads", i64(c.kvHeads))
      .add("num_local_experts", i64(c.experts))
      .add("output_router_logits", "false")
      .add("position_embedding_type", jsonString("nope"))
      .add("residual_multiplier", jsonDouble(c.residualMultiplier))
      .add("rms_norm_eps", jsonDouble(c.rmsNormEps))
      .add("rope_scaling", "null")
      .add("rope_theta", "10000")
      .add("router_aux_loss_coef", "0.0")
      .add("shared_intermediate_size", i64(c.sharedFfn))
      .add("tie_word_embeddings", jsonBool(c.tied))
      .add("time_step_max", "0.1")
      .add("time_step_min", "0.001")
      .add("torch_dtype", jsonString(o.dtype == "bf16" ? "bfloat16" : "float32"))
      .add("transformers_version", jsonString("4.56.0"))
      .add("use_cache", "true")
      .add("vocab_size", i64(c.vocab))
      .add("_synthetic", synthetic);
  std::string out;
  j.print(out, 0);
  return out + "\n";
}

// ---------------------------------------------------------------------------
// Safetensors output
// ---------------------------------------------------------------------------

struct Shard {
  std::string fileName;
  std::vector<size_t> tensors; // indices into the tensor list
  uint64_t dataBytes = 0;
};

// Contiguous groups of tensors with roughly equal byte counts; every shard
// gets at least one tensor (the caller checks shards <= tensors).
std::vector<Shard> planShards(const std::vector<TensorSpec> &ts,
                              uint64_t elemBytes, int64_t n) {
  std::vector<Shard> shards(static_cast<size_t>(n));
  uint64_t total = 0;
  for (const auto &t : ts)
    total += t.numel() * elemBytes;
  uint64_t before = 0;
  size_t k = 0;
  for (size_t j = 0; j < ts.size(); ++j) {
    uint64_t bytes = ts[j].numel() * elemBytes;
    size_t shardsAfter = shards.size() - 1 - k;
    size_t tensorsLeft = ts.size() - j;
    if (!shards[k].tensors.empty() && shardsAfter > 0) {
      // Advance when this tensor's midpoint lies past the shard's share of
      // the bytes, or when every remaining shard needs one of the tensors.
      // Compared as (before + bytes/2) * n >= (k+1) * total, in 128 bits.
      unsigned __int128 mid2 = (unsigned __int128)(2 * before + bytes) * n;
      unsigned __int128 edge2 = (unsigned __int128)2 * (k + 1) * total;
      if (tensorsLeft == shardsAfter || mid2 >= edge2)
        ++k;
    }
    shards[k].tensors.push_back(j);
    shards[k].dataBytes += bytes;
    before += bytes;
  }
  for (size_t i = 0; i < shards.size(); ++i) {
    if (n == 1) {
      shards[i].fileName = "model.safetensors";
    } else {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05" PRId64 ".safetensors",
                    i + 1, n);
      shards[i].fileName = buf;
    }
  }
  return shards;
}

std::string safetensorsHeader(const std::vector<TensorSpec> &ts,
                              const Shard &shard, bool bf16) {
  const uint64_t elemBytes = bf16 ? 2 : 4;
  std::string h = "{\"__metadata__\":{\"format\":\"pt\"}";
  uint64_t off = 0;
  for (size_t idx : shard.tensors) {
    const TensorSpec &t = ts[idx];
    uint64_t end = off + t.numel() * elemBytes;
    h += "," + jsonString(t.name) + ":{\"dtype\":\"" +
         std::string(bf16 ? "BF16" : "F32") + "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d)
      h += (d ? "," : "") + std::to_string(t.shape[d]);
    h += "],\"data_offsets\":[" + std::to_string(off) + "," +
         std::to_string(end) + "]}";
    off = end;
  }
  h += "}";
  // The data section then starts 8-byte aligned (8-byte length prefix +
  // header), as the safetensors writers do.
  while (h.size() % 8 != 0)
    h += ' ';
  return h;
}

struct FileCloser {
  void operator()(std::FILE *f) const {
    if (f)
      std::fclose(f);
  }
};

void writeAll(std::FILE *f, const void *p, size_t n, const std::string &path) {
  if (n && std::fwrite(p, 1, n, f) != n)
    throw std::runtime_error("write failed: " + path + ": " +
                             std::strerror(errno));
}

// Generates and writes one shard. Chunks of a tensor are generated by up to
// `threads` workers into one buffer, then written with a single large
// fwrite; element values do not depend on the chunking.
void writeShard(const fs::path &path, const std::vector<TensorSpec> &ts,
                const Shard &shard, uint64_t seed, bool bf16,
                unsigned threads) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f)
    throw std::runtime_error("cannot create " + path.string() + ": " +
                             std::strerror(errno));
  const std::string header = safetensorsHeader(ts, shard, bf16);
  unsigned char len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = static_cast<unsigned char>(uint64_t(header.size()) >> (8 * i));
  writeAll(f.get(), len, 8, path.string());
  writeAll(f.get(), header.data(), header.size(), path.string());

  constexpr uint64_t kChunk = uint64_t(1) << 22; // elements per buffer
  std::vector<float> fbuf(kChunk);
  std::vector<uint16_t> hbuf(bf16 ? kChunk : 0);
  for (size_t idx : shard.tensors) {
    const TensorSpec &t = ts[idx];
    const uint64_t n = t.numel();
    for (uint64_t begin = 0; begin < n; begin += kChunk) {
      const uint64_t count = std::min(kChunk, n - begin);
      auto work = [&](uint64_t lo, uint64_t hi) {
        fillTensor(t, seed, begin + lo, hi - lo, fbuf.data() + lo);
        if (bf16)
          for (uint64_t i = lo; i < hi; ++i)
            hbuf[i] = toBF16(fbuf[i]);
      };
      // Threads only pay off for big chunks.
      unsigned nt = count >= (uint64_t(1) << 18) ? threads : 1;
      if (nt <= 1) {
        work(0, count);
      } else {
        std::vector<std::thread> pool;
        uint64_t per = (count + nt - 1) / nt;
        for (unsigned w = 1; w < nt; ++w) {
          uint64_t lo = std::min(count, w * per),
                   hi = std::min(count, lo + per);
          pool.emplace_back(work, lo, hi);
        }
        work(0, std::min(count, per));
        for (auto &th : pool)
          th.join();
      }
      // Little-endian host assumed (x86-64/aarch64), as safetensors is LE.
      if (bf16)
        writeAll(f.get(), hbuf.data(), count * 2, path.string());
      else
        writeAll(f.get(), fbuf.data(), count * 4, path.string());
    }
  }
  if (std::fflush(f.get()) != 0 || std::ferror(f.get()))
    throw std::runtime_error("write failed: " + path.string());
  std::FILE *raw = f.release();
  if (std::fclose(raw) != 0)
    throw std::runtime_error("close failed: " + path.string());
}

void writeText(const fs::path &path, const std::string &text) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f)
    throw std::runtime_error("cannot create " + path.string() + ": " +
                             std::strerror(errno));
  writeAll(f.get(), text.data(), text.size(), path.string());
  std::FILE *raw = f.release();
  if (std::fclose(raw) != 0)
    throw std::runtime_error("close failed: " + path.string());
}

// A folder that once held a differently sharded model would otherwise mix
// stale weight files with the new ones (a loader prefers the index if there
// is one). Only our own file-name patterns are removed.
void removeStaleWeights(const fs::path &dir) {
  static const std::regex shardName(
      R"(model(-[0-9]+-of-[0-9]+)?\.safetensors(\.index\.json)?)");
  for (const auto &entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file())
      continue;
    std::string name = entry.path().filename().string();
    if (std::regex_match(name, shardName))
      fs::remove(entry.path());
  }
}

std::string humanBytes(uint64_t b) {
  char buf[32];
  if (b >= (uint64_t(1) << 30))
    std::snprintf(buf, sizeof(buf), "%.2f GiB", double(b) / (1 << 30));
  else if (b >= (uint64_t(1) << 20))
    std::snprintf(buf, sizeof(buf), "%.2f MiB", double(b) / (1 << 20));
  else
    std::snprintf(buf, sizeof(buf), "%.1f KiB", double(b) / 1024);
  return buf;
}

// Applies the options to the preset and checks the result; throws with a
// message naming the offending option.
ModelConfig resolveConfig(const Options &o) {
  ModelConfig c = makePreset(o.preset);
  if (!o.layers.empty()) {
    c.layerTypes.clear();
    std::stringstream ss(o.layers);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (item != "mamba" && item != "attention")
        throw std::invalid_argument("--layers: unknown layer type '" + item +
                                    "' (expected 'mamba' or 'attention')");
      c.layerTypes.push_back(item);
    }
    if (c.layerTypes.empty() || o.layers.back() == ',')
      throw std::invalid_argument(
          "--layers: expected a comma-separated list like mamba,attention");
  }
  if (o.untied)
    c.tied = false;
  if (o.dense) {
    c.experts = 0;
    c.topK = 0;
  }
  if (o.groups != 0)
    c.groups = o.groups;
  c.convBias = o.convBias;
  c.projBias = o.projBias;
  c.attentionBias = o.attentionBias;

  if (c.groups < 1 || c.mambaHeads % c.groups != 0)
    throw std::invalid_argument(
        "--groups " + std::to_string(c.groups) +
        ": mamba_n_groups must be >= 1 and divide mamba_n_heads (" +
        std::to_string(c.mambaHeads) + ")");
  // HF's config check: d_head * n_heads == expand * hidden.
  if (c.mambaHeadDim * c.mambaHeads != c.dInner())
    throw std::invalid_argument("internal: mamba_d_head * mamba_n_heads != "
                                "mamba_expand * hidden_size");
  if (c.hasAttention() &&
      (c.hidden % c.heads != 0 || c.heads % c.kvHeads != 0))
    throw std::invalid_argument(
        "internal: attention heads must divide hidden_size and be a multiple "
        "of the KV heads");
  return c;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  CLI::App app{
      "Writes a deterministic random Granite 4.0 H (GraniteMoeHybrid) model in "
      "Hugging Face layout:\nconfig.json + model.safetensors (or sharded "
      "model-0000i-of-0000N.safetensors + model.safetensors.index.json).\n"
      "The same options give byte-identical files on any machine.",
      "hybridc-make-model"};
  app.add_option("-o,--output", o.outDir, "Output folder (created if missing)")
      ->required();
  app.add_option("--preset", o.preset,
                 "tiny: hidden 64, layers mamba,mamba,attention,mamba, 8 "
                 "experts (golden shape);\nsmall: hidden 768, 12 layers "
                 "(attention at 5, 11), 32 experts, vocab 32000 (~0.43B "
                 "params);\nhtiny: the Granite 4.0 H Tiny shape, hidden 1536, 40 "
                 "layers, 64 experts top-6, vocab 100352 (~6.9B params; a "
                 "benchmark: 28 GB in f32)")
      ->check(CLI::IsMember({"tiny", "small", "htiny"}))
      ->capture_default_str();
  // CLI11 would otherwise wrap "-1" to 2^64-1 (strtoull semantics).
  app.add_option("--seed", o.seed, "Random seed (unsigned 64-bit)")
      ->check(CLI::Validator(
          [](std::string &v) {
            return v.find('-') == std::string::npos
                       ? std::string()
                       : std::string("the seed must be a non-negative integer");
          },
          "UINT64"))
      ->capture_default_str();
  app.add_option("--dtype", o.dtype,
                 "Weight dtype; bf16 rounds the f32 values to nearest even")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  app.add_flag("--untied", o.untied,
               "Separate lm_head.weight (tie_word_embeddings false)");
  app.add_flag("--dense", o.dense,
               "No experts (num_local_experts 0): the shared MLP is the FFN");
  app.add_option("--groups", o.groups,
                 "mamba_n_groups (must divide the mamba heads; preset: 1)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  app.add_option("--layers", o.layers,
                 "Comma-separated layer types, e.g. mamba,attention,mamba; "
                 "sets num_hidden_layers");
  app.add_flag("--conv-bias,!--no-conv-bias", o.convBias,
               "mamba conv1d bias (default on)");
  app.add_flag("--proj-bias", o.projBias, "mamba in_proj/out_proj biases");
  app.add_flag("--attention-bias", o.attentionBias, "q/k/v/o_proj biases");
  app.add_flag("--tokenizer,!--no-tokenizer", o.tokenizer,
               "Write a byte-level BPE tokenizer.json + tokenizer_config.json (default on)");
  app.add_option("--shards", o.shards,
                 "Number of safetensors files; > 1 also writes "
                 "model.safetensors.index.json")
      ->check(CLI::Range(int64_t(1), int64_t(99999)))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    const auto t0 = std::chrono::steady_clock::now();
    const ModelConfig c = resolveConfig(o);
    const std::vector<TensorSpec> ts = buildTensors(c);
    if (o.shards > static_cast<int64_t>(ts.size()))
      throw std::invalid_argument("--shards " + std::to_string(o.shards) +
                                  ": the model has only " +
                                  std::to_string(ts.size()) + " tensors");
    const bool bf16 = o.dtype == "bf16";
    const uint64_t elemBytes = bf16 ? 2 : 4;

    const fs::path dir(o.outDir);
    if (fs::exists(dir) && !fs::is_directory(dir))
      throw std::invalid_argument("-o " + o.outDir + ": not a directory");
    fs::create_directories(dir);
    removeStaleWeights(dir);
    // config.json is written last: if generation fails half-way, a build
    // rule keyed on config.json reruns instead of seeing a complete model.
    fs::remove(dir / "config.json");

    unsigned threads = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
    const std::vector<Shard> shards = planShards(ts, elemBytes, o.shards);
    uint64_t params = 0, weightBytes = 0;
    for (const auto &t : ts)
      params += t.numel();
    for (const Shard &s : shards) {
      const fs::path p = dir / s.fileName;
      writeShard(p, ts, s, o.seed, bf16, threads);
      uint64_t size = fs::file_size(p);
      weightBytes += size;
      std::printf("wrote %s (%zu tensors, %" PRIu64 " bytes)\n", p.c_str(),
                  s.tensors.size(), size);
    }
    if (shards.size() > 1) {
      uint64_t total = 0;
      for (const Shard &s : shards)
        total += s.dataBytes;
      std::string idx = "{\n  \"metadata\": {\n    \"total_size\": " +
                        std::to_string(total) + "\n  },\n  \"weight_map\": {\n";
      size_t written = 0;
      for (const Shard &s : shards)
        for (size_t t : s.tensors)
          idx += "    " + jsonString(ts[t].name) + ": " +
                 jsonString(s.fileName) +
                 (++written < ts.size() ? ",\n" : "\n");
      idx += "  }\n}\n";
      const fs::path p = dir / "model.safetensors.index.json";
      writeText(p, idx);
      std::printf("wrote %s\n", p.c_str());
    }
    const hybridc::sample::SampleTokenizerFiles tok =
        hybridc::sample::makeSampleTokenizer(c.vocab);
    for (const char *name : {"tokenizer.json", "tokenizer_config.json"})
      fs::remove(dir / name);
    if (o.tokenizer) {
      writeText(dir / "tokenizer.json", tok.tokenizerJson);
      writeText(dir / "tokenizer_config.json", tok.tokenizerConfigJson);
      std::printf("wrote %s (byte-level BPE, %" PRId64 " merges, BOS %" PRId64 ", EOS %" PRId64
                  ")\n",
                  (dir / "tokenizer.json").c_str(), tok.merges, tok.bosId, tok.eosId);
    }
    const fs::path cp = dir / "config.json";
    writeText(cp, configJson(c, o, tok));
    std::printf("wrote %s\n", cp.c_str());

    const double secs = std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - t0)
                            .count();
    std::printf("%s: preset %s, seed %" PRIu64 ", %s, %zu layers, %zu tensors, "
                "%" PRIu64 " parameters, %" PRIu64 " bytes (%s) in %zu file%s, "
                "%.2f s\n",
                o.outDir.c_str(), c.preset.c_str(), o.seed, o.dtype.c_str(),
                c.layerTypes.size(), ts.size(), params, weightBytes,
                humanBytes(weightBytes).c_str(), shards.size(),
                shards.size() == 1 ? "" : "s", secs);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "hybridc-make-model: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
