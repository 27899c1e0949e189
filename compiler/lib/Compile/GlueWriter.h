//===- GlueWriter.h - the generated C parts of a model library --*- C++ -*-===//
//
// The C text `hybridc compile` writes for each model: one model descriptor
// per CPU variant and the library's table of them, one wrapper per kernel
// (MLIR memref descriptors -> halide_buffer_t), the prefixed public API, its
// header (with the model's sizes as #defines), the linker's export list and
// the pkg-config file.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_GLUEWRITER_H
#define HYBRIDC_COMPILE_GLUEWRITER_H

#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Run/LibraryDescription.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybridc {

using codegen::KernelArg;

struct KernelSignature {
  std::string symbol, kind;
  std::string label; // what it computes, e.g. "linear IN=768 OUT=3352 decode=1"
  std::vector<KernelArg> args;
};

/// One CPU variant's descriptor: its drivers (named with its suffix), its
/// sizes and where its layout of the weights lies in the payload.
struct VariantGlue {
  std::string target; // TargetSpec::name, what <name>_model_target returns
  std::string suffix; // of its driver symbols ("" in a library of one variant)
  MemoryPlan memory;  // memory.weightsBytes: its layout's bytes
  int64_t weightsOffset = 0;
};

struct ModelGlueInfo {
  std::string name;
  uint64_t modelHash = 0;
  bool embeddedWeights = false;
  int64_t payloadBytes = 0; // the whole weights payload, every layout
  int64_t vocabSize = 0, hiddenSize = 0, numLayers = 0;
  int64_t mambaLayers = 0, attentionLayers = 0;
  bool profile = false;         // time every kernel call (see --profile)
  uint64_t tokenizerBytes = 0;  // hybridc_embedded_tokenizer's size; 0: no tokenizer
  std::vector<VariantGlue> variants;    // one or more, in --target order
  std::vector<KernelSignature> kernels; // every variant's
};

/// The glue C source; `apiTemplate` is runtime/templates/model_api_glue.c.in.
std::string generateGlueSource(const ModelGlueInfo &info, const std::string &apiTemplate);
/// `<name>.h`; `headerTemplate` is runtime/templates/model_api.h.in.
std::string generateHeader(const ModelGlueInfo &info, const std::string &headerTemplate);
/// A linker version script exporting only `<name>_*`.
std::string generateExportMap(const std::string &name);
/// `<name>.pc` for pkg-config: -I and -L/-rpath the absolute `outDir`,
/// -l<name>, and a `weights` variable naming the weights file ("" when
/// embedded).
std::string generatePkgConfig(const ModelGlueInfo &info, const std::string &outDir,
                              const std::string &weightsDtype);
/// An assembly file embedding the file at `path`, from byte `skip` on, as
/// the hidden, 64-byte aligned symbol `symbol` in .rodata.<symbol>:
/// `what` says what it is in the file's first line.
std::string generateEmbeddedFile(const std::string &symbol, const std::string &what,
                                 const std::string &path, uint64_t skip = 0);
/// The payload of `weightsPath` (its header skipped) as
/// hybridc_embedded_weights.
std::string generateEmbeddedWeights(const std::string &weightsPath);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_GLUEWRITER_H
