//===- LibraryDescription.cpp - what a compiled library holds -------------===//
#include "hybridc/Run/LibraryDescription.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>

using namespace hybridc;

namespace {

// The descriptor's sizes, one table for writing and reading.
struct PlanField {
  const char *key;
  int64_t MemoryPlan::*member;
};
constexpr PlanField kPlanFields[] = {
    {"weights_bytes", &MemoryPlan::weightsBytes},
    {"state_bytes", &MemoryPlan::stateBytes},
    {"kv_segments", &MemoryPlan::kvSegments},
    {"kv_row_bytes", &MemoryPlan::kvRowBytes},
    {"max_chunk_tokens", &MemoryPlan::maxChunkTokens},
    {"workspace_fixed_bytes", &MemoryPlan::workspaceFixedBytes},
    {"workspace_bytes_per_token", &MemoryPlan::workspaceBytesPerToken},
};

// The runtime keeps the state, the KV cache and the checkpoints in f32.
constexpr const char *kKvDtype = "f32";

llvm::Error fail(const std::string &where, const llvm::Twine &what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 (where + ": description." + what).str());
}

llvm::json::Array strings(const std::vector<std::string> &v) {
  llvm::json::Array a;
  for (const std::string &s : v)
    a.push_back(s);
  return a;
}

llvm::Expected<std::vector<std::string>> readStrings(const llvm::json::Object &o,
                                                     llvm::StringRef key,
                                                     const std::string &where) {
  const llvm::json::Array *a = o.getArray(key);
  if (!a)
    return fail(where, key + " is missing or not a list");
  std::vector<std::string> out;
  for (const llvm::json::Value &v : *a) {
    std::optional<llvm::StringRef> s = v.getAsString();
    if (!s)
      return fail(where, key + " holds a value that is not a string");
    out.push_back(s->str());
  }
  return out;
}

std::string joinInts(const std::vector<int64_t> &v) {
  std::string out;
  for (int64_t i : v)
    out += (out.empty() ? "" : ",") + std::to_string(i);
  return out;
}

std::string mib(int64_t bytes) { return llvm::formatv("{0:f2} MiB", bytes / 1048576.0).str(); }

} // namespace

llvm::json::Object hybridc::descriptionToJson(const LibraryDescription &d) {
  llvm::json::Object o;
  o["model"] = llvm::json::Object(d.model);
  o["targets"] = strings(d.targets);
  o["weights_dtype"] = d.weightsDtype;
  o["matmul_inputs"] = d.matmulInputs;
  llvm::json::Object kinds;
  for (const auto &[name, k] : d.tensorKinds)
    kinds[name] = llvm::json::Object{{"dtype", k.dtype}, {"tensors", k.tensors}, {"bytes", k.bytes}};
  o["tensor_kinds"] = std::move(kinds);
  for (const PlanField &f : kPlanFields)
    o[f.key] = d.memory.*f.member;
  o["session_state_bytes"] = d.memory.emptySessionStateBytes();
  o["kv_bytes_per_token"] = d.memory.kvBytesPerToken();
  o["kv_dtype"] = kKvDtype;
  o["workspace_bytes"] = d.memory.workspaceBytes();
  o["checkpoint_bytes"] = d.memory.checkpointBytes();
  llvm::json::Array kernels;
  for (const KernelUse &k : d.kernels) {
    llvm::json::Object sizes;
    for (const auto &[key, value] : k.sizes)
      sizes[key] = value;
    llvm::json::Array layers;
    for (int64_t l : k.layers)
      layers.push_back(l);
    kernels.push_back(llvm::json::Object{{"symbol", k.symbol},
                                         {"target", k.target},
                                         {"kind", k.kind},
                                         {"weight_type", k.weightType},
                                         {"sizes", std::move(sizes)},
                                         {"layers", std::move(layers)},
                                         {"others", strings(k.others)},
                                         {"drivers", strings(k.drivers)}});
  }
  o["kernels"] = std::move(kernels);
  llvm::json::Array variants;
  for (const VariantFacts &v : d.variants)
    variants.push_back(llvm::json::Object{{"target", v.target},
                                          {"matmul_inputs", v.matmulInputs},
                                          {"weights_offset", v.weightsOffset},
                                          {"weights_bytes", v.weightsBytes}});
  o["variants"] = std::move(variants);
  o["pipeline"] = strings(d.pipeline);
  o["pipeline_text"] = strings(d.pipelineText);
  return o;
}

llvm::Expected<LibraryDescription> hybridc::descriptionFromJson(const llvm::json::Object &o,
                                                                const std::string &where) {
  LibraryDescription d;
  const llvm::json::Object *model = o.getObject("model");
  if (!model)
    return fail(where, "model is missing or not an object");
  d.model = *model;
  std::optional<llvm::StringRef> dtype = o.getString("weights_dtype"),
                                 inputs = o.getString("matmul_inputs");
  if (!dtype || !inputs)
    return fail(where, "weights_dtype or matmul_inputs is missing or not a string");
  d.weightsDtype = dtype->str();
  d.matmulInputs = inputs->str();
  for (const PlanField &f : kPlanFields) {
    std::optional<int64_t> v = o.getInteger(f.key);
    if (!v || *v < 0)
      return fail(where, llvm::Twine(f.key) + " is missing or not a non-negative integer");
    d.memory.*f.member = *v;
  }
  const llvm::json::Object *kinds = o.getObject("tensor_kinds");
  if (!kinds)
    return fail(where, "tensor_kinds is missing or not an object");
  for (const auto &[name, value] : *kinds) {
    const llvm::json::Object *k = value.getAsObject();
    std::optional<llvm::StringRef> kd = k ? k->getString("dtype") : std::nullopt;
    std::optional<int64_t> tensors = k ? k->getInteger("tensors") : std::nullopt,
                           bytes = k ? k->getInteger("bytes") : std::nullopt;
    if (!kd || !tensors || !bytes)
      return fail(where, "tensor_kinds." + name.str() + " needs dtype, tensors and bytes");
    d.tensorKinds[name.str()] = {kd->str(), *tensors, *bytes};
  }
  const llvm::json::Array *kernels = o.getArray("kernels");
  if (!kernels)
    return fail(where, "kernels is missing or not a list");
  for (const llvm::json::Value &v : *kernels) {
    const std::string at = "kernels[" + std::to_string(d.kernels.size()) + "]";
    const llvm::json::Object *k = v.getAsObject();
    if (!k)
      return fail(where, at + " is not an object");
    KernelUse use;
    std::optional<llvm::StringRef> symbol = k->getString("symbol"), kind = k->getString("kind"),
                                   wt = k->getString("weight_type");
    const llvm::json::Object *sizes = k->getObject("sizes");
    const llvm::json::Array *layers = k->getArray("layers");
    if (!symbol || !kind || !wt || !sizes || !layers)
      return fail(where, at + " needs symbol, kind, weight_type, sizes and layers");
    use.symbol = symbol->str();
    // Older folders (one variant) name no target: the library's.
    use.target = k->getString("target").value_or("").str();
    use.kind = kind->str();
    use.weightType = wt->str();
    for (const auto &[key, size] : *sizes) {
      std::optional<int64_t> n = size.getAsInteger();
      if (!n)
        return fail(where, at + ".sizes." + key.str() + " is not an integer");
      use.sizes[key.str()] = *n;
    }
    for (const llvm::json::Value &l : *layers) {
      std::optional<int64_t> n = l.getAsInteger();
      if (!n)
        return fail(where, at + ".layers holds a value that is not an integer");
      use.layers.push_back(*n);
    }
    llvm::Expected<std::vector<std::string>> others = readStrings(*k, "others", where);
    if (!others)
      return others.takeError();
    llvm::Expected<std::vector<std::string>> drivers = readStrings(*k, "drivers", where);
    if (!drivers)
      return drivers.takeError();
    use.others = std::move(*others);
    use.drivers = std::move(*drivers);
    d.kernels.push_back(std::move(use));
  }
  for (auto [key, member] : {std::pair{"targets", &LibraryDescription::targets},
                             std::pair{"pipeline", &LibraryDescription::pipeline},
                             std::pair{"pipeline_text", &LibraryDescription::pipelineText}}) {
    llvm::Expected<std::vector<std::string>> list = readStrings(o, key, where);
    if (!list)
      return list.takeError();
    d.*member = std::move(*list);
  }
  if (const llvm::json::Array *variants = o.getArray("variants")) {
    for (const llvm::json::Value &v : *variants) {
      const std::string at = "variants[" + std::to_string(d.variants.size()) + "]";
      const llvm::json::Object *f = v.getAsObject();
      std::optional<llvm::StringRef> target = f ? f->getString("target") : std::nullopt,
                                     inputs = f ? f->getString("matmul_inputs") : std::nullopt;
      std::optional<int64_t> offset = f ? f->getInteger("weights_offset") : std::nullopt,
                             bytes = f ? f->getInteger("weights_bytes") : std::nullopt;
      if (!target || !inputs || !offset || !bytes || *offset < 0 || *bytes < 0)
        return fail(where, at + " needs target, matmul_inputs, weights_offset and weights_bytes");
      d.variants.push_back({target->str(), inputs->str(), *offset, *bytes});
    }
  } else if (!d.targets.empty()) {
    // Folders from before variants: one, reading the whole payload.
    d.variants.push_back({d.targets.front(), d.matmulInputs, 0, d.memory.weightsBytes});
  }
  if (d.variants.size() != d.targets.size())
    return fail(where, "variants lists " + std::to_string(d.variants.size()) +
                           " variants but targets " + std::to_string(d.targets.size()));
  for (KernelUse &k : d.kernels)
    if (k.target.empty() && !d.targets.empty())
      k.target = d.targets.front();
  return d;
}

std::string hybridc::describeLibrary(const LibraryDescription &d, const std::string &name) {
  std::string out;
  llvm::raw_string_ostream os(out);
  auto modelInt = [&](llvm::StringRef key) { return d.model.getInteger(key).value_or(0); };
  os << name << ": " << modelInt("num_layers") << " layers (" << modelInt("mamba_layers")
     << " Mamba2, " << modelInt("attention_layers") << " attention), hidden "
     << modelInt("hidden_size") << ", vocabulary " << modelInt("vocab_size");
  if (modelInt("num_experts") > 0)
    os << ", " << modelInt("num_experts") << " experts top-" << modelInt("experts_per_token");
  os << "\n";
  os << "targets: " << llvm::join(d.targets, ", ") << "\n";
  if (d.variants.size() > 1) {
    // One line each: its matmul inputs and its layout of the weights.
    os << "weights: " << d.weightsDtype << "\n";
    for (const VariantFacts &v : d.variants)
      os << llvm::formatv("  {0,-20} matmul inputs {1,-4}  weights {2,12} bytes at {3}\n",
                          v.target, v.matmulInputs, v.weightsBytes, v.weightsOffset);
  } else {
    os << "weights: " << d.weightsDtype << ", matmul inputs " << d.matmulInputs << "\n";
  }
  size_t width = 0;
  for (const auto &[kind, k] : d.tensorKinds)
    width = std::max(width, kind.size());
  for (const auto &[kind, k] : d.tensorKinds)
    os << "  " << kind << std::string(width - kind.size(), ' ')
       << llvm::formatv("  {0,-5} {1,4} tensors {2,12} bytes\n", k.dtype, k.tensors, k.bytes);
  const MemoryPlan &m = d.memory;
  os << "memory:\n";
  os << llvm::formatv("  weights_bytes         {0,14} ({1})\n", m.weightsBytes,
                      mib(m.weightsBytes));
  os << llvm::formatv("  session_state_bytes   {0,14} (an empty session: the state and the "
                      "state before the latest call, {1} each)\n",
                      m.emptySessionStateBytes(), m.stateBytes);
  os << llvm::formatv("  kv_bytes_per_token    {0,14} ({1} segments x {2} bytes, {3}; plus 4 "
                      "bytes of token history)\n",
                      m.kvBytesPerToken(), m.kvSegments, m.kvRowBytes, kKvDtype);
  os << llvm::formatv("  workspace_bytes       {0,14} ({1} + {2} per token, calls of up to "
                      "{3} tokens)\n",
                      m.workspaceBytes(), m.workspaceFixedBytes, m.workspaceBytesPerToken,
                      m.maxChunkTokens);
  os << llvm::formatv("  checkpoint_bytes      {0,14} (each kept checkpoint)\n",
                      m.checkpointBytes());
  os << "kernels (" << d.kernels.size() << "):\n";
  for (const KernelUse &k : d.kernels) {
    std::string sizes;
    for (const auto &[key, value] : k.sizes)
      sizes += " " + key + "=" + std::to_string(value);
    std::string uses;
    if (!k.layers.empty())
      uses = "layers " + joinInts(k.layers);
    for (const std::string &o : k.others)
      uses += (uses.empty() ? "" : ", ") + o;
    os << "  " << k.symbol << " " << k.kind << sizes << " [" << k.weightType << "]: " << uses
       << " (" << llvm::join(k.drivers, ", ") << ")"
       << (d.variants.size() > 1 ? " on " + k.target : "") << "\n";
  }
  os << "pipeline: " << llvm::join(d.pipeline, ", ") << "\n";
  // import builds the hybrid IR; each pass manager after it, as text.
  for (const std::string &text : d.pipelineText)
    os << "  hybridc-opt --pass-pipeline='" << text << "'\n";
  return out;
}
