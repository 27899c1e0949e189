//===- LibraryOutput.cpp - weights file, glue, link and manifest ----------===//
//
// What lands in the output folder: <name>.weights (every layout the
// variants read), lib<name>.so linked from the driver and kernel objects,
// the tokenizer blob, the generated glue and the runtime archive, <name>.h, <name>.pc and the
// manifest `hybridc run`, `bench` and `inspect` read.
//
//===----------------------------------------------------------------------===//
#include "Compilation.h"
#include "TokenizerStage.h"
#include "Toolchain.h"
#include "WeightsFile.h"

#include "hybridc/Chat/ChatTemplate.h"
#include "hybridc/Support/Error.h"

#include "hybridc/Run/Manifest.h"
#include "hybridc/runtime_abi.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <chrono>

using namespace hybridc;

namespace {

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

} // namespace

llvm::Error Compilation::writeWeights() {
  // Embedded weights are assembled into the library from a scratch file.
  weightsFile = joinPath(o.embedWeights ? build : o.outDir, name + ".weights");
  std::vector<WeightsLayout> written;
  for (const WeightsLayoutPlan &l : layouts)
    written.push_back({l.offset, &l.packer->lowered.plan, l.packer->packing});
  PackProgress progress;
  if (timer.progress.enabled()) {
    const auto start = std::chrono::steady_clock::now();
    const double totalMiB = glue.payloadBytes / 1048576.0;
    progress = [this, start, totalMiB](int64_t packed) {
      const double mib = packed / 1048576.0;
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      timer.progress.show(llvm::formatv("  weights   {0:f0} of {1:f0} MiB packed ({2:f0}%), "
                                        "{3:f0} MiB/s",
                                        mib, totalMiB, totalMiB > 0 ? 100 * mib / totalMiB : 100,
                                        s > 0 ? mib / s : 0)
                              .str());
    };
  }
  llvm::Expected<uint64_t> hash = writeWeightsFile(weightsFile, *checkpoint, written,
                                                   glue.payloadBytes, weightType, name, progress);
  if (!hash)
    return hash.takeError();
  glue.modelHash = *hash;
  return llvm::Error::success();
}

/// The model's tokenizer, checked and assembled into an object the link
/// takes; the glue's descriptors then point at it (one blob for every
/// variant).
llvm::Error Compilation::embedModelTokenizer() {
  if (o.noTokenizer) {
    if (!o.chatTemplate.empty())
      return makeError("--chat-template is stored with the tokenizer, which --no-tokenizer "
                       "leaves out");
    log << "  tokenizer: left out (--no-tokenizer)\n";
    return llvm::Error::success();
  }
  llvm::Expected<std::optional<TokenizerEmbedding>> t = embedTokenizer(
      o.modelDir, checkpoint->config().vocabSize, variants.front().target, build, o.chatTemplate);
  if (!t)
    return t.takeError();
  if (!*t) {
    log << "  tokenizer: none (no tokenizer.json or tokenizer.ggml.model): token ids only\n";
    return llvm::Error::success();
  }
  log << "  tokenizer: " << (*t)->summary << "\n";
  for (TokenizerSpec::ChatTemplate &c : (*t)->chatTemplates) {
    // Stored whatever it holds (any Jinja engine may render it); a template
    // hybridc's own engine cannot parse is said now, not at `hybridc chat`.
    llvm::Expected<ChatTemplate> parsed = ChatTemplate::parse(c.text, c.name);
    if (!parsed)
      log << "  warning: hybridc chat and chat-template cannot render this template: "
          << llvm::toString(parsed.takeError()) << "\n";
    description.chatTemplates.push_back({std::move(c.name), std::move(c.text)});
  }
  description.bosToken = (*t)->bosToken;
  description.eosToken = (*t)->eosToken;
  objects.push_back((*t)->object);
  glue.tokenizerBytes = (*t)->bytes;
  return llvm::Error::success();
}

llvm::Error Compilation::link() {
  const codegen::TargetSpec &target = variants.front().target; // the machine of every variant
  const std::string &templates = resources.templatesDir;
  llvm::Expected<std::string> headerTemplate = readText(joinPath(templates, "model_api.h.in"));
  if (!headerTemplate)
    return headerTemplate.takeError();
  llvm::Expected<std::string> apiTemplate = readText(joinPath(templates, "model_api_glue.c.in"));
  if (!apiTemplate)
    return apiTemplate.takeError();
  if (llvm::Error e = writeText(outPath(".h"), generateHeader(glue, *headerTemplate)))
    return e;
  std::string glueSource = joinPath(build, "glue.c"), glueObject = joinPath(build, "glue.o");
  if (llvm::Error e = writeText(glueSource, generateGlueSource(glue, *apiTemplate)))
    return e;
  if (llvm::Error e = runTool(target.cc,
                              withSanitizer(target, {"-c", "-O2", "-fPIC", "-fvisibility=hidden",
                                                     "-I" + o.outDir, "-I" + resources.includeDir,
                                                     "-I" + resources.halideIncludeDir,
                                                     glueSource, "-o", glueObject}),
                              build))
    return e;
  objects.push_back(glueObject);
  if (o.embedWeights) {
    std::string asmFile = joinPath(build, "weights.S"), asmObject = joinPath(build, "weights.o");
    if (llvm::Error e = writeText(asmFile, generateEmbeddedWeights(weightsFile)))
      return e;
    if (llvm::Error e = runTool(target.cc, {"-c", asmFile, "-o", asmObject}, build))
      return e;
    objects.push_back(asmObject);
  }
  std::string exportMap = joinPath(build, "exports.map");
  if (llvm::Error e = writeText(exportMap, generateExportMap(name)))
    return e;
  // A soname, so programs linked against it by path (CMake, pkg-config)
  // record lib<name>.so and find it through their rpath.
  std::vector<std::string> args{"-shared", "-Wl,-soname,lib" + name + ".so", "-o",
                                joinPath(o.outDir, "lib" + name + ".so")};
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
  manifest.target = llvm::join(description.targets, ",");
  manifest.weightsDtype = o.weightsDtype;
  manifest.matmulInputs = description.matmulInputs;
  manifest.vocabSize = cfg.vocabSize;
  manifest.hiddenSize = cfg.hiddenSize;
  manifest.numLayers = cfg.numLayers;
  llvm::Expected<ModelWork> work =
      computeModelWork(cfg, o.weightsDtype, description.memory.kvDtype);
  if (!work)
    return work.takeError();
  manifest.work = *work;
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
  llvm::sys::fs::file_size(joinPath(o.outDir, library), libBytes);
  log << llvm::formatv("  total     {0,9:f1} ms\n", timer.totalMs());
  log << llvm::formatv("wrote {0} ({1:f2} MiB), {2}.h", joinPath(o.outDir, library),
                       libBytes / 1048576.0, name);
  if (!o.embedWeights)
    log << llvm::formatv(", {0}.weights ({1:f2} MiB)", name,
                         (glue.payloadBytes + HYBRIDC_WEIGHTS_HEADER_BYTES) / 1048576.0);
  log << "\n";
  return llvm::Error::success();
}
