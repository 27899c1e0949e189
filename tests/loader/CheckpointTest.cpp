//===- CheckpointTest.cpp - model folders: tensors, shards, errors --------===//
#include "TestFiles.h"

#include "hybridc/Model/Checkpoint.h"

#include <algorithm>
#include <gtest/gtest.h>

using namespace hybridc;
using namespace hybridc::test;

namespace {

std::string openError(const std::string &dir) {
  auto c = Checkpoint::open(dir);
  EXPECT_FALSE(static_cast<bool>(c)) << "expected an error for " << dir;
  return c ? std::string() : errorMessage(c.takeError());
}

std::vector<TensorData> without(std::vector<TensorData> tensors, const std::string &name) {
  auto it = std::find_if(tensors.begin(), tensors.end(),
                         [&](const TensorData &t) { return t.name == name; });
  EXPECT_NE(it, tensors.end()) << name;
  if (it != tensors.end())
    tensors.erase(it);
  return tensors;
}

TEST(Checkpoint, GoldenOpensWithEveryExpectedTensor) {
  auto c = Checkpoint::open(goldenDir());
  ASSERT_TRUE(static_cast<bool>(c)) << errorMessage(c.takeError());
  std::vector<TensorSpec> specs = expectedTensors((*c)->config());
  EXPECT_EQ(specs.size(), (*c)->allTensors().size());
  for (const TensorSpec &s : specs)
    EXPECT_EQ((*c)->get(s.name).shape, s.shape) << s.name;
  EXPECT_EQ(lmHeadTensorName((*c)->config()), "model.embed_tokens.weight");
}

TEST(Checkpoint, MissingTensor) {
  TempDir dir;
  writeModelDir(dir, without(goldenTensors(), "model.layers.1.mamba.A_log"));
  std::string msg = openError(dir.path());
  EXPECT_NE(msg.find("missing tensor 'model.layers.1.mamba.A_log' (expected shape [8])"),
            std::string::npos)
      << msg;
}

TEST(Checkpoint, ExtraTensor) {
  TempDir dir;
  std::vector<TensorData> tensors = goldenTensors();
  tensors.push_back({"model.layers.9.mystery.weight", "F32", {1}, {0, 0, 0, 0}});
  writeModelDir(dir, tensors);
  std::string msg = openError(dir.path());
  EXPECT_NE(msg.find("unexpected tensor 'model.layers.9.mystery.weight'"), std::string::npos)
      << msg;
}

TEST(Checkpoint, WronglyShapedTensor) {
  TempDir dir;
  std::vector<TensorData> tensors = goldenTensors();
  for (TensorData &t : tensors)
    if (t.name == "model.layers.2.self_attn.k_proj.weight")
      t.shape = {64, 32}; // transposed [32, 64]
  writeModelDir(dir, tensors);
  std::string msg = openError(dir.path());
  EXPECT_NE(msg.find("tensor 'model.layers.2.self_attn.k_proj.weight' has shape [64, 32] but "
                     "config.json implies [32, 64]"),
            std::string::npos)
      << msg;
}

TEST(Checkpoint, ConfigInconsistentWithWeights) {
  TempDir dir;
  writeModelDir(dir, goldenTensors(), [](std::string cfg) {
    return replaceOnce(cfg, "\"mamba_d_state\": 16", "\"mamba_d_state\": 32");
  });
  std::string msg = openError(dir.path());
  EXPECT_NE(msg.find("mamba.in_proj.weight' has shape [296, 64] but config.json implies "
                     "[328, 64]"),
            std::string::npos)
      << msg;
}

TEST(Checkpoint, TiedCheckpointMayCarryAnUnusedLmHead) {
  TempDir dir;
  std::vector<TensorData> tensors = goldenTensors();
  for (const TensorData &t : tensors)
    if (t.name == "model.embed_tokens.weight") {
      TensorData head = t;
      head.name = "lm_head.weight";
      tensors.push_back(head);
      break;
    }
  writeModelDir(dir, tensors);
  auto c = Checkpoint::open(dir.path());
  ASSERT_TRUE(static_cast<bool>(c)) << errorMessage(c.takeError());
}

TEST(Checkpoint, UntiedNeedsLmHead) {
  TempDir dir;
  writeModelDir(dir, goldenTensors(), [](std::string cfg) {
    return replaceOnce(cfg, "\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false");
  });
  std::string msg = openError(dir.path());
  EXPECT_NE(msg.find("missing tensor 'lm_head.weight'"), std::string::npos) << msg;
}

TEST(Checkpoint, NoWeightFiles) {
  TempDir dir;
  writeFile(dir.file("config.json"), readFile(goldenDir() + "/config.json"));
  std::string msg = openError(dir.path());
  EXPECT_NE(msg.find("no model.safetensors or model.safetensors.index.json"),
            std::string::npos)
      << msg;
}

TEST(Checkpoint, NotADirectory) {
  std::string msg = openError("/nonexistent-model-dir");
  EXPECT_NE(msg.find("/nonexistent-model-dir: not a directory"), std::string::npos) << msg;
}

TEST(Checkpoint, BadConfigNamesTheFile) {
  TempDir dir;
  writeModelDir(dir, goldenTensors(),
                [](std::string cfg) { return replaceOnce(cfg, "{", "{ oops"); });
  std::string msg = openError(dir.path());
  EXPECT_NE(msg.find(dir.file("config.json") + ": not valid JSON"), std::string::npos) << msg;
}

/// Writes the golden tensors split over two shards plus an index.
void writeSharded(const TempDir &dir, const std::string &index) {
  std::vector<TensorData> all = goldenTensors(), first, second;
  for (size_t i = 0; i < all.size(); ++i)
    (i % 2 ? second : first).push_back(all[i]);
  writeFile(dir.file("config.json"), readFile(goldenDir() + "/config.json"));
  writeSafetensors(dir.file("model-00001-of-00002.safetensors"), first);
  writeSafetensors(dir.file("model-00002-of-00002.safetensors"), second);
  if (!index.empty()) {
    writeFile(dir.file("model.safetensors.index.json"), index);
    return;
  }
  std::string map;
  for (size_t i = 0; i < all.size(); ++i)
    map += std::string(i ? "," : "") + "\"" + all[i].name + "\":\"model-0000" +
           (i % 2 ? "2" : "1") + "-of-00002.safetensors\"";
  writeFile(dir.file("model.safetensors.index.json"),
            "{\"metadata\":{},\"weight_map\":{" + map + "}}");
}

TEST(Checkpoint, ShardedCheckpointOpens) {
  TempDir dir;
  writeSharded(dir, "");
  auto c = Checkpoint::open(dir.path());
  ASSERT_TRUE(static_cast<bool>(c)) << errorMessage(c.takeError());
  EXPECT_EQ((*c)->allTensors().size(), goldenTensors().size());
  EXPECT_NE((*c)->get("model.norm.weight").file.find("-of-00002.safetensors"),
            std::string::npos);
}

TEST(Checkpoint, ShardedIndexNamesMissingFile) {
  TempDir dir;
  writeSharded(dir, "{\"weight_map\":{\"model.norm.weight\":\"model-00003-of-00003.safetensors\"}}");
  std::string msg = openError(dir.path());
  EXPECT_NE(msg.find("names shard 'model-00003-of-00003.safetensors', which does not exist"),
            std::string::npos)
      << msg;
}

TEST(Checkpoint, ShardedIndexNotJson) {
  TempDir dir;
  writeSharded(dir, "{\"weight_map\": [");
  std::string msg = openError(dir.path());
  EXPECT_NE(msg.find("model.safetensors.index.json: not valid JSON"), std::string::npos)
      << msg;
}

TEST(Checkpoint, ShardedTensorInTheWrongShard) {
  TempDir dir;
  // An index that places everything in shard 1, which lacks half of them.
  writeSharded(dir, "");
  std::string index = readFile(dir.file("model.safetensors.index.json"));
  size_t pos;
  while ((pos = index.find("model-00002-of-00002")) != std::string::npos)
    index.replace(pos, 20, "model-00001-of-00002");
  writeFile(dir.file("model.safetensors.index.json"), index);
  std::string msg = openError(dir.path());
  EXPECT_NE(msg.find("-of-00002.safetensors, which does not contain it"), std::string::npos)
      << msg;
}

} // namespace
