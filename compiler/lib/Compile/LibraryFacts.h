//===- LibraryFacts.h - the manifest's description, from the IR -*- C++ -*-===//
//
// What `hybridc inspect` shows besides the kernels (KernelJobs.h) is read
// off what the compile produced: the config, the weight plan's layouts and
// the pass managers that ran.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_LIBRARYFACTS_H
#define HYBRIDC_COMPILE_LIBRARYFACTS_H

#include "WeightsFile.h"

#include "hybridc/Model/ModelConfig.h"
#include "hybridc/Run/LibraryDescription.h"

#include "mlir/Pass/PassManager.h"

#include <string>
#include <vector>

namespace hybridc {

/// The config's shape as snake_case JSON (layer kinds, heads, experts, ...).
llvm::json::Object modelFacts(const ModelConfig &config);

/// The plan's tensors grouped by kind ("mamba.in_proj", "lm_head", ...),
/// each with the element types its layouts store in a model of `modelType`.
std::map<std::string, TensorKind> tensorKinds(const std::vector<PackedWeight> &plan,
                                              codegen::WeightType modelType);

/// The passes of `pm`, in order.
void appendPassNames(mlir::OpPassManager &pm, std::vector<std::string> &names);
/// `pm` as the textual pipeline hybridc-opt's --pass-pipeline takes.
std::string pipelineText(mlir::OpPassManager &pm);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_LIBRARYFACTS_H
