//===- KernelDecls.cpp - the kernels a lowered module declares ------------===//
#include "KernelDecls.h"

#include "hybridc/Codegen/Passes.h"

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

llvm::Error kernelError(llvm::StringRef symbol, const llvm::Twine &what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 ("kernel " + symbol + ": " + what).str());
}

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

template <typename T> void addOnce(std::vector<T> &list, const T &v) {
  if (!llvm::is_contained(list, v))
    list.push_back(v);
}

llvm::Expected<KernelJob> describe(llvm::StringRef symbol, DictionaryAttr info) {
  auto kind = info.getAs<StringAttr>("kind");
  auto sizes = info.getAs<DictionaryAttr>("sizes");
  auto constants = info.getAs<DictionaryAttr>("constants");
  auto weightType = info.getAs<StringAttr>("weight_type");
  auto args = info.getAs<ArrayAttr>("args");
  if (!kind || !sizes || !constants || !weightType || !args)
    return kernelError(symbol, llvm::Twine(kKernelAttrName) +
                                   " needs kind, sizes, constants, weight_type and args");
  KernelJob job;
  job.spec.symbol = symbol.str();
  job.spec.kind = kind.str();
  for (NamedAttribute a : sizes) {
    auto v = dyn_cast<IntegerAttr>(a.getValue());
    if (!v)
      return kernelError(symbol, "size " + a.getName().str() + " is not an integer");
    job.spec.sizes[a.getName().str()] = v.getInt();
  }
  for (NamedAttribute a : constants) {
    auto v = dyn_cast<FloatAttr>(a.getValue());
    if (!v)
      return kernelError(symbol, "constant " + a.getName().str() + " is not a float");
    job.spec.constants[a.getName().str()] = v.getValue().convertToDouble();
  }
  std::optional<codegen::WeightType> wt = codegen::parseWeightType(weightType.str());
  if (!wt)
    return kernelError(symbol, "unknown weight_type '" + weightType.str() + "'");
  job.spec.weightType = *wt;
  job.signature.symbol = job.spec.symbol;
  job.signature.kind = job.spec.kind;
  job.signature.label = job.spec.kind;
  for (const auto &[key, value] : job.spec.sizes)
    job.signature.label += " " + key + "=" + std::to_string(value);
  for (Attribute a : args) {
    auto triple = dyn_cast<DenseI64ArrayAttr>(a);
    if (!triple || triple.size() != 3)
      return kernelError(symbol, "an argument is not [rank, type code, bits]");
    KernelArg k;
    k.isBuffer = triple[0] >= 0;
    k.rank = k.isBuffer ? static_cast<int>(triple[0]) : 0;
    k.halideCode = static_cast<uint8_t>(triple[1]);
    k.bits = static_cast<uint8_t>(triple[2]);
    job.signature.args.push_back(k);
  }
  job.use.symbol = job.spec.symbol;
  job.use.kind = job.spec.kind;
  job.use.weightType = weightType.str();
  job.use.sizes = job.spec.sizes;
  return job;
}

} // namespace

llvm::Expected<std::vector<KernelJob>> hybridc::collectKernels(ModuleOp module) {
  std::vector<KernelJob> jobs;
  std::map<std::string, size_t> index;
  for (Operation &op : module.getBody()->getOperations()) {
    auto symbol = op.getAttrOfType<StringAttr>(SymbolTable::getSymbolAttrName());
    auto info = op.getAttrOfType<DictionaryAttr>(kKernelAttrName);
    if (!symbol || !info || symbol.getValue().starts_with(kCInterfacePrefix))
      continue;
    llvm::Expected<KernelJob> job = describe(symbol.getValue(), info);
    if (!job)
      return job.takeError();
    index[job->spec.symbol] = jobs.size();
    jobs.push_back(std::move(*job));
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
