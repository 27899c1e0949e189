//===- PhaseFile.h - stopping after a phase, resuming from its file -*- C++ -*-===//
//
// `hybridc compile --compile-to=hybrid|lowered|llvm-dialect` stops after
// that phase and writes its module (the file --emit writes for it);
// `--from-mlir FILE` resumes from such a file, perhaps edited. The phase is
// read off the module's content (the import's @forward, the lowering's
// func.func drivers, or llvm.func drivers after the LLVM lowering), and the
// model folder and the options the phases depend on from the `hybrid.compile`
// attribute the import records on the module, which every later phase keeps.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILE_PHASEFILE_H
#define HYBRIDC_COMPILE_PHASEFILE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>

namespace hybridc {

enum class Phase { Hybrid, Lowered, LlvmDialect }; // in pipeline order

std::optional<Phase> parsePhase(llvm::StringRef name);
const char *phaseName(Phase phase);   // also its --emit kind
const char *phaseSuffix(Phase phase); // ".hybrid.mlir", ".lowered.mlir", ".llvm.mlir"

/// What the import records: the model (an absolute path) and the options
/// the lowering and the weights depend on.
struct RecordedCompile {
  std::string model, target, weightsDtype;
  bool f32Activations = false;
  int64_t prefillTokens = 512;
};

void recordCompile(mlir::ModuleOp module, const RecordedCompile &recorded);
/// Changes the recorded target (one variant's copy of a module recorded for
/// several); nothing when the module has no record.
void recordTarget(mlir::ModuleOp module, llvm::StringRef target);

/// A module that --compile-to or --emit wrote: parsed into `context` (which
/// gets the dialects such files use), its phase and its recorded compile.
struct PhaseFile {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  Phase phase = Phase::Hybrid;
  RecordedCompile recorded;
};
llvm::Expected<PhaseFile> loadPhaseFile(const std::string &path, mlir::MLIRContext &context);

} // namespace hybridc

#endif // HYBRIDC_COMPILE_PHASEFILE_H
