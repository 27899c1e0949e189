//===- Manifest.cpp - OUT_DIR/hybridc-model.json --------------------------===//
#include "hybridc/Run/Manifest.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace hybridc;

namespace {

// One table for both directions, so a key is never written under one name
// and read under another.
struct WorkField {
  const char *key;
  int64_t ModelWork::*member;
};
constexpr WorkField kWorkFields[] = {
    {"bits_per_weight", &ModelWork::bitsPerWeight},
    {"matmul_macs_per_token", &ModelWork::matmulMacsPerToken},
    {"lm_head_macs_per_token", &ModelWork::lmHeadMacsPerToken},
    {"attention_macs_per_token_per_position", &ModelWork::attentionMacsPerPosition},
    {"scan_flops_per_token", &ModelWork::scanFlopsPerToken},
    {"decode_weights_per_token", &ModelWork::decodeWeightsPerToken},
    {"decode_weight_bytes_per_token", &ModelWork::decodeWeightBytesPerToken},
    {"decode_state_bytes_per_token", &ModelWork::decodeStateBytesPerToken},
    {"decode_kv_bytes_per_position", &ModelWork::decodeKvBytesPerPosition},
};
// Recorded since batched decode is set against its bytes; 0 when absent.
constexpr WorkField kOptionalWorkFields[] = {
    {"moe_layers", &ModelWork::moeLayers},
    {"num_experts", &ModelWork::numExperts},
    {"experts_per_token", &ModelWork::expertsPerToken},
    {"expert_weight_bytes", &ModelWork::expertWeightBytes},
};

} // namespace

llvm::json::Object hybridc::workToJson(const ModelWork &work) {
  llvm::json::Object o;
  for (const WorkField &f : kWorkFields)
    o[f.key] = work.*f.member;
  for (const WorkField &f : kOptionalWorkFields)
    o[f.key] = work.*f.member;
  return o;
}

static std::string manifestPath(const std::string &outDir) {
  llvm::SmallString<256> p(outDir);
  llvm::sys::path::append(p, kManifestFileName);
  return std::string(p);
}

llvm::Error hybridc::writeManifest(const std::string &outDir, const Manifest &m) {
  llvm::json::Object obj{{"name", m.name},       {"library", m.library},
                         {"header", m.header},   {"weights", m.weights},
                         {"target", m.target},   {"weights_dtype", m.weightsDtype},
                         {"matmul_inputs", m.matmulInputs},
                         {"vocab_size", m.vocabSize}, {"hidden_size", m.hiddenSize},
                         {"num_layers", m.numLayers}};
  if (m.work)
    obj["work"] = workToJson(*m.work);
  if (m.description)
    obj["description"] = descriptionToJson(*m.description);
  std::error_code ec;
  llvm::raw_fd_ostream os(manifestPath(outDir), ec, llvm::sys::fs::OF_Text);
  if (ec)
    return llvm::createStringError(ec, "%s: %s", manifestPath(outDir).c_str(),
                                   ec.message().c_str());
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(obj))) << "\n";
  return llvm::Error::success();
}

llvm::Expected<Manifest> hybridc::readManifest(const std::string &outDir) {
  std::string path = manifestPath(outDir);
  auto fail = [&](const llvm::Twine &what) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   (path + ": " + what).str());
  };
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return fail("cannot read (is " + outDir + " the output folder of `hybridc compile`?)");
  llvm::Expected<llvm::json::Value> json = llvm::json::parse((*buf)->getBuffer());
  if (!json)
    return fail("not valid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *o = json->getAsObject();
  if (!o)
    return fail("expected a JSON object");
  Manifest m;
  auto str = [&](const char *key, std::string &out) -> bool {
    std::optional<llvm::StringRef> s = o->getString(key);
    if (s)
      out = s->str();
    return s.has_value();
  };
  auto num = [&](const char *key, int64_t &out) -> bool {
    std::optional<int64_t> v = o->getInteger(key);
    if (v)
      out = *v;
    return v.has_value();
  };
  if (!str("name", m.name) || !str("library", m.library) || !str("header", m.header) ||
      !str("weights", m.weights) || !num("vocab_size", m.vocabSize))
    return fail("missing name, library, header, weights or vocab_size");
  str("target", m.target);
  str("weights_dtype", m.weightsDtype);
  str("matmul_inputs", m.matmulInputs);
  num("hidden_size", m.hiddenSize);
  num("num_layers", m.numLayers);
  if (const llvm::json::Value *w = o->get("work")) {
    const llvm::json::Object *wo = w->getAsObject();
    if (!wo)
      return fail("\"work\" is not an object");
    ModelWork work;
    for (const WorkField &f : kWorkFields) {
      std::optional<int64_t> v = wo->getInteger(f.key);
      if (!v || *v < 0)
        return fail(llvm::Twine("work.") + f.key + " is missing or not a non-negative integer");
      work.*f.member = *v;
    }
    for (const WorkField &f : kOptionalWorkFields) {
      const llvm::json::Value *v = wo->get(f.key);
      if (!v) {
        work.expertsRecorded = false;
        continue;
      }
      std::optional<int64_t> n = v->getAsInteger();
      if (!n || *n < 0)
        return fail(llvm::Twine("work.") + f.key + " is not a non-negative integer");
      work.*f.member = *n;
    }
    m.work = work;
  }
  if (const llvm::json::Value *d = o->get("description")) {
    const llvm::json::Object *dobj = d->getAsObject();
    if (!dobj)
      return fail("\"description\" is not an object");
    llvm::Expected<LibraryDescription> description =
        descriptionFromJson(*dobj, manifestPath(outDir));
    if (!description)
      return description.takeError();
    m.description = std::move(*description);
  }
  return m;
}

Manifest Manifest::forVariant(const std::string &variant) const {
  Manifest m = *this;
  if (description)
    for (const VariantFacts &v : description->variants)
      if (v.target == variant) {
        m.target = v.target;
        m.matmulInputs = v.matmulInputs;
      }
  return m;
}
