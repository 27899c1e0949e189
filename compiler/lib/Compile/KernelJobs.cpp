//===- KernelJobs.cpp - the kernels to compile, and who calls them -------===//
#include "KernelJobs.h"

#include "hybridc/Codegen/KernelDeclarations.h"
#include "hybridc/Support/Error.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/STLExtras.h"

#include <map>

using namespace hybridc;
using namespace mlir;

namespace {

// The C-interface wrapper MLIR's LLVM lowering adds for each declaration.
constexpr llvm::StringLiteral kCInterfacePrefix = "_mlir_ciface_";

/// The op name a call's location carries ("model.layers.3.mamba.conv1d"),
/// or "" when it carries none.
std::string locationName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::string n = locationName(inner); !n.empty())
        return n;
  if (auto site = dyn_cast<CallSiteLoc>(loc))
    return locationName(site.getCallee());
  return "";
}

/// "model.layers.12.mamba.in_proj" -> 12; -1 outside the layers.
int64_t layerOf(llvm::StringRef name) {
  if (!name.consume_front("model.layers."))
    return -1;
  int64_t layer;
  if (name.consumeInteger(10, layer) || layer < 0)
    return -1;
  return layer;
}

std::string printed(Attribute attr) {
  std::string text;
  llvm::raw_string_ostream os(text);
  attr.print(os);
  return text;
}

template <typename T> void addOnce(std::vector<T> &list, const T &v) {
  if (!llvm::is_contained(list, v))
    list.push_back(v);
}

KernelJob describe(llvm::StringRef symbol, hybrid::KernelAttr attr) {
  codegen::DeclaredKernel declared = codegen::readKernelDeclaration(symbol, attr);
  KernelJob job;
  job.spec = std::move(declared.spec);
  job.signature.symbol = job.spec.symbol;
  job.signature.kind = job.spec.kind;
  job.signature.label = job.spec.kind;
  for (const auto &[key, value] : job.spec.sizes)
    job.signature.label += " " + key + "=" + std::to_string(value);
  job.signature.args = std::move(declared.args);
  job.use.symbol = job.spec.symbol;
  job.use.kind = job.spec.kind;
  job.use.weightType = codegen::weightTypeName(job.spec.weightType);
  job.use.sizes = job.spec.sizes;
  return job;
}

} // namespace

llvm::Expected<std::vector<KernelJob>> hybridc::collectKernels(ModuleOp module) {
  std::vector<KernelJob> jobs;
  std::map<std::string, size_t> index;
  for (Operation &op : module.getBody()->getOperations()) {
    auto symbol = op.getAttrOfType<StringAttr>(SymbolTable::getSymbolAttrName());
    Attribute attr = op.getAttr(hybrid::kKernelAttr);
    if (!symbol || !attr || symbol.getValue().starts_with(kCInterfacePrefix))
      continue;
    auto info = dyn_cast<hybrid::KernelAttr>(attr);
    if (!info)
      return makeError("kernel " + symbol.getValue() + ": " + hybrid::kKernelAttr +
                       " is not a #hybrid.kernel: " + printed(attr));
    KernelJob job = describe(symbol.getValue(), info);
    index[job.spec.symbol] = jobs.size();
    jobs.push_back(std::move(job));
  }
  // The drivers' calls: func.call in a lowered module, llvm.call of the
  // C-interface wrapper after the LLVM lowering.
  auto record = [&](llvm::StringRef driver, llvm::StringRef callee, Location loc) {
    callee.consume_front(kCInterfacePrefix);
    auto it = index.find(callee.str());
    if (it == index.end())
      return;
    KernelUse &use = jobs[it->second].use;
    addOnce(use.drivers, driver.str());
    std::string name = locationName(loc);
    if (int64_t layer = layerOf(name); layer >= 0)
      addOnce(use.layers, layer);
    else
      addOnce(use.others, name.empty() ? std::string("(driver)") : name);
  };
  // A variant of a library of several: its drivers' names end with it.
  auto suffix = module->getAttrOfType<StringAttr>("hybrid.symbol_suffix");
  for (Operation &op : module.getBody()->getOperations()) {
    auto symbol = op.getAttrOfType<StringAttr>(SymbolTable::getSymbolAttrName());
    if (!symbol || !symbol.getValue().starts_with("hybridc_") || op.getNumRegions() == 0 ||
        op.getRegion(0).empty())
      continue;
    llvm::StringRef driver = symbol.getValue().drop_front(8); // "hybridc_"
    if (suffix)
      driver.consume_back(suffix.getValue());
    op.walk([&](Operation *inner) {
      if (auto call = dyn_cast<func::CallOp>(inner))
        record(driver, call.getCallee(), call.getLoc());
      else if (auto call = dyn_cast<LLVM::CallOp>(inner))
        if (std::optional<llvm::StringRef> callee = call.getCallee())
          record(driver, *callee, call.getLoc());
    });
  }
  for (KernelJob &job : jobs)
    llvm::sort(job.use.layers);
  return jobs;
}
