//===- ModelCompiler.h - checkpoint -> lib<name>.so + <name>.h --*- C++ -*-===//
#ifndef HYBRIDC_COMPILE_MODELCOMPILER_H
#define HYBRIDC_COMPILE_MODELCOMPILER_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace hybridc {

class Checkpoint;
namespace codegen {
struct TargetSpec;
}

/// Extra artefacts `--emit` can ask for.
std::vector<std::string> knownPhases();    // --compile-to: hybrid, lowered, llvm-dialect
std::vector<std::string> knownEmitKinds(); // the phases, then llvm, asm, stmt, stmt_html

struct CompileOptions {
  std::string modelDir;
  std::string outDir;
  std::string name;           // C prefix; default: from the model folder's name
  std::string target = "host";
  // f32, bf16, int8 or int4; empty: f32, except for a GGUF file with
  // quantized tensors, which keeps them int8 or int4 (defaultWeightsDtype).
  std::string weightsDtype;
  // The KV cache's element type: f32, bf16 or int8; empty: bf16, except f32
  // when the weights are f32 (defaultKvDtype). A module resumed with
  // --from-mlir keeps the one its attention ops (or lowering) name.
  std::string kvDtype;
  // bf16 weights on a target with bf16 dot products: keep the matmuls'
  // activations in f32 (widening the weights) instead of rounding them.
  bool f32Activations = false;
  bool embedWeights = false;
  // Leave the model's tokenizer (tokenizer.json, GGUF tokenizer.ggml.*) out
  // of the library: its text functions then fail with ERR_NO_TOKENIZER.
  bool noTokenizer = false;
  std::string chatTemplate; // a Jinja file: the default chat template instead of the model's
  int64_t prefillTokens = 512; // tokens per prefill driver call
  bool profile = false;       // time each kernel: <name>_profile_report()
  // A line on stderr says which stage runs and how far the weights are
  // packed (the CLI sets it on a terminal, without --quiet).
  bool progress = false;
  bool printIrAfterAll = false;
  std::vector<std::string> printIrAfter; // pass arguments, or "import"
  std::vector<std::string> emit;
  // Stop after this phase (hybrid, lowered or llvm-dialect), writing the
  // file --emit writes for it; "" runs every stage.
  std::string compileTo;
  // Resume from a file --compile-to or --emit wrote (perhaps edited): its
  // phase is read off its content; the model folder, target, weights dtype,
  // activations and prefill chunk are those recorded in it.
  std::string fromMlir;
};

/// The default --name for a model folder: its base name made a C identifier.
std::string defaultModelName(const std::string &modelDir);

/// The weights dtype when --weights-dtype is not given: for a GGUF file
/// whose quantized elements are mostly
/// Q4_0, int4 (its Q4_0 blocks stay exactly as they are); with other
/// quantized tensors, int8 (Q8_0 blocks stay as they are; the K-quants are
/// dequantized, then requantized). Else f32. One dtype serves the whole
/// model, so a Q4_0 file's few Q8_0 or Q6_K tensors are requantized to int4.
std::string defaultWeightsDtype(const Checkpoint &checkpoint);

/// The KV dtype when --kv-dtype is not given: bf16, except f32 for f32
/// weights (an f32 model keeps every number it computes in f32).
std::string defaultKvDtype(const std::string &weightsDtype);

/// Runs every stage, printing what it did and how long each stage took to
/// `log` (IR dumps go to `irOut`).
llvm::Error compileModel(const CompileOptions &options, llvm::raw_ostream &log,
                         llvm::raw_ostream &irOut);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_MODELCOMPILER_H
