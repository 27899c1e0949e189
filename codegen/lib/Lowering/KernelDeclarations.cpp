//===- KernelDeclarations.cpp - one declaration per distinct kernel ------===//
//
// Every kernel call of the drivers goes to a private func.func declared
// here with a `hybrid.kernel` description (kind, sizes, constants, weight
// type, each argument's kind): the code generator compiles one Halide
// pipeline per declaration, so identical descriptions share one.
//
//===----------------------------------------------------------------------===//
#include "DriverBuilder.h"

#include "hybridc/Codegen/Passes.h"

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
  const std::string type =
      !desc.usesWeightType ? "f32" : desc.weightType.empty() ? weightTypeName : desc.weightType;
  key += ",w=" + type;
  auto it = kernels.find(key);
  if (it != kernels.end())
    return it->second;

  MLIRContext *ctx = module.getContext();
  SmallVector<NamedAttribute> sizes, constants;
  for (auto &[k, v] : desc.sizes)
    sizes.push_back(b.getNamedAttr(k, b.getI64IntegerAttr(v)));
  for (auto &[k, v] : desc.constants)
    constants.push_back(b.getNamedAttr(k, b.getF64FloatAttr(v)));
  // Each argument's kind for the glue's halide_buffer_t: [rank, Halide type
  // code (0 int, 1 uint, 2 float, 4 bfloat), bits]; rank -1 for an i32
  // scalar. In the description, since the LLVM lowering erases the types.
  SmallVector<Attribute> args;
  for (Type t : argTypes) {
    int64_t rank = -1, code = 0, bits = 32;
    if (auto m = dyn_cast<MemRefType>(t)) {
      Type e = m.getElementType();
      rank = m.getRank();
      bits = e.getIntOrFloatBitWidth();
      code = e.isBF16() ? 4 : isa<FloatType>(e) ? 2 : e.isUnsignedInteger() ? 1 : 0;
    }
    args.push_back(b.getDenseI64ArrayAttr({rank, code, bits}));
  }
  auto info = b.getDictionaryAttr({
      b.getNamedAttr("args", b.getArrayAttr(args)),
      b.getNamedAttr("kind", b.getStringAttr(desc.kind)),
      b.getNamedAttr("sizes", b.getDictionaryAttr(sizes)),
      b.getNamedAttr("constants", b.getDictionaryAttr(constants)),
      b.getNamedAttr("weight_type",
                     b.getStringAttr(type)),
  });
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
  fn->setAttr(kKernelAttrName, info);
  kernels[key] = fn;
  kernelOrder.push_back(fn);
  return fn;
}

} // namespace hybridc::lowering
