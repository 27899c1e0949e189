//===- Targets.cpp - the CPUs hybridc compiles for ------------------------===//
//
// Explicit feature lists, not "host", so that a library built on one machine
// is reproducible; `host` is offered for users who want this CPU's best.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Codegen/KernelSpec.h"

#include <Halide.h>

namespace hybridc::codegen {

namespace {
// Kernels carry no Halide runtime (one standalone runtime per library) and
// take a user_context that routes errors and threads to the calling session.
constexpr const char *kCommonFeatures = "-no_runtime-user_context";
} // namespace

std::vector<std::string> knownTargets() { return {"x86-64-avx2", "x86-64-avx512", "host"}; }

std::optional<TargetSpec> resolveTarget(const std::string &name, std::string &error) {
  TargetSpec t;
  t.name = name;
  if (name == "x86-64-avx2") {
    t.halideTarget = std::string("x86-64-linux-sse41-avx-f16c-fma-avx2") + kCommonFeatures;
    t.lanes = 8;
    t.llvmCpu = "haswell";
  } else if (name == "x86-64-avx512") {
    // Skylake-server level: AVX-512 F/CD/BW/DQ/VL.
    t.halideTarget = std::string("x86-64-linux-sse41-avx-f16c-fma-avx2-avx512-avx512_skylake") +
                     kCommonFeatures;
    t.lanes = 16;
    t.llvmCpu = "skylake-avx512";
  } else if (name == "host") {
    Halide::Target host = Halide::get_host_target();
    host = host.with_feature(Halide::Target::NoRuntime).with_feature(Halide::Target::UserContext);
    t.halideTarget = host.to_string();
    t.lanes = host.has_feature(Halide::Target::AVX512) ? 16 : 8;
    t.llvmCpu = "host"; // resolved by the driver's code generator
  } else {
    error = "unknown target '" + name + "' (known: x86-64-avx2, x86-64-avx512, host)";
    return std::nullopt;
  }
  return t;
}

int64_t KernelSpec::size(const std::string &key) const {
  auto it = sizes.find(key);
  if (it == sizes.end())
    throw Halide::CompileError("kernel " + symbol + " (" + kind + "): missing size '" + key + "'");
  return it->second;
}

double KernelSpec::constant(const std::string &key, double dflt) const {
  auto it = constants.find(key);
  return it == constants.end() ? dflt : it->second;
}

} // namespace hybridc::codegen
