//===- ImportAndLower.cpp - the MLIR stages of `hybridc compile` ----------===//
//
// import (or load a phase file), then for each CPU variant: its pass
// pipelines (lower, to-llvm) and what its lowering decided, read once into
// a LoweredModel. Also the summary lines the log prints about the weights.
//
//===----------------------------------------------------------------------===//
#include "Compilation.h"
#include "LibraryFacts.h"

#include "hybridc/Support/Error.h"

#include "hybridc/Codegen/Passes.h"
#include "hybridc/Codegen/WeightLayouts.h"
#include "hybridc/Import/Importer.h"
#include "hybridc/runtime_abi.h"

#include "hybrid/HybridPasses.h"

#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <map>

using namespace hybridc;
using namespace mlir;

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

/// Configures IR printing after the passes the user asked for.
void configureIRPrinting(PassManager &pm, const CompileOptions &o,
                         llvm::StringSet<> &seenPasses, llvm::raw_ostream &out) {
  for (Pass &p : pm.getPasses())
    seenPasses.insert(p.getArgument());
  if (!o.printIrAfterAll && o.printIrAfter.empty())
    return;
  llvm::StringSet<> wanted;
  for (const std::string &p : o.printIrAfter)
    wanted.insert(p);
  bool all = o.printIrAfterAll;
  pm.enableIRPrinting(
      [](Pass *, Operation *) { return false; },
      [all, wanted](Pass *p, Operation *) { return all || wanted.count(p->getArgument()); },
      /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false,
      /*printAfterOnlyOnFailure=*/false, out);
}

} // namespace

llvm::Error Compilation::importModel() {
  if (checkpoint->isGguf())
    describeGgufTypes();
  auto imported = importCheckpoint(context, *checkpoint, *hybrid::symbolizeKvDtype(o.kvDtype));
  if (!imported)
    return imported.takeError();
  module = std::move(*imported);
  // What a compile resumed from a phase file needs (PhaseFile.h).
  llvm::SmallString<256> model(o.modelDir);
  if (std::error_code ec = llvm::sys::fs::make_absolute(model))
    return makeError(o.modelDir + ": " + ec.message());
  llvm::sys::path::remove_dots(model, /*remove_dot_dot=*/true);
  std::vector<std::string> targets;
  for (const Variant &v : variants)
    targets.push_back(v.target.name);
  recordCompile(*module, {std::string(model), llvm::join(targets, ","), o.weightsDtype,
                          o.f32Activations, o.prefillTokens});
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
  for (const Variant &v : variants) {
    const std::string file =
        phase == Phase::Hybrid ? outPath(phaseSuffix(phase)) : variantPath(v, phaseSuffix(phase));
    log << "stopped after " << phaseName(phase) << ": wrote " << file
        << " (go on with: hybridc compile --from-mlir " << file << " -o OUT_DIR)\n";
    if (phase == Phase::Hybrid)
      break; // one module for every variant
  }
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
  // The passes that run in this compile; a resumed one starts from its file.
  description.pipeline = {resumeFrom ? "from-mlir (" + std::string(phaseName(*resumeFrom)) + ")"
                                     : std::string("import")};
  description.pipelineText.clear();
  llvm::StringSet<> passNames{"import"};
  for (Variant &v : variants) {
    // One variant lowers the module itself; several lower a copy each,
    // recorded as that variant's compile (its phase files resume alone).
    if (variants.size() == 1) {
      v.module = std::move(module);
    } else {
      v.module = module->clone();
      recordTarget(*v.module, v.target.name);
    }
    v.lowerPM = std::make_unique<PassManager>(&context, ModuleOp::getOperationName());
    v.llvmPM = std::make_unique<PassManager>(&context, ModuleOp::getOperationName());
    v.lowerPM->addPass(createCanonicalizerPass());
    v.lowerPM->addPass(hybrid::createPlanStatePass());
    LowerToKernelsOptions lowerOptions;
    lowerOptions.weightType = codegen::weightTypeAttrOf(weightType);
    lowerOptions.lanes = v.packing.lanes;
    lowerOptions.inputGroup = v.packing.group;
    lowerOptions.chunkTokens = checkpoint->config().mambaChunkSize;
    lowerOptions.prefillTokens = o.prefillTokens;
    lowerOptions.symbolSuffix = v.suffix;
    v.lowerPM->addPass(createLowerToKernels(lowerOptions));
    addLowerToLLVMPasses(*v.llvmPM);
    // inspect lists the first variant's passes; the others differ only in
    // the lowering's packing and symbol suffix.
    if (&v == &variants.front())
      for (auto [pm, result] : {std::pair{v.lowerPM.get(), Phase::Lowered},
                                std::pair{v.llvmPM.get(), Phase::LlvmDialect}})
        if (!resumedPast(result)) {
          appendPassNames(*pm, description.pipeline);
          description.pipelineText.push_back(pipelineText(*pm));
        }
    configureIRPrinting(*v.lowerPM, o, passNames, irOut);
    configureIRPrinting(*v.llvmPM, o, passNames, irOut);
  }
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
llvm::Error Compilation::runPipeline(Variant &v, llvm::StringRef stage, const std::string &what,
                                     PassManager &pm, Phase phase) {
  if (llvm::Error e = timer.run(stage, what, [&]() -> llvm::Error {
        if (failed(pm.run(*v.module)))
          return diagnostics.error("stage '" + stage + "' failed" + variantNote(v));
        return llvm::Error::success();
      }))
    return e;
  if (!emit.count(phaseName(phase)))
    return llvm::Error::success();
  return writeText(variantPath(v, phaseSuffix(phase)), toText(*v.module));
}

/// Reads what each variant's lowering decided (kernels, weight layout,
/// buffer sizes), then what the glue, the weights file and `hybridc
/// inspect` need of the library as a whole.
llvm::Error Compilation::describeModel() {
  const ModelConfig &cfg = checkpoint->config();
  for (Variant &v : variants) {
    llvm::Expected<LoweredModel> lowered = readLoweredModel(*v.module, weightType, v.packing);
    if (!lowered)
      return lowered.takeError();
    v.lowered = std::move(*lowered);
  }
  // Variants share the session state, so a session saved under one loads
  // under another: the lowerings must agree on its layout.
  const MemoryPlan &first = variants.front().lowered.memory;
  for (const Variant &v : variants) {
    const MemoryPlan &m = v.lowered.memory;
    if (m.stateBytes != first.stateBytes || m.kvSegments != first.kvSegments ||
        m.kvRowBytes != first.kvRowBytes || m.kvDtype != first.kvDtype ||
        m.kvHeads != first.kvHeads || m.kvHeadDim != first.kvHeadDim ||
        m.maxChunkTokens != first.maxChunkTokens)
      return makeError("variant " + v.target.name + " plans the session state differently from " +
                       variants.front().target.name + " (a lowering bug)");
  }
  // One layout per distinct packing, in variant order, page-aligned.
  layouts.clear();
  int64_t payload = 0;
  for (Variant &v : variants) {
    auto same = llvm::find_if(layouts, [&](const WeightsLayoutPlan &l) {
      const LoweredModel &w = l.packer->lowered;
      return w.packing.lanes == v.packing.lanes && w.packing.group == v.packing.group &&
             w.memory.weightsBytes == v.lowered.memory.weightsBytes &&
             std::equal(w.plan.begin(), w.plan.end(), v.lowered.plan.begin(),
                        v.lowered.plan.end(), [](const PackedWeight &a, const PackedWeight &b) {
                          return a.tensor == b.tensor && a.layout == b.layout &&
                                 a.offset == b.offset && a.bytes == b.bytes;
                        });
    });
    if (same != layouts.end()) {
      v.layout = size_t(same - layouts.begin());
      continue;
    }
    v.layout = layouts.size();
    layouts.push_back({payload, v.lowered.memory.weightsBytes, &v});
    payload = (payload + v.lowered.memory.weightsBytes + HYBRIDC_WEIGHTS_LAYOUT_ALIGN - 1) /
              HYBRIDC_WEIGHTS_LAYOUT_ALIGN * HYBRIDC_WEIGHTS_LAYOUT_ALIGN;
  }
  // The last layout ends the payload (no padding after it).
  glue.payloadBytes = layouts.back().offset + layouts.back().bytes;
  describeWeightTypes();

  glue.name = name;
  glue.embeddedWeights = o.embedWeights;
  glue.profile = o.profile;
  glue.vocabSize = cfg.vocabSize;
  glue.hiddenSize = cfg.hiddenSize;
  glue.numLayers = cfg.numLayers;
  glue.mambaLayers = cfg.countLayers(LayerKind::Mamba);
  glue.attentionLayers = cfg.countLayers(LayerKind::Attention);
  description.model = modelFacts(cfg);
  description.targets.clear();
  description.variants.clear();
  description.kernels.clear();
  description.weightsDtype = o.weightsDtype;
  description.tensorKinds = tensorKinds(variants.front().lowered.plan, weightType);
  description.memory = first;
  description.memory.weightsBytes = glue.payloadBytes;
  for (const Variant &v : variants) {
    const LoweredModel &l = v.lowered;
    VariantGlue vg;
    vg.target = v.target.name;
    vg.suffix = l.symbolSuffix;
    vg.memory = l.memory;
    vg.weightsOffset = layouts[v.layout].offset;
    glue.variants.push_back(vg);
    for (const KernelJob &k : l.kernels)
      glue.kernels.push_back(k.signature);
    description.targets.push_back(v.target.name);
    const std::string matmulInputs = codegen::isBlockQuantized(weightType) ? "int8"
                                     : v.packing.group == 2                ? "bf16"
                                                                           : "f32";
    description.variants.push_back(
        {v.target.name, matmulInputs, vg.weightsOffset, l.memory.weightsBytes});
    for (const KernelJob &k : l.kernels) {
      description.kernels.push_back(k.use);
      description.kernels.back().target = v.target.name;
    }
    // A call allocates the workspace of the variant that runs it: the
    // description gives the largest.
    description.memory.workspaceFixedBytes =
        std::max(description.memory.workspaceFixedBytes, l.memory.workspaceFixedBytes);
    description.memory.workspaceBytesPerToken =
        std::max(description.memory.workspaceBytesPerToken, l.memory.workspaceBytesPerToken);
  }
  description.matmulInputs = description.variants.front().matmulInputs;
  return llvm::Error::success();
}

/// Which tensors are stored in which type, from the weight plan's layouts.
void Compilation::describeWeightTypes() {
  using hybrid::WeightLayout;
  int matrices = 0, table = 0, f32 = 0, int8 = 0;
  for (const PackedWeight &w : variants.front().lowered.plan) {
    switch (w.layout) {
    case WeightLayout::linear:
    case WeightLayout::experts:
      ++matrices;
      break;
    case WeightLayout::linear_int8:
      ++int8;
      break;
    case WeightLayout::plain:
      ++table;
      break;
    case WeightLayout::f32:
    case WeightLayout::linear_f32:
      ++f32;
      break;
    case WeightLayout::linear_scales:
    case WeightLayout::linear_int8_scales:
    case WeightLayout::experts_scales:
      break; // a matrix's scales, counted with it
    }
  }
  const bool blocks = codegen::isBlockQuantized(weightType);
  log << "  stored: " << matrices << " matrices " << o.weightsDtype
      << (blocks ? " (blocks of 32, an f32 scale each)" : "");
  if (int8)
    log << ", " << int8 << " int8 (lm_head, attention K/V, tensors a GGUF file holds in 5 "
        << "bits or more)";
  if (table)
    log << ", embedding table "
        << codegen::weightTypeName(codegen::storedElement(WeightLayout::plain, weightType));
  log << ", " << f32 << " tensors f32 (norms, conv, SSM parameters, biases, router)\n";
  if (variants.size() > 1) {
    log << "  layouts:";
    for (const WeightsLayoutPlan &l : layouts) {
      std::vector<std::string> readers;
      for (const Variant &v : variants)
        if (&layouts[v.layout] == &l)
          readers.push_back(v.target.name);
      log << llvm::formatv(" {0} ({1} lanes x {2}, {3:f1} MiB at {4})", llvm::join(readers, " + "),
                           l.packer->packing.lanes, l.packer->packing.group,
                           l.bytes / 1048576.0, l.offset)
          << (&l == &layouts.back() ? "\n" : ";");
    }
  }
}
