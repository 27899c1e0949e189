//===- LibraryDescription.cpp - what a compiled library holds -------------===//
#include "hybridc/Run/LibraryDescription.h"
#include "hybridc/runtime_abi.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>

using namespace hybridc;

namespace {

// HYBRIDC_RT_ALIGN of runtime/src/Internal.h: the runtime's allocations are
// whole cache lines.
constexpr int64_t kRuntimeAlign = 64;

// The descriptor's sizes, one table for writing and reading.
struct PlanField {
  const char *key;
  int64_t MemoryPlan::*member;
};
constexpr PlanField kPlanFields[] = {
    {"weights_bytes", &MemoryPlan::weightsBytes},
#define HYBRIDC_PLAN_FIELD(field, member) {#field, &MemoryPlan::member},
    HYBRIDC_SESSION_SIZES(HYBRIDC_PLAN_FIELD)
#undef HYBRIDC_PLAN_FIELD
};

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

int64_t roundUp(int64_t bytes, int64_t unit) { return (bytes + unit - 1) / unit * unit; }

// What hybridc_rt_aligned_alloc (runtime/src/Session.cpp) takes for `bytes`:
// whole cache lines, at least one.
int64_t alignedAllocBytes(int64_t bytes) {
  return bytes > 0 ? roundUp(bytes, kRuntimeAlign) : kRuntimeAlign;
}

// The token history's capacity for `tokens` tokens: hybridc_rt_reserve_history
// (runtime/src/Checkpoints.cpp) doubles it from 64 until they fit, whatever
// the calls' sizes, so it depends on the total alone.
int64_t historyCapacity(int64_t tokens) {
  if (tokens <= 0)
    return 0;
  int64_t cap = 64;
  while (cap < tokens)
    cap = cap > INT64_MAX / 4 ? tokens : cap * 2;
  return cap;
}

} // namespace

SessionMemory MemoryPlan::sessionAt(int64_t tokens, int64_t checkpointInterval) const {
  SessionMemory s;
  s.tokens = tokens = std::max<int64_t>(tokens, 0);
  s.checkpointInterval = checkpointInterval = std::max<int64_t>(checkpointInterval, 0);
  // Session.cpp, hybridc_rt_session_create: state, scratch[0], scratch[1] and
  // call_state, each aligned_alloc'ed; every call writes the scratch ones.
  s.stateCopiesBytes = 4 * alignedAllocBytes(stateBytes);
  // Streaming.cpp, hybridc_rt_ensure_kv: one mapping of capacity (doubled,
  // whole blocks) x kv_segments x kv_row_bytes, but a page of it is resident
  // only once written, and the driver writes the blocks holding tokens
  // [0, tokens) of each segment (hybridc_rt_kv_used_bytes, Internal.h),
  // tails included; a growth gives back the pages the moved segments left
  // (hybridc_rt_map_release). Left out: transparent huge pages (the mapping
  // asks for them, so a touched 2 MiB-aligned range may be resident whole).
  const int64_t segmentInUse = hybridc_kv_round_tokens(tokens) * kvRowBytes;
  s.kvInUseBytes = kvSegments * segmentInUse;
  s.kvBytes = kvSegments * roundUp(segmentInUse, 4096);
  // Checkpoints.cpp, hybridc_rt_reserve_history: int32 per token of capacity.
  s.historyBytes = historyCapacity(tokens) * static_cast<int64_t>(sizeof(int32_t));
  // Streaming.cpp, alloc_new: one aligned state per multiple of the interval
  // in (0, tokens], and a 16-byte entry (position, pointer) in their list.
  s.checkpoints = checkpointInterval > 0 ? tokens / checkpointInterval : 0;
  s.checkpointBytes = s.checkpoints * (alignedAllocBytes(stateBytes) + 16);
  // Streaming.cpp, ensure_workspace: sized for the largest call so far, a
  // call running at most max_chunk_tokens at once; none before the first.
  s.workspaceTokens = std::min(tokens, maxChunkTokens);
  const int64_t workspace = workspaceFixedBytes + s.workspaceTokens * workspaceBytesPerToken;
  s.workspaceBytes = tokens > 0 ? alignedAllocBytes(workspace) : 0;
  // StateImage.cpp, image_bytes (the layout in runtime_abi.h).
  s.imageBytes = HYBRIDC_STATE_HEADER_BYTES + 2 * stateBytes +
                 s.tokens * static_cast<int64_t>(sizeof(int32_t)) +
                 s.checkpoints * (8 + stateBytes) + s.kvInUseBytes;
  return s;
}

int64_t MemoryPlan::reportedStateBytes(int64_t tokens, int64_t checkpointInterval) const {
  // Session.cpp, hybridc_rt_session_state_bytes, on this session.
  const SessionMemory s = sessionAt(tokens, checkpointInterval);
  return stateBytes * (2 + s.checkpoints) + s.tokens * static_cast<int64_t>(sizeof(int32_t)) +
         s.kvInUseBytes;
}

const VariantFacts *LibraryDescription::variant(const std::string &target) const {
  for (const VariantFacts &v : variants)
    if (v.target == target)
      return &v;
  return nullptr;
}

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
  o["kv_dtype"] = hybridc_kv_dtype_name(d.memory.kvDtype);
  o["kv_heads"] = d.memory.kvHeads;
  o["kv_head_dim"] = d.memory.kvHeadDim;
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
  llvm::json::Array templates;
  for (const ChatTemplateFacts &t : d.chatTemplates)
    templates.push_back(llvm::json::Object{{"name", t.name}, {"text", t.text}});
  o["chat_templates"] = std::move(templates);
  o["bos_token"] = d.bosToken;
  o["eos_token"] = d.eosToken;
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
  // The KV cache's type and row shape; a folder compiled before KV dtypes
  // has f32 rows of a shape it does not record (0).
  std::optional<llvm::StringRef> kv = o.getString("kv_dtype");
  d.memory.kvDtype = kv ? -1 : HYBRIDC_KV_F32;
  for (int32_t t = 0; kv && t < HYBRIDC_KV_NUM_DTYPES; ++t)
    if (*kv == hybridc_kv_dtype_name(t))
      d.memory.kvDtype = t;
  if (d.memory.kvDtype < 0)
    return fail(where, "kv_dtype is not f32, bf16 or int8");
  for (auto [key, field] : {std::pair{"kv_heads", &MemoryPlan::kvHeads},
                            std::pair{"kv_head_dim", &MemoryPlan::kvHeadDim}}) {
    std::optional<int64_t> v = o.getInteger(key);
    if (o.get(key) && (!v || *v < 0))
      return fail(where, llvm::Twine(key) + " is not a non-negative integer");
    d.memory.*field = v.value_or(0);
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
  // Folders from before chat templates have none.
  if (const llvm::json::Value *v = o.get("chat_templates")) {
    const llvm::json::Array *templates = v->getAsArray();
    if (!templates)
      return fail(where, "chat_templates is not a list");
    for (const llvm::json::Value &t : *templates) {
      const llvm::json::Object *f = t.getAsObject();
      std::optional<llvm::StringRef> name = f ? f->getString("name") : std::nullopt,
                                     text = f ? f->getString("text") : std::nullopt;
      if (!name || !text)
        return fail(where, "chat_templates[" + std::to_string(d.chatTemplates.size()) +
                               "] needs a name and a text");
      d.chatTemplates.push_back({name->str(), text->str()});
    }
  }
  for (auto [key, member] : {std::pair{"bos_token", &LibraryDescription::bosToken},
                             std::pair{"eos_token", &LibraryDescription::eosToken}})
    d.*member = o.getString(key).value_or("").str();
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
  os << llvm::formatv("  kv_bytes_per_token    {0,14} ({1} segments x {2} bytes, {3}{4}; plus 4 "
                      "bytes of token history)\n",
                      m.kvBytesPerToken(), m.kvSegments, m.kvRowBytes,
                      hybridc_kv_dtype_name(m.kvDtype),
                      m.kvDtype == HYBRIDC_KV_INT8 ? " with a scale per 32" : "");
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
  os << "chat templates: ";
  if (d.chatTemplates.empty())
    os << "none";
  for (size_t i = 0; i < d.chatTemplates.size(); ++i)
    os << (i ? ", " : "") << d.chatTemplates[i].name << " ("
       << d.chatTemplates[i].text.size() << " bytes)";
  os << (d.chatTemplates.empty() ? "" : " (hybridc inspect --chat-template NAME prints one)")
     << "\n";
  os << "pipeline: " << llvm::join(d.pipeline, ", ") << "\n";
  // import builds the hybrid IR; each pass manager after it, as text.
  for (const std::string &text : d.pipelineText)
    os << "  hybridc-opt --pass-pipeline='" << text << "'\n";
  return out;
}

llvm::json::Object hybridc::sessionMemoryToJson(const SessionMemory &s) {
  return llvm::json::Object{{"tokens", s.tokens},
                            {"checkpoint_interval", s.checkpointInterval},
                            {"state_copies_bytes", s.stateCopiesBytes},
                            {"kv_bytes", s.kvBytes},
                            {"kv_in_use_bytes", s.kvInUseBytes},
                            {"history_bytes", s.historyBytes},
                            {"checkpoints", s.checkpoints},
                            {"checkpoint_bytes", s.checkpointBytes},
                            {"workspace_tokens", s.workspaceTokens},
                            {"workspace_bytes", s.workspaceBytes},
                            {"total_bytes", s.total()},
                            {"state_image_bytes", s.imageBytes}};
}

std::string hybridc::describeSessionMemory(const SessionMemory &s, const MemoryPlan &plan) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("  state_copies          {0,14} (4 x {1}: the state, 2 scratch buffers, the "
                      "state before the latest call)\n",
                      s.stateCopiesBytes, plan.stateBytes);
  os << llvm::formatv("  kv_cache              {0,14} ({1} blocks of {2} tokens in each of {3} "
                      "segments, {4} bytes a token, {5}: {6} in use, each segment's in whole "
                      "4 KiB pages)\n",
                      s.kvBytes, hybridc_kv_round_tokens(s.tokens) / HYBRIDC_KV_BLOCK_TOKENS,
                      HYBRIDC_KV_BLOCK_TOKENS, plan.kvSegments, plan.kvRowBytes,
                      hybridc_kv_dtype_name(plan.kvDtype), s.kvInUseBytes);
  os << llvm::formatv("  token_history         {0,14} (room for {1} tokens, 4 bytes each)\n",
                      s.historyBytes, s.historyBytes / 4);
  if (s.checkpointInterval > 0)
    os << llvm::formatv("  checkpoints           {0,14} ({1} kept, one every {2} tokens)\n",
                        s.checkpointBytes, s.checkpoints, s.checkpointInterval);
  else
    os << llvm::formatv("  checkpoints           {0,14} (no checkpoint interval)\n",
                        s.checkpointBytes);
  os << llvm::formatv("  workspace             {0,14} (a call of {1} tokens)\n", s.workspaceBytes,
                      s.workspaceTokens);
  os << llvm::formatv("  total                 {0,14} ({1})\n", s.total(), mib(s.total()));
  os << llvm::formatv("  state_image           {0,14} (session_save of this session)\n",
                      s.imageBytes);
  return out;
}
