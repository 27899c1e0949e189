//===- PhaseFile.cpp - stopping after a phase, resuming from its file -----===//
#include "PhaseFile.h"

#include "hybrid/HybridDialect.h"
#include "hybridc/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

using namespace hybridc;
using namespace mlir;

namespace {

constexpr const char *kRecordedCompileAttr = "hybrid.compile";

llvm::Error fileError(const std::string &path, const llvm::Twine &what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), (path + ": " + what).str());
}

} // namespace

namespace {

struct PhaseInfo {
  Phase phase;
  const char *name, *suffix;
};
// In pipeline order; the names are also the --emit kinds.
constexpr PhaseInfo kPhases[] = {
    {Phase::Hybrid, "hybrid", ".hybrid.mlir"},
    {Phase::Lowered, "lowered", ".lowered.mlir"},
    {Phase::LlvmDialect, "llvm-dialect", ".llvm.mlir"},
};

const PhaseInfo &info(Phase phase) { return kPhases[static_cast<int>(phase)]; }

} // namespace

std::optional<Phase> hybridc::parsePhase(llvm::StringRef name) {
  for (const PhaseInfo &p : kPhases)
    if (name == p.name)
      return p.phase;
  return std::nullopt;
}

const char *hybridc::phaseName(Phase phase) { return info(phase).name; }
const char *hybridc::phaseSuffix(Phase phase) { return info(phase).suffix; }

void hybridc::recordCompile(ModuleOp module, const RecordedCompile &r) {
  Builder b(module.getContext());
  module->setAttr(kRecordedCompileAttr,
                  b.getDictionaryAttr({
                      b.getNamedAttr("model", b.getStringAttr(r.model)),
                      b.getNamedAttr("target", b.getStringAttr(r.target)),
                      b.getNamedAttr("weights_dtype", b.getStringAttr(r.weightsDtype)),
                      b.getNamedAttr("f32_activations", b.getBoolAttr(r.f32Activations)),
                      b.getNamedAttr("prefill_tokens", b.getI64IntegerAttr(r.prefillTokens)),
                  }));
}

void hybridc::recordTarget(ModuleOp module, llvm::StringRef target) {
  auto rec = module->getAttrOfType<DictionaryAttr>(kRecordedCompileAttr);
  if (!rec)
    return;
  NamedAttrList entries(rec);
  entries.set("target", StringAttr::get(module.getContext(), target));
  module->setAttr(kRecordedCompileAttr, entries.getDictionary(module.getContext()));
}

llvm::Expected<PhaseFile> hybridc::loadPhaseFile(const std::string &path, MLIRContext &context) {
  DialectRegistry registry;
  registry.insert<func::FuncDialect, arith::ArithDialect, tensor::TensorDialect,
                  memref::MemRefDialect, scf::SCFDialect, cf::ControlFlowDialect,
                  LLVM::LLVMDialect, hybrid::HybridDialect>();
  context.appendDialectRegistry(registry);
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    os << d.getLocation() << ": " << d << "\n";
    return success();
  });
  PhaseFile file;
  file.module = parseSourceFile<ModuleOp>(path, &context);
  if (!file.module)
    return fileError(path, "not a module hybridc can read:\n" + diagnostics);

  ModuleOp m = *file.module;
  // One variant of a library of several names its drivers with its suffix.
  std::string prefillName = kPrefillFunctionName;
  if (auto suffix = m->getAttrOfType<StringAttr>("hybrid.symbol_suffix"))
    prefillName += suffix.str();
  Operation *prefill = SymbolTable::lookupSymbolIn(m, prefillName);
  if (prefill && isa<LLVM::LLVMFuncOp>(prefill))
    file.phase = Phase::LlvmDialect;
  else if (prefill && isa<func::FuncOp>(prefill))
    file.phase = Phase::Lowered;
  else if (SymbolTable::lookupSymbolIn(m, "forward"))
    file.phase = Phase::Hybrid;
  else
    return fileError(path, "neither the import's @forward nor the lowering's @" +
                               llvm::Twine(kPrefillFunctionName) +
                               " is in it: not a file hybridc compile wrote");

  auto rec = m->getAttrOfType<DictionaryAttr>(kRecordedCompileAttr);
  auto model = rec ? rec.getAs<StringAttr>("model") : StringAttr();
  auto target = rec ? rec.getAs<StringAttr>("target") : StringAttr();
  auto dtype = rec ? rec.getAs<StringAttr>("weights_dtype") : StringAttr();
  auto f32 = rec ? rec.getAs<BoolAttr>("f32_activations") : BoolAttr();
  auto tokens = rec ? rec.getAs<IntegerAttr>("prefill_tokens") : IntegerAttr();
  if (!model || !target || !dtype || !f32 || !tokens)
    return fileError(path, llvm::Twine("the module's ") + kRecordedCompileAttr +
                               " attribute (model, target, weights_dtype, f32_activations, "
                               "prefill_tokens) is missing or incomplete");
  file.recorded = {model.str(), target.str(), dtype.str(), f32.getValue(), tokens.getInt()};
  return file;
}
