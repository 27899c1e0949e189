//===- EmitObject.cpp - LLVM dialect module -> object file ----------------===//
//
// LLVM 19's own code generator for the driver: the same CPU as the kernels
// (which Halide compiles with its LLVM 14), position-independent for the
// shared library.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Codegen/EmitObject.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace hybridc;

static llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

static llvm::Error emitFile(llvm::TargetMachine &tm, llvm::Module &module,
                            const std::string &path, llvm::CodeGenFileType type) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError(path + ": " + ec.message());
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, type))
    return makeError("LLVM cannot emit this file type for the target");
  pm.run(module);
  return llvm::Error::success();
}

llvm::Error hybridc::emitDriverObject(mlir::ModuleOp module,
                                      const codegen::TargetSpec &target,
                                      const std::string &objectPath,
                                      const DriverArtefacts &artefacts) {
  mlir::registerBuiltinDialectTranslation(*module.getContext());
  mlir::registerLLVMDialectTranslation(*module.getContext());
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module, llvmContext, "hybridc_driver");
  if (!llvmModule)
    return makeError("translation of the driver to LLVM IR failed");

  // Every target LLVM was built with (x86 and AArch64 among them): the
  // driver of a cross-compiled library is emitted here too.
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  const std::string &triple = target.llvmTriple;
  std::string error;
  const llvm::Target *llvmTarget = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return makeError("LLVM target " + triple + ": " + error);
  std::string cpu = target.llvmCpu, features = target.llvmFeatures;
  if (cpu == "host") {
    cpu = llvm::sys::getHostCPUName().str();
    features.clear();
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") + std::string(f.second ? "+" : "-") +
                  f.first().str();
  }
  std::unique_ptr<llvm::TargetMachine> tm(llvmTarget->createTargetMachine(
      triple, cpu, features, llvm::TargetOptions(), llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    return makeError("cannot create an LLVM target machine for cpu '" + cpu + "'");
  llvmModule->setDataLayout(tm->createDataLayout());
  llvmModule->setTargetTriple(triple);

  // -O2: the driver is mostly views and calls, but folding the index
  // arithmetic of every view matters for decode latency.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
  mpm.run(*llvmModule, mam);

  if (!artefacts.llvmIR.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(artefacts.llvmIR, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return makeError(artefacts.llvmIR + ": " + ec.message());
    llvmModule->print(os, nullptr);
  }
  if (!artefacts.assembly.empty())
    if (llvm::Error e = emitFile(*tm, *llvmModule, artefacts.assembly,
                                 llvm::CodeGenFileType::AssemblyFile))
      return e;
  return emitFile(*tm, *llvmModule, objectPath, llvm::CodeGenFileType::ObjectFile);
}
