//===- ModelCompiler.cpp - checkpoint -> lib<name>.so + <name>.h ----------===//
//
// `hybridc compile`: the options checked and resolved (name, targets,
// weights dtype, phases), then a Compilation (Compilation.h) runs the
// stages in order. The stages themselves live in ImportAndLower.cpp,
// CodeGeneration.cpp and LibraryOutput.cpp; the C text in GlueWriter.cpp.
//
//===----------------------------------------------------------------------===//
#include "Compilation.h"

#include "hybridc/Support/Error.h"

#include "hybridc/Import/Importer.h"

#include "hybrid/HybridDialect.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace hybridc;
using namespace mlir;

std::vector<std::string> hybridc::knownPhases() {
  std::vector<std::string> names;
  for (Phase p : {Phase::Hybrid, Phase::Lowered, Phase::LlvmDialect})
    names.push_back(phaseName(p));
  return names;
}

std::vector<std::string> hybridc::knownEmitKinds() {
  std::vector<std::string> kinds = knownPhases();
  kinds.insert(kinds.end(), {"llvm", "asm", "stmt", "stmt_html"});
  return kinds;
}

std::string hybridc::defaultModelName(const std::string &modelDir) {
  llvm::SmallString<256> dir(modelDir);
  llvm::sys::path::remove_dots(dir, /*remove_dot_dot=*/true);
  std::string base = llvm::sys::path::filename(llvm::StringRef(dir).rtrim('/')).str();
  if (llvm::StringRef(base).ends_with(".gguf"))
    base = llvm::StringRef(base).drop_back(5).str(); // a GGUF file: its stem
  std::string name;
  for (char c : base)
    name += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
    name = "model_" + name;
  return name;
}

std::string hybridc::joinPath(llvm::StringRef dir, llvm::StringRef file) {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, file);
  return std::string(p);
}

llvm::Expected<std::string> hybridc::readText(const std::string &path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return makeError(path + ": cannot read: " + buf.getError().message());
  return (*buf)->getBuffer().str();
}

llvm::Error hybridc::writeText(const std::string &path, const std::string &text) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return makeError(path + ": " + ec.message());
  os << text;
  return llvm::Error::success();
}

DiagnosticCollector::DiagnosticCollector(MLIRContext &ctx)
    : handler(&ctx, [this](Diagnostic &d) {
        os << d.getLocation() << ": " << d << "\n";
        return success();
      }) {}

llvm::Error DiagnosticCollector::error(const llvm::Twine &what) {
  return makeError(what + ":\n" + text);
}

Compilation::Compilation(const CompileOptions &o, std::unique_ptr<Checkpoint> checkpoint,
                         std::string name, const std::vector<codegen::TargetSpec> &targets,
                         codegen::WeightType weightType, llvm::StringSet<> emit,
                         std::string build, Resources resources,
                         std::optional<Phase> resumeFrom, std::optional<Phase> stopAfter,
                         llvm::raw_ostream &log, llvm::raw_ostream &irOut)
    : o(o), name(std::move(name)), weightType(weightType), resources(std::move(resources)),
      resumeFrom(resumeFrom), stopAfter(stopAfter), emit(std::move(emit)),
      build(std::move(build)), log(log), irOut(irOut), timer(log, o.progress),
      checkpoint(std::move(checkpoint)) {
  context.disableMultithreading(); // module-scope IR printing needs it
  for (const codegen::TargetSpec &t : targets) {
    Variant &v = variants.emplace_back();
    v.target = t;
    v.packing = codegen::linearPacking(t, weightType);
    if (targets.size() > 1)
      v.suffix = codegen::variantSymbolSuffix(t);
  }
}

std::string Compilation::variantPath(const Variant &v, const std::string &suffix) const {
  if (variants.size() == 1)
    return outPath(suffix);
  return outPath("." + v.target.name + suffix);
}

std::string Compilation::variantNote(const Variant &v) const {
  return variants.size() == 1 ? "" : " (" + v.target.name + ")";
}

llvm::Error Compilation::run() {
  if (resumeFrom) {
    if (llvm::Error e = timer.run("load",
                                  o.fromMlir + " (after " + phaseName(*resumeFrom) + ")",
                                  [&] { return loadModule(); }))
      return e;
  } else if (llvm::Error e = timer.run("import", "checkpoint -> hybrid IR",
                                       [&] { return importModel(); })) {
    return e;
  }
  if (stopAfter == Phase::Hybrid)
    return stopped(Phase::Hybrid);
  if (llvm::Error e = buildPipelines())
    return e;
  if (!resumedPast(Phase::Lowered))
    for (Variant &v : variants)
      if (llvm::Error e = runPipeline(v, "lower",
                                      "canonicalize, plan state, lower to kernels" +
                                          variantNote(v),
                                      *v.lowerPM, Phase::Lowered))
        return e;
  if (stopAfter == Phase::Lowered)
    return stopped(Phase::Lowered);
  if (llvm::Error e = describeModel())
    return e;
  if (!resumedPast(Phase::LlvmDialect))
    for (Variant &v : variants)
      if (llvm::Error e = runPipeline(v, "to-llvm",
                                      "memref/scf/func -> LLVM dialect" + variantNote(v),
                                      *v.llvmPM, Phase::LlvmDialect))
        return e;
  if (stopAfter == Phase::LlvmDialect)
    return stopped(Phase::LlvmDialect);
  // Before the long stages, so a tokenizer that is refused fails fast.
  if (llvm::Error e = timer.run("tokenizer", "tokenizer -> blob in the library",
                                [&] { return embedModelTokenizer(); }))
    return e;
  for (Variant &v : variants)
    if (llvm::Error e = timer.run("driver", "LLVM IR -> " + v.target.llvmCpu + " object" +
                                                variantNote(v),
                                  [&] { return emitDriver(v); }))
      return e;
  size_t kernelCount = 0;
  for (const Variant &v : variants)
    kernelCount += v.lowered.kernels.size();
  if (llvm::Error e = timer.run("kernels",
                                std::to_string(kernelCount) + " Halide kernels + runtime",
                                [&] { return compileKernels(); }))
    return e;
  size_t packed = 0;
  for (const WeightsLayoutPlan &l : layouts)
    packed += l.packer->lowered.plan.size();
  if (llvm::Error e = timer.run("weights",
                                llvm::formatv("{0} tensors packed{1}, {2:f1} MiB", packed,
                                              layouts.size() == 1
                                                  ? std::string()
                                                  : " in " + std::to_string(layouts.size()) +
                                                        " layouts",
                                              glue.payloadBytes / 1048576.0),
                                [&] { return writeWeights(); }))
    return e;
  if (llvm::Error e = timer.run("link",
                                "lib" + name + ".so (" + variants.front().target.cc +
                                    " -shared, runtime " + resources.runtimeArchive + ")",
                                [&] { return link(); }))
    return e;
  return finish();
}

std::string hybridc::defaultWeightsDtype(const Checkpoint &checkpoint) {
  if (!checkpoint.isGguf())
    return "f32";
  int64_t q4 = 0, quantized = 0; // elements
  for (const TensorView *t : checkpoint.allTensors()) {
    std::vector<const TensorView *> parts = t->sources;
    if (parts.empty())
      parts.push_back(t);
    for (const TensorView *p : parts)
      if (isQuantized(p->dtype)) {
        quantized += p->numElements();
        q4 += p->dtype == DType::Q4_0 ? p->numElements() : 0;
      }
  }
  if (quantized == 0)
    return "f32";
  return 2 * q4 > quantized ? "int4" : "int8";
}

std::string hybridc::defaultKvDtype(const std::string &weightsDtype) {
  return weightsDtype == "f32" ? "f32" : "bf16";
}

namespace {

/// The first line of the compile log: what is compiled, for what, and how
/// the matmuls of each variant multiply.
void logHeader(llvm::raw_ostream &log, const CompileOptions &o, const std::string &name,
               const std::vector<codegen::TargetSpec> &targets, codegen::WeightType weightType,
               const std::string &weightsDtype) {
  log << "hybridc compile "
      << (o.fromMlir.empty() ? o.modelDir
                             : "--from-mlir " + o.fromMlir + " (model " + o.modelDir + ")")
      << " -> " << o.outDir << " (name " << name << ", target";
  for (size_t i = 0; i < targets.size(); ++i) {
    const codegen::TargetSpec &t = targets[i];
    log << (i ? ", " : " ") << t.name
        << (o.target == "host" ? " (host)" : "");
  }
  log << ", weights " << weightsDtype;
  for (const codegen::TargetSpec &t : targets) {
    const char *note = targets.size() > 1 ? " on " : "";
    const std::string on = targets.size() > 1 ? t.name : "";
    const bool bf16Dot = weightType == codegen::WeightType::BF16 &&
                         codegen::linearPacking(t, weightType).group == 2;
    const char *intDot = t.int8Dot           ? "vpdpbusd"
                         : t.crossCompiled() ? "widening multiplies, pairs per lane"
                                             : "vpmaddwd";
    if (bf16Dot)
      log << ", matmuls bf16 x bf16 (vdpbf16ps" << note << on << ")";
    if (codegen::isBlockQuantized(weightType))
      log << ", matmuls " << weightsDtype << " x int8 (" << intDot << note << on << ")";
  }
  if (o.fromMlir.empty())
    log << ", KV cache " << o.kvDtype;
  log << (o.embedWeights ? ", embedded" : "") << ")\n";
}

} // namespace

llvm::Error hybridc::compileModel(const CompileOptions &options, llvm::raw_ostream &log,
                                  llvm::raw_ostream &irOut) {
  // `o` is what the phases use: the options given, or, resuming from a phase
  // file, those recorded in it.
  CompileOptions o = options;
  std::optional<Phase> resumeFrom, stopAfter;
  if (!o.compileTo.empty()) {
    stopAfter = parsePhase(o.compileTo);
    if (!stopAfter)
      return makeError("--compile-to: unknown phase '" + o.compileTo +
                       "' (hybrid, lowered or llvm-dialect)");
  }
  if (!o.fromMlir.empty()) {
    MLIRContext probe; // the file is parsed again into the compile's context
    llvm::Expected<PhaseFile> file = loadPhaseFile(o.fromMlir, probe);
    if (!file)
      return file.takeError();
    resumeFrom = file->phase;
    if (stopAfter && *stopAfter <= *resumeFrom)
      return makeError("--compile-to=" + o.compileTo + ": " + o.fromMlir + " is already past it (" +
                       phaseName(*resumeFrom) + ")");
    o.modelDir = file->recorded.model;
    o.target = file->recorded.target;
    o.weightsDtype = file->recorded.weightsDtype;
    o.f32Activations = file->recorded.f32Activations;
    o.prefillTokens = file->recorded.prefillTokens;
  }
  if (stopAfter)
    o.emit.push_back(phaseName(*stopAfter)); // the file it stops with
  std::string name = o.name.empty() ? defaultModelName(o.modelDir) : o.name;
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_') ||
      !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      }))
    return makeError("--name '" + name + "' is not a C identifier (letters, digits, _)");
  std::string targetError;
  std::optional<std::vector<codegen::TargetSpec>> targets =
      codegen::resolveTargets(o.target, targetError);
  if (!targets)
    return makeError("--target: " + targetError);
  // A lowered module is one variant's (its packing, its symbols).
  if (targets->size() > 1 && resumeFrom && *resumeFrom != Phase::Hybrid)
    return makeError(o.fromMlir + " is one variant's " + phaseName(*resumeFrom) +
                     " module, but it records the targets " + o.target);
  llvm::Expected<Resources> resources = findResources();
  if (!resources)
    return resources.takeError();
  if (llvm::Error e = selectRuntimeFor(targets->front(), *resources))
    return e;
  llvm::Expected<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::open(o.modelDir);
  if (!checkpoint)
    return checkpoint.takeError();
  CompileOptions resolved = o;
  if (resolved.weightsDtype.empty())
    resolved.weightsDtype = defaultWeightsDtype(**checkpoint);
  std::optional<codegen::WeightType> weightType =
      codegen::parseWeightType(resolved.weightsDtype);
  if (!weightType)
    return makeError("--weights-dtype must be f32, bf16, int8 or int4, got '" + o.weightsDtype +
                     "'");
  if (resolved.kvDtype.empty())
    resolved.kvDtype = defaultKvDtype(resolved.weightsDtype);
  if (!hybrid::symbolizeKvDtype(resolved.kvDtype))
    return makeError("--kv-dtype must be f32, bf16 or int8, got '" + resolved.kvDtype + "'");
  if (o.f32Activations)
    for (codegen::TargetSpec &t : *targets)
      t.bf16Dot = false; // bf16 weights then widen to f32 and meet f32 activations
  llvm::StringSet<> emit;
  const std::vector<std::string> known = knownEmitKinds();
  for (const std::string &e : o.emit) {
    if (!llvm::is_contained(known, e))
      return makeError("--emit: unknown artefact '" + e + "' (known: " +
                       llvm::join(known, ", ") + ")");
    emit.insert(e);
  }
  // The output folder is checked before the work: create_directories
  // accepts a path that exists as a file, and the writes would then fail
  // only at the end of the compile.
  if (std::error_code ec = llvm::sys::fs::create_directories(o.outDir))
    return makeError(o.outDir + ": cannot create: " + ec.message());
  if (!llvm::sys::fs::is_directory(o.outDir))
    return makeError("-o " + o.outDir + ": exists and is not a folder");
  if (llvm::sys::fs::access(o.outDir, llvm::sys::fs::AccessMode::Write))
    return makeError("-o " + o.outDir + ": the folder is not writable");
  llvm::SmallString<128> scratch;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("hybridc-build", scratch))
    return makeError("cannot create a scratch directory: " + ec.message());
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() { llvm::sys::fs::remove_directories(dir); }
  } cleanup{std::string(scratch)};

  logHeader(log, resolved, name, *targets, *weightType, resolved.weightsDtype);
  return Compilation(resolved, std::move(*checkpoint), name, *targets, *weightType,
                     std::move(emit), std::string(scratch), std::move(*resources), resumeFrom,
                     stopAfter, log, irOut)
      .run();
}
