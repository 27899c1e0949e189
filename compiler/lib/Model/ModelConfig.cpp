//===- ModelConfig.cpp - parse and validate a Granite config.json ---------===//
//
// Fields absent from config.json take GraniteMoeHybridConfig's defaults
// (docs/model.md). Every error names the file and the field.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Model/ModelConfig.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

using namespace hybridc;
using llvm::json::Object;
using llvm::json::Value;

llvm::StringRef hybridc::layerKindName(LayerKind kind) {
  return kind == LayerKind::Mamba ? "mamba" : "attention";
}

int64_t ModelConfig::countLayers(LayerKind kind) const {
  int64_t n = 0;
  for (LayerKind k : layerTypes)
    n += k == kind;
  return n;
}

namespace {

/// Reads typed fields of the config object, keeping the first error.
class FieldReader {
public:
  FieldReader(const Object &obj, llvm::StringRef file) : obj(obj), file(file) {}

  llvm::Error fail(llvm::StringRef field, const llvm::Twine &what) {
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("{0}: field '{1}': {2}", file, field, what.str()).str());
  }

  /// Reads an integer field into `out` if present (and not null).
  llvm::Error readInt(llvm::StringRef field, int64_t &out) {
    const Value *v = obj.get(field);
    if (!v || v->kind() == Value::Null)
      return llvm::Error::success();
    std::optional<int64_t> i = v->getAsInteger();
    if (!i)
      return fail(field, "expected an integer");
    out = *i;
    return llvm::Error::success();
  }

  llvm::Error readDouble(llvm::StringRef field, double &out) {
    const Value *v = obj.get(field);
    if (!v || v->kind() == Value::Null)
      return llvm::Error::success();
    std::optional<double> d = v->getAsNumber();
    if (!d || !std::isfinite(*d))
      return fail(field, "expected a finite number");
    out = *d;
    return llvm::Error::success();
  }

  llvm::Error readBool(llvm::StringRef field, bool &out) {
    const Value *v = obj.get(field);
    if (!v || v->kind() == Value::Null)
      return llvm::Error::success();
    std::optional<bool> b = v->getAsBoolean();
    if (!b)
      return fail(field, "expected true or false");
    out = *b;
    return llvm::Error::success();
  }

  llvm::Error readString(llvm::StringRef field, std::string &out) {
    const Value *v = obj.get(field);
    if (!v || v->kind() == Value::Null)
      return llvm::Error::success();
    std::optional<llvm::StringRef> s = v->getAsString();
    if (!s)
      return fail(field, "expected a string");
    out = s->str();
    return llvm::Error::success();
  }

  /// Remembers the first failure of a run of reads; see takeError().
  void keep(llvm::Error e) {
    if (e && !firstError)
      firstError = std::move(e);
    else
      llvm::consumeError(std::move(e));
  }
  llvm::Error takeError() {
    return firstError ? std::move(firstError) : llvm::Error::success();
  }

  const Object &obj;
  llvm::StringRef file;

private:
  llvm::Error firstError = llvm::Error::success();
};

llvm::Error readLayerTypes(FieldReader &r, ModelConfig &c) {
  // `layers_block_type` is an alias of `layer_types` (docs/model.md).
  llvm::StringRef field = "layer_types";
  const Value *v = r.obj.get(field);
  if (!v || v->kind() == Value::Null) {
    field = "layers_block_type";
    v = r.obj.get(field);
  }
  if (!v || v->kind() == Value::Null) {
    c.layerTypes.assign(c.numLayers, LayerKind::Mamba); // HF: all mamba
    return llvm::Error::success();
  }
  const llvm::json::Array *arr = v->getAsArray();
  if (!arr)
    return r.fail(field, "expected a list of \"mamba\"/\"attention\"");
  c.layerTypes.clear();
  for (size_t i = 0; i < arr->size(); ++i) {
    std::optional<llvm::StringRef> s = (*arr)[i].getAsString();
    if (s && *s == "mamba")
      c.layerTypes.push_back(LayerKind::Mamba);
    else if (s && *s == "attention")
      c.layerTypes.push_back(LayerKind::Attention);
    else
      return r.fail(field, llvm::formatv("entry {0}: expected \"mamba\" or "
                                         "\"attention\"", i));
  }
  if (static_cast<int64_t>(c.layerTypes.size()) != c.numLayers)
    return r.fail(field, llvm::formatv("has {0} entries but num_hidden_layers is {1}",
                                       c.layerTypes.size(), c.numLayers));
  return llvm::Error::success();
}

llvm::Error readMambaHeadDim(FieldReader &r, ModelConfig &c) {
  // "auto" (the HF default) means expand * hidden / heads.
  const Value *v = r.obj.get("mamba_d_head");
  if (!v || v->kind() == Value::Null ||
      (v->getAsString() && *v->getAsString() == "auto")) {
    // Derived only from sizes the validation accepts (so the product cannot
    // overflow); otherwise left 0, and the validation names the bad field.
    if (c.hiddenSize <= 0 || c.hiddenSize > INT32_MAX || c.mambaExpand != 2)
      return llvm::Error::success();
    if (c.mambaHeads <= 0 || c.mambaInner() % c.mambaHeads != 0)
      return r.fail("mamba_d_head",
                    llvm::formatv("\"auto\" needs mamba_expand*hidden_size ({0}) "
                                  "divisible by mamba_n_heads ({1})",
                                  c.mambaInner(), c.mambaHeads));
    c.mambaHeadDim = c.mambaInner() / c.mambaHeads;
    return llvm::Error::success();
  }
  return r.readInt("mamba_d_head", c.mambaHeadDim);
}

llvm::Error readTimeStepLimit(FieldReader &r, ModelConfig &c) {
  const Value *v = r.obj.get("time_step_limit");
  if (!v || v->kind() == Value::Null)
    return llvm::Error::success();
  const llvm::json::Array *arr = v->getAsArray();
  if (!arr || arr->size() != 2)
    return r.fail("time_step_limit", "expected [min, max]");
  std::optional<double> lo = (*arr)[0].getAsNumber();
  std::optional<double> hi = (*arr)[1].getAsNumber();
  // JSON has no infinity; Python writes `Infinity`, which is not JSON, so a
  // null or a huge number stands for "no upper limit".
  if (!lo)
    return r.fail("time_step_limit", "min must be a number");
  c.timeStepMin = *lo;
  c.timeStepMax = hi ? *hi : std::numeric_limits<double>::infinity();
  if (!(c.timeStepMin >= 0) || !(c.timeStepMax > c.timeStepMin))
    return r.fail("time_step_limit", "expected 0 <= min < max");
  return llvm::Error::success();
}

} // namespace

/// Checks the relations between fields that the model math relies on.
llvm::Error hybridc::validateModelConfig(const ModelConfig &c, const ConfigFail &fail) {
  // `r.fail(field, what)`, as the JSON reader's errors are spelled.
  struct {
    const ConfigFail &f;
    llvm::Error fail(llvm::StringRef field, const llvm::Twine &what) const { return f(field, what); }
  } r{fail};
  // Every size is a kernel buffer extent (32-bit in Halide) or bounds a
  // token id (int32 in the C API); so is a product of two of them as the
  // model math forms it, which then cannot overflow.
  constexpr int64_t kMaxSize = INT32_MAX;
  auto positive = [&](llvm::StringRef f, int64_t v) -> llvm::Error {
    if (v <= 0)
      return r.fail(f, llvm::formatv("must be positive, got {0}", v));
    if (v > kMaxSize)
      return r.fail(f, llvm::formatv("must be at most {0} (kernel extents and token ids are "
                                     "32-bit), got {1}",
                                     kMaxSize, v));
    return llvm::Error::success();
  };
  for (auto [f, v] : {std::pair<llvm::StringRef, int64_t>{"hidden_size", c.hiddenSize},
                      {"num_hidden_layers", c.numLayers},
                      {"vocab_size", c.vocabSize},
                      {"shared_intermediate_size", c.sharedIntermediateSize}})
    if (llvm::Error e = positive(f, v))
      return e;
  if (!(c.rmsNormEps > 0))
    return r.fail("rms_norm_eps", "must be positive");
  if (c.logitsScaling == 0)
    return r.fail("logits_scaling", "must be non-zero (it divides the logits)");
  if (c.hiddenAct != "silu")
    return r.fail("hidden_act", "only \"silu\" is supported, got \"" + c.hiddenAct + "\"");

  if (c.countLayers(LayerKind::Attention) > 0) {
    for (auto [f, v] : {std::pair<llvm::StringRef, int64_t>{"num_attention_heads", c.numHeads},
                        {"num_key_value_heads", c.numKvHeads},
                        {"head_dim", c.headDim}})
      if (llvm::Error e = positive(f, v))
        return e;
    if (c.numHeads % c.numKvHeads != 0)
      return r.fail("num_key_value_heads",
                    llvm::formatv("{0} does not divide num_attention_heads {1}",
                                  c.numKvHeads, c.numHeads));
  }

  if (c.numExperts < 0 || c.numExperts > kMaxSize)
    return r.fail("num_local_experts",
                  llvm::formatv("must be in [0, {0}], got {1}", kMaxSize, c.numExperts));
  if (c.numExperts > 0) {
    if (c.topK < 1 || c.topK > c.numExperts)
      return r.fail("num_experts_per_tok",
                    llvm::formatv("must be in [1, num_local_experts = {0}], got {1}",
                                  c.numExperts, c.topK));
    if (llvm::Error e = positive("intermediate_size", c.intermediateSize))
      return e;
  }

  if (c.countLayers(LayerKind::Mamba) > 0) {
    // llama.cpp asserts d_inner == 2 * hidden; the importer and kernels
    // assume the same layout, so other expansions are rejected explicitly.
    if (c.mambaExpand != 2)
      return r.fail("mamba_expand",
                    llvm::formatv("only 2 is supported, got {0}", c.mambaExpand));
    for (auto [f, v] : {std::pair<llvm::StringRef, int64_t>{"mamba_n_heads", c.mambaHeads},
                        {"mamba_d_head", c.mambaHeadDim},
                        {"mamba_d_state", c.mambaStateSize},
                        {"mamba_n_groups", c.mambaGroups},
                        {"mamba_d_conv", c.mambaConvKernel},
                        {"mamba_chunk_size", c.mambaChunkSize}})
      if (llvm::Error e = positive(f, v))
        return e;
    if (c.mambaHeadDim * c.mambaHeads != c.mambaInner())
      return r.fail("mamba_d_head",
                    llvm::formatv("mamba_d_head * mamba_n_heads = {0} * {1} must "
                                  "equal mamba_expand * hidden_size = {2}",
                                  c.mambaHeadDim, c.mambaHeads, c.mambaInner()));
    if (c.mambaHeads % c.mambaGroups != 0)
      return r.fail("mamba_n_groups",
                    llvm::formatv("{0} does not divide mamba_n_heads {1}",
                                  c.mambaGroups, c.mambaHeads));
  }

  // The derived tensor dimensions are kernel extents too (the largest of
  // the attention ones is q_proj's rows, of the Mamba ones in_proj's).
  using Wide = __int128;
  if (c.countLayers(LayerKind::Attention) > 0 && Wide(c.numHeads) * c.headDim > kMaxSize)
    return r.fail("head_dim", llvm::formatv("num_attention_heads * head_dim = {0} * {1} must be "
                                            "at most {2}",
                                            c.numHeads, c.headDim, kMaxSize));
  if (c.countLayers(LayerKind::Mamba) > 0) {
    const Wide inner = Wide(c.mambaExpand) * c.hiddenSize;
    const Wide inProjRows = 2 * inner + 2 * Wide(c.mambaGroups) * c.mambaStateSize + c.mambaHeads;
    if (inProjRows > kMaxSize)
      return r.fail("mamba_d_state",
                    llvm::formatv("the Mamba in_proj has {0} rows (2 x mamba_expand x hidden_size "
                                  "+ 2 x mamba_n_groups x mamba_d_state + mamba_n_heads): more "
                                  "than {1}",
                                  static_cast<double>(inProjRows), kMaxSize));
  }
  return llvm::Error::success();
}


llvm::Expected<ModelConfig> hybridc::parseModelConfig(llvm::StringRef jsonText,
                                                      llvm::StringRef fileName) {
  llvm::Expected<Value> parsed = llvm::json::parse(jsonText);
  if (!parsed)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(), "%s: not valid JSON: %s",
        fileName.str().c_str(), llvm::toString(parsed.takeError()).c_str());
  const Object *obj = parsed->getAsObject();
  if (!obj)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "%s: expected a JSON object at the top level",
                                   fileName.str().c_str());
  FieldReader r(*obj, fileName);
  ModelConfig c;

  std::string modelType;
  if (llvm::Error e = r.readString("model_type", modelType))
    return std::move(e);
  if (modelType != "granitemoehybrid")
    return r.fail("model_type", "expected \"granitemoehybrid\", got \"" +
                                    modelType + "\"");

  std::string positionEmbedding = "nope";
  if (llvm::Error e = r.readString("position_embedding_type", positionEmbedding))
    return std::move(e);
  if (positionEmbedding == "rope")
    return r.fail("position_embedding_type",
                  "\"rope\" is not supported: hybridc compiles NoPE models "
                  "(Granite 4.0 H); all-attention RoPE models are out of scope");
  if (positionEmbedding != "nope")
    return r.fail("position_embedding_type",
                  "expected \"nope\" or null, got \"" + positionEmbedding + "\"");

  // HF has defaults for everything, but a config without the model's basic
  // dimensions is broken, not a 4096-wide default model.
  for (llvm::StringRef field : {"hidden_size", "num_hidden_layers", "vocab_size",
                                "num_attention_heads"})
    if (!obj->get(field))
      return r.fail(field, "missing (required)");

  // Order matters: later defaults derive from earlier fields.
  r.keep(r.readInt("hidden_size", c.hiddenSize));
  r.keep(r.readInt("num_hidden_layers", c.numLayers));
  r.keep(r.readInt("vocab_size", c.vocabSize));
  r.keep(r.readInt("num_attention_heads", c.numHeads));
  c.numKvHeads = c.numHeads; // HF: None -> num_attention_heads
  r.keep(r.readInt("num_key_value_heads", c.numKvHeads));
  c.headDim = c.numHeads > 0 ? c.hiddenSize / c.numHeads : 0;
  r.keep(r.readInt("head_dim", c.headDim));
  r.keep(r.readBool("attention_bias", c.attentionBias));
  r.keep(r.readDouble("embedding_multiplier", c.embeddingMultiplier));
  r.keep(r.readDouble("attention_multiplier", c.attentionMultiplier));
  r.keep(r.readDouble("residual_multiplier", c.residualMultiplier));
  r.keep(r.readDouble("logits_scaling", c.logitsScaling));
  r.keep(r.readDouble("rms_norm_eps", c.rmsNormEps));
  r.keep(r.readInt("num_local_experts", c.numExperts));
  r.keep(r.readInt("num_experts_per_tok", c.topK));
  r.keep(r.readInt("intermediate_size", c.intermediateSize));
  r.keep(r.readInt("shared_intermediate_size", c.sharedIntermediateSize));
  r.keep(r.readInt("mamba_n_heads", c.mambaHeads));
  r.keep(r.readInt("mamba_d_state", c.mambaStateSize));
  r.keep(r.readInt("mamba_n_groups", c.mambaGroups));
  r.keep(r.readInt("mamba_d_conv", c.mambaConvKernel));
  r.keep(r.readInt("mamba_expand", c.mambaExpand));
  r.keep(r.readInt("mamba_chunk_size", c.mambaChunkSize));
  r.keep(r.readBool("mamba_conv_bias", c.mambaConvBias));
  r.keep(r.readBool("mamba_proj_bias", c.mambaProjBias));
  r.keep(r.readBool("tie_word_embeddings", c.tieWordEmbeddings));
  r.keep(r.readInt("max_position_embeddings", c.maxPositionEmbeddings));
  r.keep(r.readString("hidden_act", c.hiddenAct));
  if (llvm::Error e = r.takeError())
    return std::move(e);
  if (llvm::Error e = readMambaHeadDim(r, c))
    return std::move(e);
  if (llvm::Error e = readTimeStepLimit(r, c))
    return std::move(e);
  // Bounded before the layer list is sized from it (Granite 4.0 H has 40).
  constexpr int64_t kMaxLayers = 65536;
  if (c.numLayers > kMaxLayers)
    return r.fail("num_hidden_layers",
                  llvm::formatv("must be at most {0}, got {1}", kMaxLayers, c.numLayers));
  if (c.numLayers > 0)
    if (llvm::Error e = readLayerTypes(r, c))
      return std::move(e);
  if (c.numExperts == 0)
    c.topK = 0;
  if (llvm::Error e = validateModelConfig(
          c, [&](llvm::StringRef field, const llvm::Twine &what) { return r.fail(field, what); }))
    return std::move(e);
  return c;
}

llvm::Expected<ModelConfig> hybridc::loadModelConfig(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return llvm::createStringError(buf.getError(), "%s: cannot read: %s",
                                   path.str().c_str(),
                                   buf.getError().message().c_str());
  return parseModelConfig((*buf)->getBuffer(), path);
}
