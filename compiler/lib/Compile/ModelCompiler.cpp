//===- ModelCompiler.cpp - checkpoint -> lib<name>.so + <name>.h ----------===//
//
// The stages of `hybridc compile`, each timed:
//   import      checkpoint -> `hybrid` module
//   lower       canonicalize, plan state, hybrid-lower-to-kernels
//   to-llvm     memref/scf/func/arith -> LLVM dialect
//   driver      LLVM dialect -> LLVM IR -> object (LLVM 19 TargetMachine)
//   kernels     one Halide AOT object per distinct kernel + one Halide runtime
//   weights     packed weights file (mmapped by the runtime)
//   tokenizer   the model's tokenizer as a blob in the library (TokenizerStage.h)
//   glue/link   generated C glue, then `cc -shared` with a version script
//
//===----------------------------------------------------------------------===//
#include "hybridc/Compile/ModelCompiler.h"
#include "hybridc/Support/Error.h"

#include "GlueWriter.h"
#include "KernelDecls.h"
#include "LibraryFacts.h"
#include "LoweredModel.h"
#include "PhaseFile.h"
#include "Resources.h"
#include "Parallel.h"
#include "TokenizerStage.h"
#include "Toolchain.h"
#include "WeightsFile.h"

#include "hybridc/Codegen/EmitObject.h"
#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Codegen/Passes.h"
#include "hybridc/Run/Manifest.h"
#include "hybridc/Import/Importer.h"

#include "hybrid/HybridPasses.h"
#include "hybridc/runtime_abi.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <chrono>
#include <map>
#include <fstream>

using namespace hybridc;
using namespace mlir;

std::vector<std::string> hybridc::knownEmitKinds() {
  return {"hybrid", "lowered", "llvm-dialect", "llvm", "asm", "stmt", "stmt_html"};
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

namespace {

/// The module as text, ending in a newline, with the ops' locations
/// ("model.layers.3.mamba.conv1d", printed as #loc aliases): a compile
/// resumed from the file still knows which layer each op is from.
std::string toText(ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, OpPrintingFlags().enableDebugInfo(/*enable=*/true, /*prettyForm=*/false));
  os << "\n";
  return text;
}

std::string join(llvm::StringRef dir, llvm::StringRef file) {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, file);
  return std::string(p);
}

llvm::Expected<std::string> readText(const std::string &path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return makeError(path + ": cannot read: " + buf.getError().message());
  return (*buf)->getBuffer().str();
}

llvm::Error writeText(const std::string &path, const std::string &text) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return makeError(path + ": " + ec.message());
  os << text;
  return llvm::Error::success();
}

/// Times the stages and prints one line per stage.
class StageTimer {
public:
  explicit StageTimer(llvm::raw_ostream &log) : log(log) {}
  template <typename Fn> llvm::Error run(llvm::StringRef stage, const std::string &what, Fn fn) {
    auto start = std::chrono::steady_clock::now();
    llvm::Error e = fn();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
    total += ms;
    if (!e)
      log << llvm::formatv("  {0,-9} {1,9:f1} ms  {2}\n", stage, ms, what);
    return e;
  }
  double totalMs() const { return total; }

private:
  llvm::raw_ostream &log;
  double total = 0;
};

/// Turns MLIR diagnostics into the text of an llvm::Error.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext &ctx)
      : handler(&ctx, [this](Diagnostic &d) {
          os << d.getLocation() << ": " << d << "\n";
          return success();
        }) {}
  llvm::Error error(const llvm::Twine &what) { return makeError(what + ":\n" + text); }

private:
  std::string text;
  llvm::raw_string_ostream os{text};
  ScopedDiagnosticHandler handler;
};

/// Configures IR printing after the passes the user asked for.
llvm::Error configureIRPrinting(PassManager &pm, const CompileOptions &o,
                                llvm::StringSet<> &seenPasses, llvm::raw_ostream &out) {
  for (Pass &p : pm.getPasses())
    seenPasses.insert(p.getArgument());
  if (!o.printIrAfterAll && o.printIrAfter.empty())
    return llvm::Error::success();
  llvm::StringSet<> wanted;
  for (const std::string &p : o.printIrAfter)
    wanted.insert(p);
  bool all = o.printIrAfterAll;
  pm.enableIRPrinting(
      [](Pass *, Operation *) { return false; },
      [all, wanted](Pass *p, Operation *) { return all || wanted.count(p->getArgument()); },
      /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false,
      /*printAfterOnlyOnFailure=*/false, out);
  return llvm::Error::success();
}

} // namespace

namespace {

/// One run of `hybridc compile`: the validated options and what the stages
/// hand each other. Each stage is a method, timed by run().
class Compilation {
public:
  /// `o.weightsDtype` is resolved (never empty); `checkpoint` is open.
  Compilation(const CompileOptions &o, std::unique_ptr<Checkpoint> checkpoint, std::string name,
              codegen::TargetSpec target, codegen::WeightType weightType,
              llvm::StringSet<> emit, std::string build, Resources resources,
              std::optional<Phase> resumeFrom, std::optional<Phase> stopAfter,
              llvm::raw_ostream &log, llvm::raw_ostream &irOut)
      : o(o), name(std::move(name)), target(std::move(target)), weightType(weightType),
        resources(std::move(resources)), resumeFrom(resumeFrom), stopAfter(stopAfter),
        packing(codegen::linearPacking(this->target, weightType)), emit(std::move(emit)),
        build(std::move(build)), log(log), irOut(irOut), timer(log),
        checkpoint(std::move(checkpoint)) {
    context.disableMultithreading(); // module-scope IR printing needs it
  }

  llvm::Error run();

private:
  llvm::Error importModel();
  llvm::Error buildPipelines();
  llvm::Error runPipeline(llvm::StringRef stage, const std::string &what, PassManager &pm,
                          Phase phase);
  llvm::Error loadModule();
  llvm::Error stopped(Phase phase);
  /// Whether the module was loaded from a file of `phase` or a later one
  /// (so the passes that produce `phase` do not run again).
  bool resumedPast(Phase phase) const { return resumeFrom && *resumeFrom >= phase; }
  llvm::Error describeModel();
  void describeGgufTypes();
  void describeWeightTypes();
  llvm::Error emitDriver();
  llvm::Error compileKernels();
  llvm::Error writeWeights();
  llvm::Error embedModelTokenizer();
  llvm::Error link();
  llvm::Error finish();
  std::string outPath(const std::string &suffix) const { return join(o.outDir, name + suffix); }

  const CompileOptions &o;
  const std::string name;
  const codegen::TargetSpec target;
  const codegen::WeightType weightType;
  const Resources resources; // templates, headers and runtime archive the link uses
  const std::optional<Phase> resumeFrom; // --from-mlir: the file's phase
  const std::optional<Phase> stopAfter;  // --compile-to
  const codegen::LinearPacking packing; // every matrix's layout, from target + type
  const llvm::StringSet<> emit;
  const std::string build; // scratch folder for objects
  llvm::raw_ostream &log, &irOut;
  StageTimer timer;
  MLIRContext context;
  DiagnosticCollector diagnostics{context};
  // Anchored on the module, so their textual form is what hybridc-opt takes.
  PassManager lowerPM{&context, ModuleOp::getOperationName()},
      llvmPM{&context, ModuleOp::getOperationName()};

  std::unique_ptr<Checkpoint> checkpoint;
  OwningOpRef<ModuleOp> module;
  std::vector<KernelJob> kernels;
  std::vector<PackedWeight> plan;
  ModelGlueInfo glue;
  LibraryDescription description; // what `hybridc inspect` shows
  std::vector<std::string> objects; // linked into the library
  std::string weightsFile;
};

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
    if (llvm::Error e = runPipeline("lower", "canonicalize, plan state, lower to kernels",
                                    lowerPM, Phase::Lowered))
      return e;
  if (stopAfter == Phase::Lowered)
    return stopped(Phase::Lowered);
  if (llvm::Error e = describeModel())
    return e;
  if (!resumedPast(Phase::LlvmDialect))
    if (llvm::Error e = runPipeline("to-llvm", "memref/scf/func -> LLVM dialect", llvmPM,
                                    Phase::LlvmDialect))
      return e;
  if (stopAfter == Phase::LlvmDialect)
    return stopped(Phase::LlvmDialect);
  if (llvm::Error e = timer.run("driver", "LLVM IR -> " + target.llvmCpu + " object",
                                [&] { return emitDriver(); }))
    return e;
  if (llvm::Error e = timer.run("kernels",
                                std::to_string(kernels.size()) + " Halide kernels + runtime",
                                [&] { return compileKernels(); }))
    return e;
  if (llvm::Error e = timer.run("weights",
                                llvm::formatv("{0} tensors packed, {1:f1} MiB", plan.size(),
                                              glue.memory.weightsBytes / 1048576.0),
                                [&] { return writeWeights(); }))
    return e;
  if (llvm::Error e = timer.run("tokenizer", "tokenizer -> blob in the library",
                                [&] { return embedModelTokenizer(); }))
    return e;
  if (llvm::Error e = timer.run("link",
                                "lib" + name + ".so (" + target.cc + " -shared, runtime " +
                                    resources.runtimeArchive + ")",
                                [&] { return link(); }))
    return e;
  return finish();
}

llvm::Error Compilation::importModel() {
  if (checkpoint->isGguf())
    describeGgufTypes();
  auto imported = importCheckpoint(context, *checkpoint);
  if (!imported)
    return imported.takeError();
  module = std::move(*imported);
  // What a compile resumed from a phase file needs (PhaseFile.h).
  llvm::SmallString<256> model(o.modelDir);
  if (std::error_code ec = llvm::sys::fs::make_absolute(model))
    return makeError(o.modelDir + ": " + ec.message());
  llvm::sys::path::remove_dots(model, /*remove_dot_dot=*/true);
  recordCompile(*module, {std::string(model), target.name, o.weightsDtype, o.f32Activations,
                          o.prefillTokens});
  if (o.printIrAfterAll || llvm::is_contained(o.printIrAfter, "import"))
    irOut << "// -----// IR Dump After import (hybridc) //----- //\n" << *module << "\n";
  if (emit.count(phaseName(Phase::Hybrid)))
    return writeText(outPath(phaseSuffix(Phase::Hybrid)), toText(*module));
  return llvm::Error::success();
}

llvm::Error Compilation::loadModule() {
  llvm::Expected<PhaseFile> file = loadPhaseFile(o.fromMlir, context);
  if (!file)
    return file.takeError();
  module = std::move(file->module);
  return llvm::Error::success();
}

llvm::Error Compilation::stopped(Phase phase) {
  log << "stopped after " << phaseName(phase) << ": wrote " << outPath(phaseSuffix(phase))
      << " (go on with: hybridc compile --from-mlir " << outPath(phaseSuffix(phase))
      << " -o OUT_DIR)\n";
  return llvm::Error::success();
}

/// What a GGUF file stores, and what becomes of its quantized blocks.
void Compilation::describeGgufTypes() {
  std::map<std::string, int> counts;
  int quantized = 0;
  for (const TensorView *t : checkpoint->allTensors()) {
    std::vector<const TensorView *> parts = t->sources;
    if (parts.empty())
      parts.push_back(t);
    for (const TensorView *p : parts) {
      ++counts[dtypeName(p->dtype).str()];
      quantized += isQuantized(p->dtype);
    }
  }
  std::string list;
  for (const auto &[name, n] : counts)
    list += (list.empty() ? "" : ", ") + name + " x" + std::to_string(n);
  log << "  gguf: " << list;
  if (quantized) {
    log << "; the " << quantized << " quantized tensors are dequantized exactly, then stored as "
        << o.weightsDtype;
    // The blocks kept bit for bit, and how many others are requantized.
    const char *kept = weightType == codegen::WeightType::INT8   ? "Q8_0"
                       : weightType == codegen::WeightType::INT4 ? "Q4_0"
                                                                 : nullptr;
    // An int4 model keeps a Q8_0 tensor in int8 (the importer's
    // hybrid.min_bits), so those stay exact too.
    const int exactQ8 = weightType == codegen::WeightType::INT4 ? counts["Q8_0"] : 0;
    if (kept && counts.count(kept)) {
      const int others = quantized - counts[kept] - exactQ8;
      log << " (" << kept << " blocks exactly as they are";
      if (exactQ8)
        log << ", Q8_0 ones as int8";
      if (others)
        log << "; the " << others << " others requantized";
      log << ")";
    }
  }
  log << "\n";
}

llvm::Error Compilation::buildPipelines() {
  lowerPM.addPass(createCanonicalizerPass());
  lowerPM.addPass(hybrid::createPlanStatePass());
  LowerToKernelsOptions lowerOptions;
  lowerOptions.weightType = o.weightsDtype;
  lowerOptions.lanes = packing.lanes;
  lowerOptions.inputGroup = packing.group;
  lowerOptions.chunkTokens = checkpoint->config().mambaChunkSize;
  lowerOptions.prefillTokens = o.prefillTokens;
  lowerPM.addPass(createLowerToKernels(lowerOptions));
  addLowerToLLVMPasses(llvmPM);
  // The passes that run in this compile; a resumed one starts from its file.
  description.pipeline = {resumeFrom ? "from-mlir (" + std::string(phaseName(*resumeFrom)) + ")"
                                     : std::string("import")};
  description.pipelineText.clear();
  for (auto [pm, result] :
       {std::pair{&lowerPM, Phase::Lowered}, std::pair{&llvmPM, Phase::LlvmDialect}})
    if (!resumedPast(result)) {
      appendPassNames(*pm, description.pipeline);
      description.pipelineText.push_back(pipelineText(*pm));
    }

  llvm::StringSet<> passNames{"import"};
  if (llvm::Error e = configureIRPrinting(lowerPM, o, passNames, irOut))
    return e;
  if (llvm::Error e = configureIRPrinting(llvmPM, o, passNames, irOut))
    return e;
  for (const std::string &p : o.printIrAfter)
    if (!passNames.count(p)) {
      std::string names;
      for (const auto &n : passNames)
        names += " " + n.first().str();
      return makeError("--print-ir-after=" + p + ": no such pass in the pipeline (passes:" +
                       names + ")");
    }
  return llvm::Error::success();
}

/// One pass pipeline as a timed stage, then the module if --emit asks for it.
llvm::Error Compilation::runPipeline(llvm::StringRef stage, const std::string &what,
                                     PassManager &pm, Phase phase) {
  if (llvm::Error e = timer.run(stage, what, [&]() -> llvm::Error {
        if (failed(pm.run(*module)))
          return diagnostics.error("stage '" + stage + "' failed");
        return llvm::Error::success();
      }))
    return e;
  if (!emit.count(phaseName(phase)))
    return llvm::Error::success();
  return writeText(outPath(phaseSuffix(phase)), toText(*module));
}

/// Reads what the lowering decided (kernels, weight layout, buffer sizes)
/// into the plain structures the Halide, weights and glue stages use.
llvm::Error Compilation::describeModel() {
  const ModelConfig &cfg = checkpoint->config();
  llvm::Expected<LoweredModel> lowered = readLoweredModel(*module, weightType, packing);
  if (!lowered)
    return lowered.takeError();
  kernels = std::move(lowered->kernels);
  plan = std::move(lowered->plan);
  glue.memory = lowered->memory;
  describeWeightTypes();
  glue.name = name;
  glue.target = target.name;
  glue.embeddedWeights = o.embedWeights;
  glue.profile = o.profile;
  glue.vocabSize = cfg.vocabSize;
  glue.hiddenSize = cfg.hiddenSize;
  glue.numLayers = cfg.numLayers;
  for (const KernelJob &k : kernels)
    glue.kernels.push_back(k.signature);
  description.model = modelFacts(cfg);
  description.targets = {target.name};
  description.weightsDtype = o.weightsDtype;
  description.tensorKinds = tensorKinds(plan, o.weightsDtype);
  description.kernels.clear();
  for (const KernelJob &k : kernels)
    description.kernels.push_back(k.use);
  description.memory = glue.memory;
  std::string upperName = name;
  for (char &c : upperName)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  glue.modelInfoDefines = llvm::formatv(
      "#define {0}_VOCAB_SIZE {1}\n#define {0}_HIDDEN_SIZE {2}\n#define {0}_NUM_LAYERS {3}\n"
      "#define {0}_MAMBA_LAYERS {4}\n#define {0}_ATTENTION_LAYERS {5}\n"
      "#define {0}_MAX_CHUNK_TOKENS {6}\n"
      "/* The same sizes as constants spelled with the lower-case prefix. */\n"
      "enum {{ {7}_vocab_size = {1}, {7}_hidden_size = {2}, {7}_num_layers = {3} };\n",
      upperName, cfg.vocabSize, cfg.hiddenSize, cfg.numLayers, cfg.countLayers(LayerKind::Mamba),
      cfg.countLayers(LayerKind::Attention), glue.memory.maxChunkTokens, name);
  if (o.profile)
    glue.modelInfoDefines +=
        "/* Built with --profile: per-kernel time since the last reset, as a table. */\n"
        "const char *" + name + "_profile_report(void);\nvoid " + name +
        "_profile_reset(void);\n";
  return llvm::Error::success();
}

/// Which tensors are stored in which type, from the weight plan's layouts.
void Compilation::describeWeightTypes() {
  int matrices = 0, table = 0, f32 = 0, int8 = 0;
  for (const PackedWeight &w : plan) {
    if (w.layout == "linear" || w.layout == "experts")
      ++matrices;
    else if (w.layout == "linear_int8")
      ++int8;
    else if (w.layout == "plain")
      ++table;
    else if (w.layout == "f32" || w.layout == "linear_f32")
      ++f32;
  }
  const bool blocks = codegen::isBlockQuantized(weightType);
  log << "  stored: " << matrices << " matrices " << o.weightsDtype
      << (blocks ? " (blocks of 32, an f32 scale each)" : "");
  if (int8)
    log << ", " << int8 << " int8 (lm_head, attention K/V, tensors a GGUF file holds in 5 "
        << "bits or more)";
  if (table)
    log << ", embedding table " << storedDtype("plain", o.weightsDtype);
  log << ", " << f32 << " tensors f32 (norms, conv, SSM parameters, biases, router)\n";
}

llvm::Error Compilation::emitDriver() {
  DriverArtefacts artefacts;
  if (emit.count("llvm"))
    artefacts.llvmIR = outPath(".ll");
  if (emit.count("asm"))
    artefacts.assembly = outPath(".s");
  objects.push_back(join(build, "driver.o"));
  return emitDriverObject(*module, target, objects.back(), artefacts);
}

llvm::Error Compilation::compileKernels() {
  // --emit stmt / stmt_html / asm: one file per kernel in OUT_DIR/<name>.stmt/,
  // OUT_DIR/<name>.stmt_html/ and OUT_DIR/<name>.kernel-asm/ (the driver's
  // assembly is <name>.s).
  std::string stmtDir = outPath(".stmt"), htmlDir = outPath(".stmt_html"),
              asmDir = outPath(".kernel-asm");
  for (auto [kind, dir] : {std::pair{"stmt", &stmtDir}, std::pair{"stmt_html", &htmlDir},
                           std::pair{"asm", &asmDir}})
    if (emit.count(kind))
      if (std::error_code ec = llvm::sys::fs::create_directories(*dir))
        return makeError(*dir + ": " + ec.message());
  // Each kernel, and the Halide runtime (task kernels.size()), is its own
  // Halide pipeline, compiled in a child process of its own, several at a
  // time. Not on threads: Halide uniquifies Func names through process-wide
  // counters ("out", then "out$1", ...), and those names end up in the
  // object (symbols, error messages), so threads would make the library's
  // bytes depend on how the compiles interleaved; each child starts from
  // the same state, so every kernel compiles the same whatever else is
  // compiled. Objects are linked in kernel order, and a failure is reported
  // for the first failing kernel in that order, as a serial loop would.
  const size_t tasks = kernels.size() + 1;
  std::vector<std::string> taskObjects(tasks);
  for (size_t i = 0; i < kernels.size(); ++i)
    taskObjects[i] = join(build, kernels[i].spec.symbol + ".o");
  taskObjects.back() = join(build, "halide_runtime.o");
  std::vector<ChildOutcome> outcomes =
      runInChildProcesses(tasks, taskThreads(tasks), [&](size_t i) -> std::string {
        if (i == kernels.size())
          return codegen::compileHalideRuntime(target, taskObjects[i]);
        const std::string &symbol = kernels[i].spec.symbol;
        std::string stmt = emit.count("stmt") ? join(stmtDir, symbol + ".stmt") : "";
        std::string assembly = emit.count("asm") ? join(asmDir, symbol + ".s") : "";
        std::string html = emit.count("stmt_html") ? join(htmlDir, symbol + ".html") : "";
        return codegen::compileKernel(kernels[i].spec, target, taskObjects[i], stmt, assembly,
                                      html);
      });
  for (size_t i = 0; i < tasks; ++i) {
    const ChildOutcome &o = outcomes[i];
    if (!o.failed())
      continue;
    if (!o.processFailed)
      return makeError(o.error);
    return makeError((i == kernels.size() ? std::string("halide runtime")
                                          : "kernel " + kernels[i].spec.symbol + " (" +
                                                kernels[i].spec.kind + ")") +
                     ": " + o.error);
  }
  objects.insert(objects.end(), taskObjects.begin(), taskObjects.end());
  return llvm::Error::success();
}

llvm::Error Compilation::writeWeights() {
  // Embedded weights are assembled into the library from a scratch file.
  weightsFile = join(o.embedWeights ? build : o.outDir, name + ".weights");
  llvm::Expected<uint64_t> hash = writeWeightsFile(
      weightsFile, *checkpoint, plan, glue.memory.weightsBytes, weightType, packing, name);
  if (!hash)
    return hash.takeError();
  glue.modelHash = *hash;
  return llvm::Error::success();
}

/// The model's tokenizer, checked and assembled into an object the link
/// takes; the glue's descriptor then points at it.
llvm::Error Compilation::embedModelTokenizer() {
  if (o.noTokenizer) {
    log << "  tokenizer: left out (--no-tokenizer)\n";
    return llvm::Error::success();
  }
  llvm::Expected<std::optional<TokenizerEmbedding>> t =
      embedTokenizer(o.modelDir, checkpoint->config().vocabSize, target, build);
  if (!t)
    return t.takeError();
  if (!*t) {
    log << "  tokenizer: none (no tokenizer.json or tokenizer.ggml.model): token ids only\n";
    return llvm::Error::success();
  }
  log << "  tokenizer: " << (*t)->summary << "\n";
  objects.push_back((*t)->object);
  glue.tokenizerBytes = (*t)->bytes;
  return llvm::Error::success();
}

/// Flags for the glue's compile and the library's link: a sanitizer build
/// (HYBRIDC_SANITIZE) instruments the host's runtime archive, and its library
/// then needs the sanitizer's runtime too. A cross target's archive is plain.
std::vector<std::string> withSanitizer(const codegen::TargetSpec &target,
                                       std::vector<std::string> args) {
#ifdef HYBRIDC_SANITIZE_FLAGS
  if (!target.crossCompiled())
    args.insert(args.begin(), HYBRIDC_SANITIZE_FLAGS);
#else
  (void)target;
#endif
  return args;
}

llvm::Error Compilation::link() {
  const std::string &templates = resources.templatesDir;
  llvm::Expected<std::string> headerTemplate = readText(join(templates, "model_api.h.in"));
  if (!headerTemplate)
    return headerTemplate.takeError();
  llvm::Expected<std::string> apiTemplate = readText(join(templates, "model_api_glue.c.in"));
  if (!apiTemplate)
    return apiTemplate.takeError();
  if (llvm::Error e = writeText(outPath(".h"), generateHeader(glue, *headerTemplate)))
    return e;
  std::string glueSource = join(build, "glue.c"), glueObject = join(build, "glue.o");
  if (llvm::Error e = writeText(glueSource, generateGlueSource(glue, *apiTemplate)))
    return e;
  if (llvm::Error e = runTool(target.cc,
                              withSanitizer(target, {"-c", "-O2", "-fPIC", "-fvisibility=hidden",
                                             "-I" + o.outDir, "-I" + resources.includeDir,
                                             "-I" + resources.halideIncludeDir, glueSource,
                                             "-o", glueObject}),
                              build))
    return e;
  objects.push_back(glueObject);
  if (o.embedWeights) {
    std::string asmFile = join(build, "weights.S"), asmObject = join(build, "weights.o");
    if (llvm::Error e = writeText(asmFile, generateEmbeddedWeights(weightsFile)))
      return e;
    if (llvm::Error e = runTool(target.cc, {"-c", asmFile, "-o", asmObject}, build))
      return e;
    objects.push_back(asmObject);
  }
  std::string exportMap = join(build, "exports.map");
  if (llvm::Error e = writeText(exportMap, generateExportMap(name)))
    return e;
  // A soname, so programs linked against it by path (CMake, pkg-config)
  // record lib<name>.so and find it through their rpath.
  std::vector<std::string> args{"-shared", "-Wl,-soname,lib" + name + ".so", "-o",
                                join(o.outDir, "lib" + name + ".so")};
  args.insert(args.end(), objects.begin(), objects.end());
  // PCRE2 (the tokenizer's patterns) after the runtime, its symbols hidden.
  args.insert(args.end(), {"-Wl,--whole-archive", resources.runtimeArchive,
                           "-Wl,--no-whole-archive", resources.pcre2Archive,
                           "-Wl,--exclude-libs,libhybridc_pcre2.a",
                           "-Wl,--version-script=" + exportMap,
                           "-Wl,-z,defs", "-Wl,--gc-sections", "-lpthread", "-ldl", "-lm"});
  return runTool(target.cc, withSanitizer(target, std::move(args)), build);
}

/// The manifest `hybridc run` reads, and a summary of what was written.
llvm::Error Compilation::finish() {
  const ModelConfig &cfg = checkpoint->config();
  const std::string library = "lib" + name + ".so";
  Manifest manifest;
  manifest.name = name;
  manifest.library = library;
  manifest.header = name + ".h";
  manifest.weights = o.embedWeights ? "" : name + ".weights";
  manifest.target = target.name;
  manifest.weightsDtype = o.weightsDtype;
  manifest.matmulInputs = codegen::isBlockQuantized(weightType) ? "int8"
                          : packing.group == 2                  ? "bf16"
                                                                : "f32";
  manifest.vocabSize = cfg.vocabSize;
  manifest.hiddenSize = cfg.hiddenSize;
  manifest.numLayers = cfg.numLayers;
  llvm::Expected<ModelWork> work = computeModelWork(cfg, o.weightsDtype);
  if (!work)
    return work.takeError();
  manifest.work = *work;
  description.matmulInputs = manifest.matmulInputs;
  manifest.description = description;
  if (llvm::Error e = writeManifest(o.outDir, manifest))
    return e;
  llvm::SmallString<256> absOut(o.outDir);
  if (std::error_code ec = llvm::sys::fs::make_absolute(absOut))
    return makeError(o.outDir + ": " + ec.message());
  llvm::sys::path::remove_dots(absOut, /*remove_dot_dot=*/true);
  if (llvm::Error e = writeText(outPath(".pc"),
                                generatePkgConfig(glue, std::string(absOut), o.weightsDtype)))
    return e;

  uint64_t libBytes = 0;
  llvm::sys::fs::file_size(join(o.outDir, library), libBytes);
  log << llvm::formatv("  total     {0,9:f1} ms\n", timer.totalMs());
  log << llvm::formatv("wrote {0} ({1:f2} MiB), {2}.h", join(o.outDir, library),
                       libBytes / 1048576.0, name);
  if (!o.embedWeights)
    log << llvm::formatv(", {0}.weights ({1:f2} MiB)", name,
                         (glue.memory.weightsBytes + HYBRIDC_WEIGHTS_HEADER_BYTES) / 1048576.0);
  log << "\n";
  return llvm::Error::success();
}

} // namespace

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
  std::optional<codegen::TargetSpec> target = codegen::resolveTarget(o.target, targetError);
  if (!target)
    return makeError("--target: " + targetError);
  llvm::Expected<Resources> resources = findResources();
  if (!resources)
    return resources.takeError();
  if (llvm::Error e = selectRuntimeFor(*target, *resources))
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
  if (o.f32Activations)
    target->bf16Dot = false; // bf16 weights then widen to f32 and meet f32 activations
  llvm::StringSet<> emit;
  const std::vector<std::string> known = knownEmitKinds();
  for (const std::string &e : o.emit) {
    if (!llvm::is_contained(known, e))
      return makeError("--emit: unknown artefact '" + e + "' (known: " +
                       llvm::join(known, ", ") + ")");
    emit.insert(e);
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(o.outDir))
    return makeError(o.outDir + ": cannot create: " + ec.message());
  llvm::SmallString<128> scratch;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("hybridc-build", scratch))
    return makeError("cannot create a scratch directory: " + ec.message());
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() { llvm::sys::fs::remove_directories(dir); }
  } cleanup{std::string(scratch)};

  const bool bf16Dot = *weightType == codegen::WeightType::BF16 &&
                       codegen::linearPacking(*target, *weightType).group == 2;
  const char *intDot = target->int8Dot          ? "vpdpbusd"
                       : target->crossCompiled() ? "widening multiplies, pairs per lane"
                                                 : "vpmaddwd";
  log << "hybridc compile "
      << (o.fromMlir.empty() ? o.modelDir : "--from-mlir " + o.fromMlir + " (model " + o.modelDir + ")")
      << " -> " << o.outDir << " (name " << name
      << ", target " << target->name << (o.target == "host" ? " (host)" : "") << ", weights "
      << resolved.weightsDtype << (bf16Dot ? ", matmuls bf16 x bf16 (vdpbf16ps)" : "");
  if (codegen::isBlockQuantized(*weightType))
    log << ", matmuls " << resolved.weightsDtype << " x int8 (" << intDot << ")";
  log << (o.embedWeights ? ", embedded" : "") << ")\n";
  return Compilation(resolved, std::move(*checkpoint), name, *target, *weightType,
                     std::move(emit), std::string(scratch), std::move(*resources), resumeFrom,
                     stopAfter, log, irOut)
      .run();
}
