//===- ImporterTest.cpp - checkpoint -> `hybrid` IR -----------------------===//
#include "TestFiles.h"

#include "hybridc/Import/Importer.h"

#include "hybrid/HybridOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace hybridc;
using namespace hybridc::test;

namespace {

template <typename OpT> int countOps(mlir::ModuleOp module) {
  int n = 0;
  module.walk([&](OpT) { ++n; });
  return n;
}

TEST(Importer, GoldenModelImportsAndVerifies) {
  auto ckpt = Checkpoint::open(goldenDir());
  ASSERT_TRUE(static_cast<bool>(ckpt)) << errorMessage(ckpt.takeError());
  mlir::MLIRContext context;
  auto module = importCheckpoint(context, **ckpt);
  ASSERT_TRUE(static_cast<bool>(module)) << errorMessage(module.takeError());
  mlir::ModuleOp m = **module;

  // One declaration per checkpoint tensor: the tied lm_head reuses the
  // embedding's symbol instead of declaring a second copy.
  EXPECT_EQ(countOps<hybrid::WeightOp>(m), static_cast<int>((*ckpt)->allTensors().size()));
  EXPECT_EQ(countOps<hybrid::SSMScanOp>(m), 3);
  EXPECT_EQ(countOps<hybrid::CausalConv1dOp>(m), 3);
  EXPECT_EQ(countOps<hybrid::AttentionOp>(m), 1);
  EXPECT_EQ(countOps<hybrid::MoEOp>(m), 4);
  EXPECT_EQ(countOps<hybrid::SwiGLUMLPOp>(m), 4);
  EXPECT_EQ(countOps<hybrid::LMHeadOp>(m), 1);

  auto forward = m.lookupSymbol<mlir::func::FuncOp>(kForwardFunctionName);
  ASSERT_TRUE(forward);
  // tokens + (conv, ssm) x 3 mamba layers + (k, v) x 1 attention layer.
  EXPECT_EQ(forward.getNumArguments(), 1u + 2 * 3 + 2);
  EXPECT_EQ(forward.getNumResults(), forward.getNumArguments());
  auto stateName = forward.getArgAttrOfType<mlir::StringAttr>(5, kStateAttrName);
  ASSERT_TRUE(stateName);
  EXPECT_EQ(stateName.getValue(), "model.layers.2.k_cache");

  // The lm_head reads the embedding table (tied weights).
  hybrid::LMHeadOp head;
  m.walk([&](hybrid::LMHeadOp op) { head = op; });
  auto ref = head->getOperand(2).getDefiningOp<hybrid::WeightRefOp>();
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref.getWeight(), "model.embed_tokens.weight");

  // Every op inside a layer carries that layer in its location.
  int located = 0;
  m.walk([&](hybrid::SSMScanOp op) {
    EXPECT_TRUE(hybrid::getLayerIndex(op.getLoc()).has_value());
    ++located;
  });
  EXPECT_EQ(located, 3);
}

TEST(Importer, PrintedModuleParsesBack) {
  auto ckpt = Checkpoint::open(goldenDir());
  ASSERT_TRUE(static_cast<bool>(ckpt)) << errorMessage(ckpt.takeError());
  mlir::MLIRContext context;
  auto module = importCheckpoint(context, **ckpt);
  ASSERT_TRUE(static_cast<bool>(module)) << errorMessage(module.takeError());
  std::string first;
  llvm::raw_string_ostream(first) << **module;
  mlir::OwningOpRef<mlir::ModuleOp> reparsed =
      mlir::parseSourceString<mlir::ModuleOp>(first, &context);
  ASSERT_TRUE(reparsed);
  std::string second;
  llvm::raw_string_ostream(second) << *reparsed;
  EXPECT_EQ(first, second);
  // Weights stay symbols: the IR of the whole model is a few kilobytes.
  EXPECT_LT(first.size(), 64u * 1024u);
}

} // namespace
