//===- Checkpoint.cpp - open and validate a Hugging Face model folder -----===//
#include "hybridc/Model/Checkpoint.h"
#include "hybridc/Support/Error.h"

#include "hybridc/Model/GgufModel.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <map>

using namespace hybridc;

static std::string joinPath(llvm::StringRef dir, llvm::StringRef file) {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, file);
  return std::string(p);
}

static std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

llvm::Expected<std::unique_ptr<Checkpoint>> Checkpoint::open(llvm::StringRef dir) {
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->dir_ = dir.str();
  if (llvm::sys::fs::is_regular_file(dir) && dir.ends_with(".gguf")) {
    if (llvm::Error e = ckpt->openGguf())
      return std::move(e);
    if (llvm::Error e = ckpt->validateTensors())
      return std::move(e);
    return ckpt;
  }
  if (!llvm::sys::fs::is_directory(dir))
    return makeError(dir + ": not a directory (expected a Hugging Face model "
                           "folder with config.json and *.safetensors, or a .gguf file)");
  llvm::Expected<ModelConfig> config = loadModelConfig(joinPath(dir, "config.json"));
  if (!config)
    return config.takeError();
  ckpt->config_ = std::move(*config);
  if (llvm::Error e = ckpt->loadTensorFiles())
    return std::move(e);
  if (llvm::Error e = ckpt->validateTensors())
    return std::move(e);
  return ckpt;
}

/// The GGUF file: its metadata as the config, its tensors renamed and
/// transformed to the Hugging Face model's (GgufModel.h).
llvm::Error Checkpoint::openGguf() {
  llvm::Expected<std::unique_ptr<GgufFile>> file = GgufFile::open(dir_);
  if (!file)
    return file.takeError();
  gguf_ = std::move(*file);
  configSource_ = "its GGUF metadata";
  llvm::Expected<ModelConfig> config = ggufModelConfig(*gguf_);
  if (!config)
    return config.takeError();
  config_ = std::move(*config);
  if (llvm::Error e = ggufModelTensors(*gguf_, config_, ggufViews_))
    return e;
  for (const TensorView &t : ggufViews_)
    tensors_[t.name] = &t;
  return llvm::Error::success();
}

/// Opens model.safetensors, or every shard named by
/// model.safetensors.index.json, and checks each tensor lives where the
/// index says and appears only once.
llvm::Error Checkpoint::loadTensorFiles() {
  std::string single = joinPath(dir_, "model.safetensors");
  std::string indexPath = joinPath(dir_, "model.safetensors.index.json");
  // Which file the index assigns each tensor to; empty for a single file.
  std::map<std::string, std::string> weightMap;
  std::vector<std::string> files;
  if (llvm::sys::fs::exists(indexPath)) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
        llvm::MemoryBuffer::getFile(indexPath, /*IsText=*/true);
    if (!buf)
      return makeError(indexPath + ": cannot read: " + buf.getError().message());
    llvm::Expected<llvm::json::Value> json = llvm::json::parse((*buf)->getBuffer());
    if (!json)
      return makeError(indexPath + ": not valid JSON: " + llvm::toString(json.takeError()));
    const llvm::json::Object *root = json->getAsObject();
    const llvm::json::Object *map = root ? root->getObject("weight_map") : nullptr;
    if (!map)
      return makeError(indexPath + ": missing object \"weight_map\"");
    llvm::StringSet<> seen;
    for (const auto &kv : *map) {
      std::optional<llvm::StringRef> file = kv.second.getAsString();
      if (!file || file->empty() || file->contains('/'))
        return makeError(indexPath + ": weight_map entry '" + kv.first.str() +
                         "' must name a file in the model folder");
      weightMap[kv.first.str()] = file->str();
      if (seen.insert(*file).second)
        files.push_back(file->str());
    }
    std::sort(files.begin(), files.end());
    for (const std::string &f : files)
      if (!llvm::sys::fs::exists(joinPath(dir_, f)))
        return makeError(indexPath + ": names shard '" + f + "', which does not exist in " +
                         dir_);
  } else if (llvm::sys::fs::exists(single)) {
    files.push_back("model.safetensors");
  } else {
    return makeError(dir_ + ": no model.safetensors or model.safetensors.index.json");
  }

  for (const std::string &f : files) {
    llvm::Expected<std::unique_ptr<SafetensorsFile>> file =
        SafetensorsFile::open(joinPath(dir_, f));
    if (!file)
      return file.takeError();
    for (const TensorView &t : (*file)->tensors()) {
      auto [it, inserted] = tensors_.try_emplace(t.name, &t);
      if (!inserted)
        return makeError("tensor '" + t.name + "' appears in both " + it->second->file +
                         " and " + t.file);
      if (!weightMap.empty()) {
        auto entry = weightMap.find(t.name);
        if (entry == weightMap.end() || entry->second != f)
          return makeError(t.file + ": holds tensor '" + t.name + "', which " +
                           indexPath + " places " +
                           (entry == weightMap.end() ? std::string("nowhere")
                                                     : "in " + entry->second));
      }
    }
    files_.push_back(std::move(*file));
  }
  for (const auto &[name, file] : weightMap)
    if (!tensors_.count(name))
      return makeError(indexPath + ": places tensor '" + name + "' in " + file +
                       ", which does not contain it");
  return llvm::Error::success();
}

/// The checkpoint must hold exactly the tensors the config implies: a
/// missing tensor, a wrong shape or an unexpected extra tensor (usually a
/// config that does not match its weights) is an error naming the tensor.
llvm::Error Checkpoint::validateTensors() const {
  llvm::StringSet<> expected;
  for (const TensorSpec &spec : expectedTensors(config_)) {
    expected.insert(spec.name);
    const TensorView *t = find(spec.name);
    if (!t)
      return makeError(dir_ + ": missing tensor '" + spec.name + "' (expected shape " +
                       shapeString(spec.shape) + ")");
    if (t->shape != spec.shape)
      return makeError(t->file + ": tensor '" + spec.name + "' has shape " +
                       shapeString(t->shape) + " but " + configSource_ + " implies " +
                       shapeString(spec.shape));
  }
  // A tied checkpoint may still carry a copy of lm_head.weight; it is unused.
  if (config_.tieWordEmbeddings)
    expected.insert("lm_head.weight");
  for (const TensorView *t : allTensors())
    if (!expected.count(t->name))
      return makeError(t->file + ": unexpected tensor '" + t->name +
                       "' (not part of the model " + configSource_ + " describes)");
  return llvm::Error::success();
}

const TensorView *Checkpoint::find(llvm::StringRef name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

const TensorView &Checkpoint::get(llvm::StringRef name) const {
  const TensorView *t = find(name);
  assert(t && "tensor validated by Checkpoint::open");
  return *t;
}

std::vector<const TensorView *> Checkpoint::allTensors() const {
  std::vector<const TensorView *> out;
  for (const TensorView &t : ggufViews_)
    out.push_back(&t);
  for (const auto &f : files_)
    for (const TensorView &t : f->tensors())
      out.push_back(&t);
  return out;
}
