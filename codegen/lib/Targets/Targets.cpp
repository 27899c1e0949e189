//===- Targets.cpp - the CPUs hybridc compiles for ------------------------===//
//
// One table of named CPU levels with explicit feature lists, so that a
// library built on one machine is reproducible; `host` picks the best row
// this CPU runs. Plain C++ (no Halide): the compiler, the kernels and the
// tools that load a library (is this CPU able to run it?) all read it.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Codegen/Targets.h"
#include "hybridc/cpu_check.h"

namespace hybridc::codegen {

namespace {

// Kernels carry no Halide runtime (one standalone runtime per library) and
// take a user_context that routes errors and threads to the calling session.
constexpr const char *kCommonFeatures = "-no_runtime-user_context";

struct TargetRow {
  const char *name;
  const char *halideTarget; // without the common features
  int lanes;
  int vectorRegisters;
  bool dot; // bf16 (vdpbf16ps) and int8 (vpdpbusd) dot products
  const char *llvmCpu;      // the driver object's CPU (control code only)
  const char *llvmFeatures;
  bool aarch64;             // cross-compiled: the library runs on 64-bit ARM Linux
};

constexpr const char *kX86Triple = "x86_64-unknown-linux-gnu";
constexpr const char *kAArch64Triple = "aarch64-linux-gnu";

// x86 rows best last: `host` takes the last row the CPU supports.
constexpr TargetRow kTargets[] = {
    {"x86-64-avx2", "x86-64-linux-sse41-avx-f16c-fma-avx2", 8, 16, false, "haswell", "", false},
    // Skylake-server level: AVX-512 F/CD/BW/DQ/VL.
    {"x86-64-avx512", "x86-64-linux-sse41-avx-f16c-fma-avx2-avx512-avx512_skylake", 16, 32,
     false, "skylake-avx512", "", false},
    // Zen4 / Sapphire Rapids level: AVX-512 with BF16 and VNNI. Halide 14
    // reaches vdpbf16ps only through its Sapphire Rapids feature, which also
    // lets LLVM 14 use AVX512-FP16 and AMX; the kernels never use Float(16)
    // or tiles, and a test disassembles every kernel of this target to prove
    // that none of those instructions (SIGILL on Zen4) is emitted. The driver
    // is plain control code: the AVX-512 baseline is enough.
    {"x86-64-avx512-bf16",
     "x86-64-linux-sse41-avx-f16c-fma-avx2-avx512-avx512_skylake-avx512_cannonlake-"
     "avx512_sapphirerapids",
     16, 32, true, "skylake-avx512", "", false},
    // 64-bit ARM Linux at the ARMv8.2-A level with Advanced SIMD (NEON: 32
    // registers of 4 f32 lanes) and the dot-product extension (sdot/udot,
    // Cortex-A55/A75 and later, Neoverse N1, Apple M1, Graviton 2), which
    // Halide may use for 8-bit products. No SVE, no FP16 arithmetic, no
    // BF16 instructions: bf16 weights are widened to f32 in registers, and
    // int8 blocks meet int8 activations two products per i32 lane (widening
    // multiplies) as on AVX2. Cross-compiled: linked by Debian's
    // gcc-aarch64-linux-gnu against a runtime built by the same toolchain.
    {"aarch64", "arm-64-linux-arm_dot_prod", 4, 32, false, "generic",
     "+v8.2a,+neon,+fp-armv8,+dotprod", true},
};

// The instruction sets of each row: the list every generated library checks
// at model open too. hybridc runs on x86-64, so an aarch64 row is never
// "supported" here and `host` never picks it.
bool rowSupported(const TargetRow &row) { return !hybridc_cpu_missing_feature(row.name); }

TargetSpec specOf(const TargetRow &row) {
  TargetSpec t;
  t.name = row.name;
  t.halideTarget = std::string(row.halideTarget) + kCommonFeatures;
  t.lanes = row.lanes;
  t.vectorRegisters = row.vectorRegisters;
  t.bf16Dot = row.dot;
  t.int8Dot = row.dot;
  t.llvmTriple = row.aarch64 ? kAArch64Triple : kX86Triple;
  t.llvmCpu = row.llvmCpu;
  t.llvmFeatures = row.llvmFeatures;
  t.cc = row.aarch64 ? "aarch64-linux-gnu-gcc" : "cc";
  t.ccPackage = row.aarch64 ? "gcc-aarch64-linux-gnu" : "gcc";
  t.runtimeDir = row.aarch64 ? kAArch64Triple : "";
  return t;
}

} // namespace

std::vector<std::string> knownTargets() {
  std::vector<std::string> names;
  for (const TargetRow &row : kTargets)
    names.push_back(row.name);
  names.push_back("host");
  return names;
}

std::optional<TargetSpec> resolveTarget(const std::string &name, std::string &error) {
  if (name == "host") {
    const TargetRow *best = nullptr;
    for (const TargetRow &row : kTargets)
      if (rowSupported(row))
        best = &row;
    if (!best) {
      error = "target 'host': this CPU has none of the features of the known targets "
              "(the least is x86-64-avx2: AVX2, FMA, F16C)";
      return std::nullopt;
    }
    return specOf(*best);
  }
  for (const TargetRow &row : kTargets)
    if (name == row.name)
      return specOf(row);
  std::string known;
  for (const std::string &n : knownTargets())
    known += (known.empty() ? "" : ", ") + n;
  error = "unknown target '" + name + "' (known: " + known + ")";
  return std::nullopt;
}

std::optional<std::vector<TargetSpec>> resolveTargets(const std::string &list,
                                                      std::string &error) {
  std::vector<TargetSpec> targets;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    const std::string name =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name.empty()) {
      error = "'" + list + "' has an empty entry (give names separated by single commas)";
      return std::nullopt;
    }
    std::optional<TargetSpec> t = resolveTarget(name, error);
    if (!t)
      return std::nullopt;
    for (const TargetSpec &seen : targets)
      if (seen.name == t->name) {
        error = "'" + list + "' names " + t->name + " twice" +
                (name == "host" ? " (host is " + t->name + " on this machine)" : "");
        return std::nullopt;
      }
    targets.push_back(*t);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  // One library is linked for one machine: its variants are x86-64 CPU
  // levels, chosen among at model open; aarch64 is another machine.
  for (const TargetSpec &t : targets)
    if (targets.size() > 1 && t.crossCompiled()) {
      error = "'" + list + "': " + t.name +
              " is another machine; a library of several variants holds x86-64 levels only "
              "(compile aarch64 into a library of its own)";
      return std::nullopt;
    }
  return targets;
}

std::string variantSymbolSuffix(const TargetSpec &target) {
  std::string suffix = "__";
  for (char c : target.name)
    suffix += (c == '-') ? '_' : c;
  return suffix;
}

bool cpuSupports(const TargetSpec &target) {
  for (const TargetRow &row : kTargets)
    if (target.name == row.name)
      return rowSupported(row);
  return false;
}

LinearPacking linearPacking(const TargetSpec &target, WeightType type) {
  LinearPacking p;
  p.lanes = target.lanes;
  if (type == WeightType::BF16 && target.bf16Dot)
    p.group = 2;
  if (isBlockQuantized(type)) {
    // The inputs one i32 lane sums per instruction: 4 with VNNI's vpdpbusd,
    // 2 with vpmaddwd (AVX2 and AVX-512 without VNNI).
    p.group = target.int8Dot ? 4 : 2;
    p.scaleBlock = kQuantBlock;
    p.groupsPerByte = type == WeightType::INT4 ? 2 : 1;
  }
  return p;
}

const char *weightTypeName(WeightType type) {
  switch (type) {
  case WeightType::BF16:
    return "bf16";
  case WeightType::INT8:
    return "int8";
  case WeightType::INT4:
    return "int4";
  case WeightType::F32:
    break;
  }
  return "f32";
}

std::vector<std::string> weightTypeNames() {
  std::vector<std::string> names;
  for (WeightType t : kWeightTypes)
    names.push_back(weightTypeName(t));
  return names;
}

std::optional<WeightType> parseWeightType(const std::string &name) {
  for (WeightType t : kWeightTypes)
    if (name == weightTypeName(t))
      return t;
  return std::nullopt;
}

} // namespace hybridc::codegen
