//===- KernelDeclarations.cpp - one declaration per distinct kernel ------===//
//
// Every kernel call of the drivers goes to a private func.func declared
// here with a #hybrid.kernel description (kind, weight type, sizes,
// constants, argument types): the code generator compiles one Halide
// pipeline per declaration, so identical descriptions share one. The
// compiler reads the description back with readKernelDeclaration, below.
//
//===----------------------------------------------------------------------===//
#include "DriverBuilder.h"

#include "hybridc/Codegen/KernelDeclarations.h"
#include "hybridc/Codegen/Passes.h"
#include "hybridc/Codegen/WeightLayouts.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/ADT/bit.h"

namespace hybridc::lowering {

func::FuncOp LoweringContext::kernel(OpBuilder &b, const KernelDesc &desc,
                                     TypeRange argTypes) {
  std::string key = desc.kind;
  for (auto &[k, v] : desc.sizes)
    key += "," + k + "=" + std::to_string(v);
  // Constants by bit pattern: printing them would merge kernels whose
  // constants differ past the printed digits (eps 1e-6 vs 1.4e-6).
  for (auto &[k, v] : desc.constants)
    key += "," + k + "=" + std::to_string(llvm::bit_cast<uint64_t>(v));
  const codegen::WeightType type =
      !desc.usesWeightType ? codegen::WeightType::F32 : desc.weightType.value_or(weightType);
  key += ",w=" + std::string(codegen::weightTypeName(type));
  auto it = kernels.find(key);
  if (it != kernels.end())
    return it->second;

  MLIRContext *ctx = module.getContext();
  SmallVector<NamedAttribute> sizes, constants;
  for (auto &[k, v] : desc.sizes)
    sizes.push_back(b.getNamedAttr(k, b.getI64IntegerAttr(v)));
  for (auto &[k, v] : desc.constants)
    constants.push_back(b.getNamedAttr(k, b.getF64FloatAttr(v)));
  // Each argument's rank and element type, which the glue needs for its
  // halide_buffer_t and the LLVM lowering erases from the signature; the
  // strides and offsets do not matter to it.
  SmallVector<Type> args;
  for (Type t : argTypes) {
    auto m = dyn_cast<MemRefType>(t);
    args.push_back(m ? MemRefType::get(SmallVector<int64_t>(m.getRank(), ShapedType::kDynamic),
                                       m.getElementType())
                     : t);
  }
  auto info = hybrid::KernelAttr::get(ctx, desc.kind, codegen::weightTypeAttrOf(type),
                                      b.getDictionaryAttr(sizes),
                                      b.getDictionaryAttr(constants), args);
  std::string symbol =
      "hk_" + desc.kind + "_" + std::to_string(kernelCounts[desc.kind]++) + symbolSuffix;
  SmallVector<Type> inputs{LLVM::LLVMPointerType::get(ctx)};
  inputs.append(argTypes.begin(), argTypes.end());
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  auto fn = b.create<func::FuncOp>(module.getLoc(), symbol,
                                   b.getFunctionType(inputs, TypeRange{}));
  fn.setPrivate();
  fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  fn->setAttr(hybrid::kKernelAttr, info);
  kernels[key] = fn;
  kernelOrder.push_back(fn);
  return fn;
}

} // namespace hybridc::lowering

hybridc::codegen::DeclaredKernel
hybridc::codegen::readKernelDeclaration(llvm::StringRef symbol, hybrid::KernelAttr kernel) {
  DeclaredKernel d;
  d.spec.symbol = symbol.str();
  d.spec.kind = kernel.getKind().str();
  d.spec.weightType = weightTypeOf(kernel.getWeightType());
  for (mlir::NamedAttribute a : kernel.getSizes())
    d.spec.sizes[a.getName().str()] = mlir::cast<mlir::IntegerAttr>(a.getValue()).getInt();
  for (mlir::NamedAttribute a : kernel.getConstants())
    d.spec.constants[a.getName().str()] =
        mlir::cast<mlir::FloatAttr>(a.getValue()).getValue().convertToDouble();
  for (mlir::Type t : kernel.getArgs()) {
    KernelArg arg;
    if (auto m = mlir::dyn_cast<mlir::MemRefType>(t)) {
      mlir::Type e = m.getElementType();
      arg.rank = static_cast<int>(m.getRank());
      arg.bits = static_cast<uint8_t>(e.getIntOrFloatBitWidth());
      arg.halideCode = e.isBF16()                       ? 4
                       : mlir::isa<mlir::FloatType>(e) ? 2
                       : e.isUnsignedInteger()         ? 1
                                                       : 0;
    } else {
      arg.isBuffer = false; // an i32 (the verifier allows nothing else)
    }
    d.args.push_back(arg);
  }
  return d;
}
