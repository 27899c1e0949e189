//===- Manifest.cpp - OUT_DIR/hybridc-model.json --------------------------===//
#include "hybridc/Run/Manifest.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace hybridc;

static std::string manifestPath(const std::string &outDir) {
  llvm::SmallString<256> p(outDir);
  llvm::sys::path::append(p, kManifestFileName);
  return std::string(p);
}

llvm::Error hybridc::writeManifest(const std::string &outDir, const Manifest &m) {
  llvm::json::Object obj{{"name", m.name},       {"library", m.library},
                         {"header", m.header},   {"weights", m.weights},
                         {"target", m.target},   {"weights_dtype", m.weightsDtype},
                         {"vocab_size", m.vocabSize}, {"hidden_size", m.hiddenSize},
                         {"num_layers", m.numLayers}};
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
  num("hidden_size", m.hiddenSize);
  num("num_layers", m.numLayers);
  return m;
}
