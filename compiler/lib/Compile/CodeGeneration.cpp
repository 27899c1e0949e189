//===- CodeGeneration.cpp - driver objects and Halide kernels -------------===//
//
// Each variant's drivers become one object through LLVM 19; every kernel
// of every variant becomes one Halide object, plus one Halide runtime for
// the library, built for its least capable variant so that every CPU the
// library can run on runs it.
//
//===----------------------------------------------------------------------===//
#include "Compilation.h"
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

  // Each kernel, and the Halide runtime, is its own Halide pipeline,
  // compiled in a child process of its own, several at a time. Not on
  // threads: Halide uniquifies Func names through process-wide counters
  // ("out", then "out$1", ...), and those names end up in the object
  // (symbols, error messages), so threads would make the library's bytes
  // depend on how the compiles interleaved; each child starts from the same
  // state, so every kernel compiles the same whatever else is compiled.
  // Objects are linked in task order, and a failure is reported for the
  // first failing task in that order, as a serial loop would.
  std::vector<ChildOutcome> outcomes =
      runInChildProcesses(tasks.size(), taskThreads(tasks.size()), [&](size_t i) -> std::string {
        const Task &t = tasks[i];
        if (!t.kernel)
          return codegen::compileHalideRuntime(least->target, t.object);
        return codegen::compileKernel(t.kernel->spec, t.variant->target, t.object, t.stmt,
                                      t.assembly, t.html);
      });
  for (size_t i = 0; i < tasks.size(); ++i) {
    const ChildOutcome &outcome = outcomes[i];
    if (!outcome.failed())
      continue;
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
