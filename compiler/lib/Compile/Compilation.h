//===- Compilation.h - one run of `hybridc compile` -------------*- C++ -*-===//
//
// The stages of `hybridc compile`, each timed, each a method of Compilation:
//   import      checkpoint -> `hybrid` module           (ImportAndLower.cpp)
//   lower       per CPU variant: canonicalize, plan state,
//               hybrid-lower-to-kernels                  (ImportAndLower.cpp)
//   to-llvm     per variant: memref/scf/func/arith -> LLVM dialect
//   tokenizer   the model's tokenizer as a blob in the library
//                                                        (LibraryOutput.cpp)
//   driver      per variant: LLVM dialect -> LLVM IR -> object
//                                                        (CodeGeneration.cpp)
//   kernels     one Halide AOT object per distinct kernel of every variant,
//               plus one Halide runtime                  (CodeGeneration.cpp)
//   weights     the packed weights file: one layout per distinct packing
//                                                        (LibraryOutput.cpp)
//   link        generated C glue (GlueWriter.cpp), then `cc -shared` with
//               a version script; the manifest           (LibraryOutput.cpp)
// ModelCompiler.cpp turns the options into a Compilation and runs the
// stages in that order.
//
// A library of several CPU variants (`--target a,b`) lowers the imported
// module once per variant, each with its own packing and a symbol suffix,
// and links all of them; the runtime picks one when the model is opened.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_COMPILATION_H
#define HYBRIDC_COMPILE_COMPILATION_H

#include "hybridc/Compile/ModelCompiler.h"

#include "GlueWriter.h"
#include "LoweredModel.h"
#include "PhaseFile.h"
#include "ProgressLine.h"
#include "Resources.h"

#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Model/Checkpoint.h"
#include "hybridc/Run/LibraryDescription.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hybridc {

/// The file helpers the stages share.
std::string joinPath(llvm::StringRef dir, llvm::StringRef file);
llvm::Expected<std::string> readText(const std::string &path);
llvm::Error writeText(const std::string &path, const std::string &text);

/// Times the stages and prints one line per stage; on a terminal, the
/// running stage's name meanwhile (`progress`).
class StageTimer {
public:
  StageTimer(llvm::raw_ostream &log, bool showProgress) : progress(showProgress), log(log) {}
  template <typename Fn> llvm::Error run(llvm::StringRef stage, const std::string &what, Fn fn) {
    progress.show(llvm::formatv("  {0,-9} ...", stage).str(), true);
    auto start = std::chrono::steady_clock::now();
    llvm::Error e = fn();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
    total += ms;
    progress.clear();
    if (!e)
      log << llvm::formatv("  {0,-9} {1,9:f1} ms  {2}\n", stage, ms, what);
    return e;
  }
  double totalMs() const { return total; }
  ProgressLine progress;

private:
  llvm::raw_ostream &log;
  double total = 0;
};

/// Turns MLIR diagnostics into the text of an llvm::Error.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext &ctx);
  llvm::Error error(const llvm::Twine &what);

private:
  std::string text;
  llvm::raw_string_ostream os{text};
  mlir::ScopedDiagnosticHandler handler;
};

/// One CPU variant of the library: its lowering of the model, its kernels
/// and drivers, and which layout of the weights it reads.
struct Variant {
  codegen::TargetSpec target;
  codegen::LinearPacking packing; // every matrix's layout, from target + weights type
  std::string suffix;             // ends its symbols; "" in a library of one variant
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<mlir::PassManager> lowerPM, llvmPM;
  LoweredModel lowered;           // what its lowering decided
  size_t layout = 0;              // its weights layout (Compilation::layouts)
};

/// One layout of the weights in the payload: the plan of the first variant
/// that packs this way, at a page-aligned offset.
struct WeightsLayoutPlan {
  int64_t offset = 0, bytes = 0;
  const Variant *packer = nullptr; // whose plan and packing it holds
};

class Compilation {
public:
  /// `o.weightsDtype` is resolved (never empty); `checkpoint` is open.
  Compilation(const CompileOptions &o, std::unique_ptr<Checkpoint> checkpoint, std::string name,
              const std::vector<codegen::TargetSpec> &targets, codegen::WeightType weightType,
              llvm::StringSet<> emit, std::string build, Resources resources,
              std::optional<Phase> resumeFrom, std::optional<Phase> stopAfter,
              llvm::raw_ostream &log, llvm::raw_ostream &irOut);

  llvm::Error run();

private:
  // --- ImportAndLower.cpp ------------------------------------------------
  llvm::Error importModel();
  llvm::Error loadModule();
  llvm::Error stopped(Phase phase);
  void describeGgufTypes();
  /// Gives every variant its module (the imported one, cloned when there
  /// are several) and its pass managers.
  llvm::Error buildPipelines();
  llvm::Error runPipeline(Variant &v, llvm::StringRef stage, const std::string &what,
                          mlir::PassManager &pm, Phase phase);
  /// Whether the module was loaded from a file of `phase` or a later one
  /// (so the passes that produce `phase` do not run again).
  bool resumedPast(Phase phase) const { return resumeFrom && *resumeFrom >= phase; }
  /// Reads what each variant's lowering decided, then the library's facts.
  llvm::Error describeModel();
  void describeWeightTypes();

  // --- CodeGeneration.cpp ------------------------------------------------
  llvm::Error emitDriver(Variant &v);
  llvm::Error compileKernels();

  // --- LibraryOutput.cpp -------------------------------------------------
  llvm::Error writeWeights();
  llvm::Error embedModelTokenizer();
  llvm::Error link();
  llvm::Error finish();

  std::string outPath(const std::string &suffix) const { return joinPath(o.outDir, name + suffix); }
  /// A file of one variant: as outPath with one variant, else with the
  /// variant's target in its name (`tiny.x86-64-avx2.lowered.mlir`).
  std::string variantPath(const Variant &v, const std::string &suffix) const;
  /// " (x86-64-avx2)" in a library of several variants, else "".
  std::string variantNote(const Variant &v) const;

  const CompileOptions &o;
  const std::string name;
  const codegen::WeightType weightType;
  const Resources resources; // templates, headers and runtime archive the link uses
  const std::optional<Phase> resumeFrom; // --from-mlir: the file's phase
  const std::optional<Phase> stopAfter;  // --compile-to
  const llvm::StringSet<> emit;
  const std::string build; // scratch folder for objects
  llvm::raw_ostream &log, &irOut;
  StageTimer timer;
  mlir::MLIRContext context;
  DiagnosticCollector diagnostics{context};

  std::unique_ptr<Checkpoint> checkpoint;
  mlir::OwningOpRef<mlir::ModuleOp> module; // imported or loaded, before the variants
  std::vector<Variant> variants;             // in the order --target lists them
  std::vector<WeightsLayoutPlan> layouts;
  ModelGlueInfo glue;
  LibraryDescription description; // what `hybridc inspect` shows
  std::vector<std::string> objects; // linked into the library
  std::string weightsFile;
};

} // namespace hybridc

#endif // HYBRIDC_COMPILE_COMPILATION_H
