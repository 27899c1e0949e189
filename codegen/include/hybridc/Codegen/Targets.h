//===- Targets.h - CPU targets, weight types and their packing --*- C++ -*-===//
//
// What `--target` and `--weights-dtype` name, and the one decision that
// follows from the two: how a matrix is packed for the kernels of a target
// (linearPacking; the layouts are drawn in WeightPacking.h). Plain C++, no
// Halide.h and no MLIR headers: the Halide kernels, the lowering and the
// compiler all include it.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CODEGEN_TARGETS_H
#define HYBRIDC_CODEGEN_TARGETS_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hybridc::codegen {

enum class WeightType { F32, BF16, INT8, INT4 };
inline constexpr WeightType kWeightTypes[] = {WeightType::F32, WeightType::BF16,
                                              WeightType::INT8, WeightType::INT4};

/// Whether a weight type is stored in blocks with scales (int8, int4).
inline bool isBlockQuantized(WeightType t) { return t == WeightType::INT8 || t == WeightType::INT4; }

/// Inputs of one int8 / int4 scale block.
constexpr int kQuantBlock = 32;

/// The weight type's name as --weights-dtype spells it ("f32", "bf16", "int8", "int4").
const char *weightTypeName(WeightType type);
/// Every weight type's name, in the enum's order.
std::vector<std::string> weightTypeNames();
/// Parses a --weights-dtype name; nullopt for anything else.
std::optional<WeightType> parseWeightType(const std::string &name);

/// The CPU a model is compiled for.
struct TargetSpec {
  std::string name;         // one of knownTargets() other than "host"
  std::string halideTarget; // Halide target string, with no_runtime-user_context
  int lanes = 8;            // f32 lanes of one vector register: 4 (NEON), 8 or 16
  int vectorRegisters = 16; // architectural vector registers: 16 (AVX2) or 32
  bool bf16Dot = false;     // bf16 weights meet bf16 activations in vdpbf16ps
  bool int8Dot = false;     // int8 sums of 4 products in vpdpbusd (VNNI); else pairs
  std::string llvmTriple;   // the driver's LLVM target triple (the library's machine)
  std::string llvmCpu;      // for the driver's LLVM TargetMachine
  std::string llvmFeatures;
  std::string cc;           // the C compiler that builds the glue and links the library
  std::string ccPackage;    // the Debian package that provides `cc`
  std::string runtimeDir;   // where the runtime archive lies under lib/: "" or the triple
  bool crossCompiled() const { return !runtimeDir.empty(); }
  /// Register tiles may hold about 24 accumulators (32 registers), else 12.
  bool wideRegisterFile() const { return vectorRegisters >= 32; }
};

/// The targets `--target` accepts: the named CPU levels, then "host".
std::vector<std::string> knownTargets();
/// Resolves a target name; nullopt (and `error`) for unknown names. "host"
/// resolves to the best named target this CPU runs (its `name` says which),
/// never to Halide's own host target: on AMD CPUs with AVX512-BF16 that
/// reports Sapphire Rapids, whose AVX512-FP16 and AMX they lack.
std::optional<TargetSpec> resolveTarget(const std::string &name, std::string &error);
/// Resolves `--target`'s comma-separated list (each name as resolveTarget
/// takes it): the variants of one library, in the order given, each once,
/// and all x86-64 levels when there are several (aarch64 is a library of its
/// own). nullopt (and `error`) otherwise.
std::optional<std::vector<TargetSpec>> resolveTargets(const std::string &list,
                                                      std::string &error);
/// What a variant's kernel and driver symbols end with in a library of
/// several variants: "__" and its name with '-' as '_' ("__x86_64_avx2").
std::string variantSymbolSuffix(const TargetSpec &target);
/// Whether this CPU can run code built for the named target.
bool cpuSupports(const TargetSpec &target);

/// How packLinear lays out a weight for the kernels of one target (see the
/// layouts in WeightPacking.h).
struct LinearPacking {
  int lanes = 8;      // L: output rows per block
  int group = 1;      // G: consecutive inputs per lane
  int scaleBlock = 0; // inputs per scale (int8, int4: kQuantBlock), 0: no scales
  int groupsPerByte = 1; // int4: 2 (two groups share a byte lane), else 1
  int64_t blocks(int64_t out) const { return (out + lanes - 1) / lanes; }
  /// IN rounded up to whole scale blocks.
  int64_t paddedInputs(int64_t in) const {
    return scaleBlock ? (in + scaleBlock - 1) / scaleBlock * scaleBlock : in;
  }
  int64_t groups(int64_t in) const { return (paddedInputs(in) + group - 1) / group; }
  /// The stored group dimension: groups(in), or half of it for int4.
  int64_t storedGroups(int64_t in) const { return groups(in) / groupsPerByte; }
  int64_t scaleBlocks(int64_t in) const { return scaleBlock ? paddedInputs(in) / scaleBlock : 0; }
};
/// The one place that decides the packing: the lowering's weight views, the
/// weight packer and the kernels all ask here.
LinearPacking linearPacking(const TargetSpec &target, WeightType type);

} // namespace hybridc::codegen

#endif // HYBRIDC_CODEGEN_TARGETS_H
