//===- CodeGeneration.cpp - driver objects and Halide kernels -------------===//
//
// Each variant's drivers become one object through LLVM 19; every kernel
// of every variant becomes one Halide object, plus one Halide runtime for
// the library, built for its least capable variant so that every CPU the
// library can run on runs it.
//
//===----------------------------------------------------------------------===//
#include "Compilation.h"
#include "KernelCache.h"
#include "Parallel.h"

#include "hybridc/Support/Error.h"

#include "hybridc/Codegen/EmitObject.h"
#include "hybridc/cpu_check.h"

#include "llvm/Support/FileSystem.h"

using namespace hybridc;

llvm::Error Compilation::emitDriver(Variant &v) {
  DriverArtefacts artefacts;
  if (emit.count("llvm"))
    artefacts.llvmIR = variantPath(v, ".ll");
  if (emit.count("asm"))
    artefacts.assembly = variantPath(v, ".s");
  objects.push_back(joinPath(build, "driver" + v.suffix + ".o"));
  return emitDriverObject(*v.module, v.target, objects.back(), artefacts);
}

llvm::Error Compilation::compileKernels() {
  // --emit stmt / stmt_html / asm: one file per kernel in OUT_DIR/<name>.stmt/,
  // OUT_DIR/<name>.stmt_html/ and OUT_DIR/<name>.kernel-asm/ (the driver's
  // assembly is <name>.s); with several variants, one folder each
  // (<name>.<target>.stmt/, ...).
  struct Task {
    const Variant *variant; // null: the Halide runtime
    const KernelJob *kernel;
    std::string object, stmt, assembly, html;
  };
  std::vector<Task> tasks;
  for (const Variant &v : variants) {
    std::string stmtDir = variantPath(v, ".stmt"), htmlDir = variantPath(v, ".stmt_html"),
                asmDir = variantPath(v, ".kernel-asm");
    for (auto [kind, dir] : {std::pair{"stmt", &stmtDir}, std::pair{"stmt_html", &htmlDir},
                             std::pair{"asm", &asmDir}})
      if (emit.count(kind))
        if (std::error_code ec = llvm::sys::fs::create_directories(*dir))
          return makeError(*dir + ": " + ec.message());
    for (const KernelJob &k : v.lowered.kernels) {
      const std::string &symbol = k.spec.symbol;
      tasks.push_back({&v, &k, joinPath(build, symbol + ".o"),
                       emit.count("stmt") ? joinPath(stmtDir, symbol + ".stmt") : "",
                       emit.count("asm") ? joinPath(asmDir, symbol + ".s") : "",
                       emit.count("stmt_html") ? joinPath(htmlDir, symbol + ".html") : ""});
    }
  }
  const Variant *least = &variants.front();
  for (const Variant &v : variants)
    if (hybridc_target_level(v.target.name.c_str()) <
        hybridc_target_level(least->target.name.c_str()))
      least = &v;
  tasks.push_back({nullptr, nullptr, joinPath(build, "halide_runtime.o"), "", "", ""});

  // Objects already in the kernel cache (HYBRIDC_KERNEL_CACHE) are copied,
  // not compiled; a task that also writes --emit artefacts always compiles.
  llvm::Expected<std::optional<KernelCache>> cache = KernelCache::fromEnvironment();
  if (!cache)
    return cache.takeError();
  std::vector<std::string> keys(tasks.size());
  std::vector<size_t> toCompile;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Task &t = tasks[i];
    const bool artefacts = !t.stmt.empty() || !t.assembly.empty() || !t.html.empty();
    if (*cache && !artefacts) {
      keys[i] = (*cache)->key(t.kernel ? &t.kernel->spec : nullptr,
                              t.kernel ? t.variant->target : least->target);
      if ((*cache)->fetch(keys[i], t.object))
        continue;
    }
    toCompile.push_back(i);
  }

  // Each kernel, and the Halide runtime, is its own Halide pipeline,
  // compiled in a child process of its own, several at a time. Not on
  // threads: Halide uniquifies Func names through process-wide counters
  // ("out", then "out$1", ...), and those names end up in the object
  // (symbols, error messages), so threads would make the library's bytes
  // depend on how the compiles interleaved; each child starts from the same
  // state, so every kernel compiles the same whatever else is compiled.
  // Objects are linked in task order, and a failure is reported for the
  // first failing task in that order, as a serial loop would.
  std::vector<ChildOutcome> outcomes = runInChildProcesses(
      toCompile.size(), taskThreads(toCompile.size()), [&](size_t j) -> std::string {
        const Task &t = tasks[toCompile[j]];
        if (!t.kernel)
          return codegen::compileHalideRuntime(least->target, t.object);
        return codegen::compileKernel(t.kernel->spec, t.variant->target, t.object, t.stmt,
                                      t.assembly, t.html);
      });
  for (size_t j = 0; j < toCompile.size(); ++j) {
    const ChildOutcome &outcome = outcomes[j];
    const size_t i = toCompile[j];
    if (!outcome.failed()) {
      if (*cache && !keys[i].empty())
        (*cache)->store(keys[i], tasks[i].object);
      continue;
    }
    if (!outcome.processFailed)
      return makeError(outcome.error);
    const Task &t = tasks[i];
    return makeError((t.kernel ? "kernel " + t.kernel->spec.symbol + " (" +
                                     t.kernel->spec.kind + ")"
                               : std::string("halide runtime")) +
                     ": " + outcome.error);
  }
  for (const Task &t : tasks)
    objects.push_back(t.object);
  return llvm::Error::success();
}
