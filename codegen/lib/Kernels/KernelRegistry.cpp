//===- KernelRegistry.cpp - kind dispatch and AOT compilation -------------===//
#include "KernelBuilders.h"

#include <dlfcn.h>
#include <map>
#include <sys/stat.h>

namespace hybridc::codegen {

namespace {
using Builder = BuiltKernel (*)(const KernelSpec &, const TargetSpec &);

const std::map<std::string, Builder> &builders() {
  static const std::map<std::string, Builder> table = {
      {"embed", buildEmbed},
      {"rms_norm", buildRmsNorm},
      {"linear", buildLinear},
      {"swiglu", buildSwiglu},
      {"residual_add", buildResidualAdd},
      {"moe_router", buildMoeRouter},
      {"moe_experts", buildMoeExperts},
      {"moe_expert_tiles", buildMoeExpertTiles},
      {"moe_combine", buildMoeCombine},
      {"conv1d", buildConv1d},
      {"conv_state", buildConvState},
      {"ssm_chunk", buildSsmChunk},
      {"ssm_step", buildSsmStep},
      {"gated_rms_norm", buildGatedRmsNorm},
      {"attention", buildAttention},
      {"kv_append", buildKvAppend},
  };
  return table;
}
} // namespace

int64_t KernelSpec::size(const std::string &key) const {
  auto it = sizes.find(key);
  if (it == sizes.end())
    failKernel(*this, "missing size '" + key + "'");
  return it->second;
}

double KernelSpec::constant(const std::string &key, double dflt) const {
  auto it = constants.find(key);
  return it == constants.end() ? dflt : it->second;
}

BuiltKernel buildKernel(const KernelSpec &spec, const TargetSpec &target) {
  auto it = builders().find(spec.kind);
  if (it == builders().end())
    failKernel(spec, "unknown kernel kind");
  return it->second(spec, target);
}

std::string compileKernel(const KernelSpec &spec, const TargetSpec &target,
                          const std::string &objectPath, const std::string &stmtPath,
                          const std::string &asmPath, const std::string &stmtHtmlPath) {
  const std::string prefix = "kernel " + spec.symbol + " (" + spec.kind + "): ";
  try {
    BuiltKernel k = buildKernel(spec, target);
    Halide::Target t(target.halideTarget);
    k.pipeline.compile_to_object(objectPath, k.arguments(), spec.symbol, t);
    if (!stmtPath.empty())
      k.pipeline.compile_to_lowered_stmt(stmtPath, k.arguments(), Halide::Text, t);
    if (!stmtHtmlPath.empty())
      k.pipeline.compile_to_lowered_stmt(stmtHtmlPath, k.arguments(), Halide::HTML, t);
    if (!asmPath.empty())
      k.pipeline.compile_to_assembly(asmPath, k.arguments(), spec.symbol, t);
  } catch (const Halide::CompileError &e) {
    return prefix + e.what();
  } catch (const Halide::Error &e) {
    return prefix + e.what();
  } catch (const std::exception &e) {
    // e.g. an invalid target string or a filesystem error.
    return prefix + e.what();
  }
  return "";
}

std::string halideLibraryIdentity() {
  // Halide 14 has no version macro: the shared library's file stands for it.
  Dl_info info;
  Halide::Target (*inHalide)() = &Halide::get_host_target;
  if (!dladdr(reinterpret_cast<void *>(inHalide), &info) ||
      !info.dli_fname)
    return "halide (unknown)";
  struct stat st;
  if (stat(info.dli_fname, &st) != 0)
    return info.dli_fname;
  return std::string(info.dli_fname) + " " + std::to_string(st.st_size) + " " +
         std::to_string(st.st_mtime);
}

std::string compileHalideRuntime(const TargetSpec &target, const std::string &objectPath) {
  try {
    // The runtime is shared by every kernel of the library: same ISA, but it
    // must actually contain the runtime (no no_runtime), and its entry
    // points take the user_context the kernels pass along.
    Halide::Target t = Halide::Target(target.halideTarget)
                           .without_feature(Halide::Target::NoRuntime)
                           .with_feature(Halide::Target::UserContext);
    Halide::compile_standalone_runtime(objectPath, t);
  } catch (const Halide::Error &e) {
    return std::string("halide runtime: ") + e.what();
  } catch (const std::exception &e) {
    return std::string("halide runtime: ") + e.what();
  }
  return "";
}

} // namespace hybridc::codegen
