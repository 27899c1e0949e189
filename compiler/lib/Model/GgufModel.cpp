//===- GgufModel.cpp - a granitehybrid GGUF file as a Granite model -------===//
//
// The metadata keys and tensor names are llama.cpp's for the
// `granitehybrid` architecture (docs/formats.md lists them with the
// Hugging Face field or tensor each stands for).
//
//===----------------------------------------------------------------------===//
#include "hybridc/Model/GgufModel.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>

using namespace hybridc;

namespace {

constexpr const char *kArch = "granitehybrid";

std::string key(llvm::StringRef name) { return (llvm::Twine(kArch) + "." + name).str(); }

/// An optional numeric key: `dflt` when absent; 0 also means "use the
/// default" for the Granite multipliers, as llama.cpp reads them.
llvm::Expected<double> optionalScale(const GgufFile &f, llvm::StringRef name, double dflt) {
  if (!f.find(key(name)))
    return dflt;
  llvm::Expected<double> v = f.getFloat(key(name));
  if (!v)
    return v.takeError();
  return *v == 0 ? dflt : *v;
}

} // namespace

llvm::Expected<ModelConfig> hybridc::ggufModelConfig(const GgufFile &f) {
  auto fail = [&](const llvm::Twine &what) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   (f.path() + ": " + what).str());
  };
  llvm::Expected<std::string> arch = f.getString("general.architecture");
  if (!arch)
    return arch.takeError();
  if (*arch != kArch)
    return fail("architecture '" + *arch + "' is not supported (expected '" + kArch +
                "': Granite 4.0 H)");

  ModelConfig c;
  // Required sizes.
  struct {
    const char *name;
    int64_t *field;
  } required[] = {{"embedding_length", &c.hiddenSize},
                  {"block_count", &c.numLayers},
                  {"attention.head_count", &c.numHeads}};
  for (auto &r : required) {
    llvm::Expected<int64_t> v = f.getInt(key(r.name));
    if (!v)
      return v.takeError();
    *r.field = *v;
  }
  if (c.numLayers <= 0 || c.numLayers > 4096)
    return fail("metadata '" + key("block_count") + "' must be in 1..4096, got " +
                llvm::Twine(c.numLayers));

  // A layer is recurrent (Mamba2) iff its head_count_kv is 0: a per-layer
  // array, or one number for all layers.
  const GgufValue *kv = f.find(key("attention.head_count_kv"));
  if (!kv)
    return fail("metadata '" + key("attention.head_count_kv") + "' is missing");
  if (kv->type == GgufType::Array && kv->count != static_cast<uint64_t>(c.numLayers))
    return fail(llvm::formatv("metadata '{0}' has {1} entries for {2} layers",
                              key("attention.head_count_kv"), kv->count, c.numLayers));
  c.numKvHeads = 0;
  for (int64_t i = 0; i < c.numLayers; ++i) {
    int64_t n;
    if (!kv->integerAt(kv->type == GgufType::Array ? static_cast<uint64_t>(i) : 0, n) || n < 0)
      return fail("metadata '" + key("attention.head_count_kv") +
                  "' must hold non-negative integers");
    c.layerTypes.push_back(n == 0 ? LayerKind::Mamba : LayerKind::Attention);
    if (n != 0 && c.numKvHeads != 0 && n != c.numKvHeads)
      return fail(llvm::formatv("metadata '{0}': layers with {1} and {2} kv heads; hybridc "
                                "needs one count",
                                key("attention.head_count_kv"), c.numKvHeads, n));
    if (n != 0)
      c.numKvHeads = n;
  }
  c.headDim = c.numHeads > 0 ? c.hiddenSize / c.numHeads : 0;
  if (f.find(key("attention.key_length"))) {
    llvm::Expected<int64_t> v = f.getInt(key("attention.key_length"));
    if (!v)
      return v.takeError();
    c.headDim = *v;
  }

  // NoPE: llama.cpp switches RoPE off for hybrids with rope.scaling.finetuned
  // = false, and applies RoPE when the key is absent.
  const std::string ropeKey = key("rope.scaling.finetuned");
  if (!f.find(ropeKey))
    return fail("metadata '" + ropeKey +
                "' is missing, so the model would use RoPE: hybridc compiles NoPE models "
                "(Granite 4.0 H), where the converter writes it as false");
  llvm::Expected<bool> rope = f.getBool(ropeKey);
  if (!rope)
    return rope.takeError();
  if (*rope)
    return fail("metadata '" + ropeKey +
                "' is true: RoPE is enabled, and hybridc compiles NoPE models only");

  llvm::Expected<double> eps = f.getFloat(key("attention.layer_norm_rms_epsilon"));
  if (!eps)
    return eps.takeError();
  c.rmsNormEps = *eps;
  for (auto [name, field, dflt] :
       {std::tuple<const char *, double *, double>{"embedding_scale", &c.embeddingMultiplier, 1.0},
        {"residual_scale", &c.residualMultiplier, 1.0},
        {"logit_scale", &c.logitsScaling, 1.0},
        {"attention.scale", &c.attentionMultiplier,
         c.headDim > 0 ? 1.0 / std::sqrt(double(c.headDim)) : 1.0}}) {
    llvm::Expected<double> v = optionalScale(f, name, dflt);
    if (!v)
      return v.takeError();
    *field = *v;
  }

  // Feed-forward: experts when expert_count > 0, else a dense MLP stored as
  // ffn_gate/up/down, which hybridc runs as the shared MLP.
  c.numExperts = 0;
  if (f.find(key("expert_count"))) {
    llvm::Expected<int64_t> e = f.getInt(key("expert_count"));
    if (!e)
      return e.takeError();
    c.numExperts = *e;
  }
  llvm::Expected<int64_t> ff = f.getInt(key("feed_forward_length"));
  if (!ff)
    return ff.takeError();
  if (c.numExperts > 0) {
    llvm::Expected<int64_t> k = f.getInt(key("expert_used_count"));
    if (!k)
      return k.takeError();
    llvm::Expected<int64_t> shared = f.getInt(key("expert_shared_feed_forward_length"));
    if (!shared)
      return shared.takeError();
    c.topK = *k;
    c.intermediateSize = *ff;
    c.sharedIntermediateSize = *shared;
  } else {
    c.topK = 0;
    c.sharedIntermediateSize = *ff;
  }

  if (c.countLayers(LayerKind::Mamba) > 0) {
    struct {
      const char *name;
      int64_t *field;
    } ssm[] = {{"ssm.conv_kernel", &c.mambaConvKernel},
               {"ssm.state_size", &c.mambaStateSize},
               {"ssm.group_count", &c.mambaGroups},
               {"ssm.time_step_rank", &c.mambaHeads}};
    for (auto &r : ssm) {
      llvm::Expected<int64_t> v = f.getInt(key(r.name));
      if (!v)
        return v.takeError();
      *r.field = *v;
    }
    llvm::Expected<int64_t> inner = f.getInt(key("ssm.inner_size"));
    if (!inner)
      return inner.takeError();
    if (c.hiddenSize <= 0 || *inner % c.hiddenSize != 0)
      return fail(llvm::formatv("metadata '{0}' = {1} is not a multiple of the hidden size {2}",
                                key("ssm.inner_size"), *inner, c.hiddenSize));
    c.mambaExpand = *inner / c.hiddenSize;
    c.mambaHeadDim = c.mambaHeads > 0 ? *inner / c.mambaHeads : 0;
  }
  // GGUF carries no scan chunk length (an implementation choice: the
  // state-space-duality chunk of the reference implementation) and no dt
  // clamp (the converter drops time_step_limit, llama.cpp applies none).
  c.mambaChunkSize = 256;

  // What the tensors tell.
  const TensorView *embed = f.findTensor("token_embd.weight");
  if (!embed || embed->shape.size() != 2)
    return fail("tensor 'token_embd.weight' is missing or not a matrix");
  c.vocabSize = embed->shape[0];
  c.tieWordEmbeddings = !f.findTensor("output.weight");
  auto anyLayerHas = [&](const char *suffix) {
    for (int64_t i = 0; i < c.numLayers; ++i)
      if (f.findTensor("blk." + std::to_string(i) + "." + suffix))
        return true;
    return false;
  };
  c.mambaConvBias = anyLayerHas("ssm_conv1d.bias");
  c.mambaProjBias = anyLayerHas("ssm_in.bias");
  c.attentionBias = anyLayerHas("attn_q.bias");
  if (f.find(key("context_length"))) {
    llvm::Expected<int64_t> ctx = f.getInt(key("context_length"));
    if (!ctx)
      return ctx.takeError();
    c.maxPositionEmbeddings = *ctx;
  }

  if (llvm::Error e = validateModelConfig(c, [&](llvm::StringRef field, const llvm::Twine &what) {
        return fail("the metadata gives " + field + " that is wrong: " + what);
      }))
    return std::move(e);
  return c;
}

namespace {

/// Builds the Hugging Face view of the file, one tensor at a time.
class TensorMapper {
public:
  TensorMapper(const GgufFile &f, std::deque<TensorView> &views) : f(f), views(views) {}

  llvm::Error fail(const llvm::Twine &what) const {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   (f.path() + ": " + what).str());
  }

  /// GGUF tensor `name`, marked used.
  llvm::Expected<const TensorView *> take(const std::string &name) {
    const TensorView *t = f.findTensor(name);
    if (!t)
      return fail("missing tensor '" + name + "'");
    used.insert(name);
    return t;
  }

  /// The GGUF tensor as `hfName`, its bytes unchanged; `shape` (if given)
  /// re-reads them with another shape of the same element count.
  llvm::Error same(const std::string &gguf, const std::string &hf,
                   std::vector<int64_t> shape = {}) {
    llvm::Expected<const TensorView *> found = take(gguf);
    if (!found)
      return found.takeError();
    const TensorView *t = *found;
    TensorView v = *t;
    v.name = hf;
    if (!shape.empty()) {
      TensorView probe;
      probe.shape = shape;
      if (probe.numElements() != t->numElements())
        return fail(llvm::formatv("tensor '{0}' has {1} elements, the model needs {2} for "
                                  "'{3}'",
                                  gguf, t->numElements(), probe.numElements(), hf));
      v.shape = std::move(shape);
    }
    views.push_back(std::move(v));
    return llvm::Error::success();
  }

  /// `hf` of the given shape, computed from `sources` by `derive`.
  void derived(const std::string &hf, std::vector<int64_t> shape,
               std::vector<const TensorView *> sources, std::function<void(float *)> derive) {
    TensorView v;
    v.name = hf;
    v.dtype = DType::F32;
    v.shape = std::move(shape);
    v.file = f.path();
    v.numBytes = static_cast<size_t>(v.numElements()) * 4;
    v.sources = std::move(sources);
    v.derive = std::move(derive);
    views.push_back(std::move(v));
  }

  /// `hf` = the rows of `first` then the rows of `second`, per leading
  /// index (expert) when the tensors are 3-D: [E][a][H] + [E][b][H] ->
  /// [E][a+b][H]. Rows are whole quantization blocks, so each half decodes
  /// straight into its place.
  llvm::Error stacked(const std::string &first, const std::string &second,
                      const std::string &hf) {
    llvm::Expected<const TensorView *> fa = take(first), fb = take(second);
    if (!fa) {
      llvm::consumeError(fb.takeError());
      return fa.takeError();
    }
    if (!fb)
      return fb.takeError();
    const TensorView *a = *fa, *b = *fb;
    const size_t rank = a->shape.size();
    if (rank < 2 || rank != b->shape.size() || a->shape.back() != b->shape.back() ||
        (rank == 3 && a->shape[0] != b->shape[0]) || rank > 3)
      return fail("tensors '" + first + "' and '" + second +
                  "' do not have matching shapes to stack into '" + hf + "'");
    const int64_t outer = rank == 3 ? a->shape[0] : 1;
    const int64_t ra = a->shape[rank - 2], rb = b->shape[rank - 2], H = a->shape.back();
    std::vector<int64_t> shape = {ra + rb, H};
    if (rank == 3)
      shape.insert(shape.begin(), outer);
    derived(hf, shape, {a, b}, [a, b, outer, ra, rb, H](float *out) {
      const int64_t na = ra * H, nb = rb * H;
      const int64_t bytesA = dtypeBytes(a->dtype, na), bytesB = dtypeBytes(b->dtype, nb);
      for (int64_t e = 0; e < outer; ++e) {
        decodeElements(a->dtype, a->data + e * bytesA, na, out + e * (na + nb));
        decodeElements(b->dtype, b->data + e * bytesB, nb, out + e * (na + nb) + na);
      }
    });
    return llvm::Error::success();
  }

  /// Every tensor of the file was used.
  llvm::Error checkAllUsed() const {
    for (const TensorView &t : f.tensors())
      if (!used.count(t.name))
        return fail("unexpected tensor '" + t.name +
                    "' (not part of the model its metadata describes)");
    return llvm::Error::success();
  }

private:
  const GgufFile &f;
  std::deque<TensorView> &views;
  llvm::StringSet<> used;
};

} // namespace

llvm::Error hybridc::ggufModelTensors(const GgufFile &f, const ModelConfig &c,
                                      std::deque<TensorView> &views) {
  TensorMapper m(f, views);
  auto chain = [](llvm::Error &acc, llvm::Error e) {
    if (!acc && e)
      acc = std::move(e);
    else
      llvm::consumeError(std::move(e));
  };
  llvm::Error err = llvm::Error::success();
  chain(err, m.same("token_embd.weight", "model.embed_tokens.weight"));
  chain(err, m.same("output_norm.weight", "model.norm.weight"));
  if (!c.tieWordEmbeddings)
    chain(err, m.same("output.weight", "lm_head.weight"));
  for (int64_t i = 0; i < c.numLayers && !err; ++i) {
    const std::string g = "blk." + std::to_string(i) + ".";
    const std::string h = "model.layers." + std::to_string(i) + ".";
    chain(err, m.same(g + "attn_norm.weight", h + "input_layernorm.weight"));
    chain(err, m.same(g + "ffn_norm.weight", h + "post_attention_layernorm.weight"));
    if (c.layerTypes[i] == LayerKind::Mamba) {
      const int64_t nh = c.mambaHeads;
      chain(err, m.same(g + "ssm_in.weight", h + "mamba.in_proj.weight"));
      if (c.mambaProjBias) {
        chain(err, m.same(g + "ssm_in.bias", h + "mamba.in_proj.bias"));
        chain(err, m.same(g + "ssm_out.bias", h + "mamba.out_proj.bias"));
      }
      chain(err, m.same(g + "ssm_conv1d.weight", h + "mamba.conv1d.weight",
                        {c.convDim(), 1, c.mambaConvKernel}));
      if (c.mambaConvBias)
        chain(err, m.same(g + "ssm_conv1d.bias", h + "mamba.conv1d.bias"));
      chain(err, m.same(g + "ssm_dt.bias", h + "mamba.dt_bias"));
      chain(err, m.same(g + "ssm_d", h + "mamba.D", {nh}));
      chain(err, m.same(g + "ssm_norm.weight", h + "mamba.norm.weight", {c.mambaInner()}));
      chain(err, m.same(g + "ssm_out.weight", h + "mamba.out_proj.weight"));
      // GGUF stores A = -exp(A_log); A_log = log(-A), which needs A < 0.
      llvm::Expected<const TensorView *> found = m.take(g + "ssm_a");
      if (!found) {
        chain(err, found.takeError());
        continue;
      }
      const TensorView *a = *found;
      if (a->numElements() != nh) {
        chain(err, m.fail(llvm::formatv("tensor '{0}ssm_a' has {1} elements for {2} heads", g,
                                        a->numElements(), nh)));
        continue;
      }
      std::vector<float> values = a->toFloat();
      for (int64_t k = 0; k < nh; ++k)
        if (!(values[k] < 0))
          chain(err, m.fail(llvm::formatv("tensor '{0}ssm_a' element {1} is {2}: A = "
                                          "-exp(A_log) must be negative",
                                          g, k, std::to_string(values[k]))));
      m.derived(h + "mamba.A_log", {nh}, {a}, [a](float *out) {
        a->decode(out);
        for (int64_t k = 0, n = a->numElements(); k < n; ++k)
          out[k] = std::log(-out[k]);
      });
    } else {
      for (auto [gn, hn] : {std::pair<const char *, const char *>{"attn_q", "q_proj"},
                            {"attn_k", "k_proj"},
                            {"attn_v", "v_proj"},
                            {"attn_output", "o_proj"}}) {
        chain(err, m.same(g + gn + ".weight", h + "self_attn." + hn + ".weight"));
        if (c.attentionBias)
          chain(err, m.same(g + gn + ".bias", h + "self_attn." + hn + ".bias"));
      }
    }
    if (c.numExperts > 0) {
      chain(err, m.same(g + "ffn_gate_inp.weight", h + "block_sparse_moe.router.layer.weight"));
      chain(err, m.stacked(g + "ffn_gate_exps.weight", g + "ffn_up_exps.weight",
                           h + "block_sparse_moe.input_linear.weight"));
      chain(err, m.same(g + "ffn_down_exps.weight", h + "block_sparse_moe.output_linear.weight"));
      chain(err, m.stacked(g + "ffn_gate_shexp.weight", g + "ffn_up_shexp.weight",
                           h + "shared_mlp.input_linear.weight"));
      chain(err, m.same(g + "ffn_down_shexp.weight", h + "shared_mlp.output_linear.weight"));
    } else {
      chain(err, m.stacked(g + "ffn_gate.weight", g + "ffn_up.weight",
                           h + "shared_mlp.input_linear.weight"));
      chain(err, m.same(g + "ffn_down.weight", h + "shared_mlp.output_linear.weight"));
    }
  }
  if (err)
    return err;
  return m.checkAllUsed();
}
