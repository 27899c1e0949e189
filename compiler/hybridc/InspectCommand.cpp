//===- InspectCommand.cpp - `hybridc inspect OUT_DIR [--json]` ------------===//
//
// Prints what a compiled library holds, from the description `hybridc
// compile` recorded in the output folder's manifest: the model's shape, the
// target variants, the stored type of each kind of tensor, the memory plan,
// each kernel with its sizes and callers, and the pass pipeline. With
// --context N, also the memory one session holds after N tokens, term by
// term, and the weights this CPU's variant maps: what a context costs,
// known before a long prompt runs out of memory.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "OptionChecks.h"
#include "hybridc/Run/Manifest.h"
#include "hybridc/Support/Error.h"
#include "hybridc/cpu_check.h"
#include "hybridc/runtime_abi.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <memory>
#include <optional>

using namespace hybridc;

namespace {

struct InspectOptions {
  std::string outDir;
  bool json = false;
  int64_t context = 0; // 0: not asked
  int64_t checkpointInterval = 0;
  std::optional<std::string> chatTemplate; // --chat-template NAME: print its text
};

/// The weights a session's model maps and reads: the layout of the variant
/// the runtime opens on this CPU (runtime/src/Variants.cpp), or the whole
/// payload when there is one variant.
struct MappedWeights {
  int64_t bytes = 0;
  std::string variant; // its target
  std::string why;     // how it was chosen, for the text
};

MappedWeights weightsAsMapped(const LibraryDescription &d) {
  if (d.variants.size() <= 1)
    return {d.memory.weightsBytes, d.targets.empty() ? "" : d.targets.front(),
            "the whole payload"};
  // As hybridc_rt_choose_variant: HYBRIDC_CPU when it names a variant this
  // CPU runs (model_open refuses any other), else the highest level it runs.
  const char *forced = getenv(HYBRIDC_CPU_ENV);
  const VariantFacts *best = nullptr;
  for (const VariantFacts &v : d.variants) {
    if (hybridc_cpu_missing_feature(v.target.c_str()))
      continue;
    if (forced && *forced && v.target == forced)
      return {v.weightsBytes, v.target,
              "the " + v.target + " variant's layout, which " HYBRIDC_CPU_ENV " picks"};
    if (!best ||
        hybridc_target_level(v.target.c_str()) > hybridc_target_level(best->target.c_str()))
      best = &v;
  }
  if (best)
    return {best->weightsBytes, best->target,
            "the " + best->target + " variant's layout, the one this CPU runs"};
  // A library for another machine: what the largest variant would map.
  const VariantFacts *largest = &d.variants.front();
  for (const VariantFacts &v : d.variants)
    if (v.weightsBytes > largest->weightsBytes)
      largest = &v;
  return {largest->weightsBytes, largest->target,
          "the " + largest->target + " variant's layout, the largest: this CPU runs none"};
}

std::string mib(int64_t bytes) { return llvm::formatv("{0:f2} MiB", bytes / 1048576.0).str(); }

/// The lines --context adds to the text.
std::string describeContext(const LibraryDescription &d, const SessionMemory &s,
                            const MappedWeights &w) {
  std::string out = llvm::formatv("one session at a context of {0} tokens:\n", s.tokens).str();
  out += describeSessionMemory(s, d.memory);
  out += llvm::formatv("  weights_as_mapped     {0,14} ({1}; {2})\n", w.bytes, mib(w.bytes), w.why)
             .str();
  out += llvm::formatv("  session_and_weights   {0,14} ({1})\n", s.total() + w.bytes,
                       mib(s.total() + w.bytes))
             .str();
  return out;
}

/// The keys --context adds to the JSON.
void addContext(llvm::json::Object &out, const SessionMemory &s, const MappedWeights &w) {
  out["context"] = s.tokens;
  out["session_bytes_at_context"] = s.total();
  out["session_at_context"] = sessionMemoryToJson(s);
  out["weights_as_mapped_bytes"] = w.bytes;
  out["weights_as_mapped_variant"] = w.variant;
}

/// A whole number of at least `least`; otherwise `what`, with the value,
/// as the error (CLI11 prefixes the option's name). Checked before CLI11's
/// own conversion so its "Value -5 not in range ..." never shows.
llvm::Error inspect(const InspectOptions &o) {
  llvm::Expected<Manifest> m = readManifest(o.outDir);
  if (!m)
    return m.takeError();
  if (!m->description)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "%s: %s has no description (compiled by an older hybridc; recompile to inspect it)",
        o.outDir.c_str(), kManifestFileName);
  const LibraryDescription &d = *m->description;
  if (o.chatTemplate) {
    std::string names;
    for (const ChatTemplateFacts &t : d.chatTemplates) {
      if (t.name == *o.chatTemplate) {
        llvm::outs() << t.text; // exactly, nothing added
        return llvm::Error::success();
      }
      names += (names.empty() ? "'" : ", '") + t.name + "'";
    }
    return makeError(o.outDir + ": no chat template named '" + *o.chatTemplate + "' (" +
                     (names.empty() ? std::string("the library has none")
                                    : "the library has " + names) +
                     ")");
  }
  const SessionMemory session = d.memory.sessionAt(o.context, o.checkpointInterval);
  const MappedWeights weights = weightsAsMapped(d);
  if (o.json) {
    llvm::json::Object out = descriptionToJson(d);
    out["name"] = m->name;
    out["library"] = m->library;
    out["header"] = m->header;
    out["weights"] = m->weights.empty() ? llvm::json::Value(nullptr)
                                        : llvm::json::Value(m->weights);
    if (o.context > 0)
      addContext(out, session, weights);
    llvm::outs() << llvm::formatv("{0:2}", llvm::json::Value(std::move(out))) << "\n";
    return llvm::Error::success();
  }
  llvm::outs() << "library: " << m->library << ", header " << m->header << ", weights "
               << (m->weights.empty() ? std::string("embedded") : m->weights) << "\n"
               << describeLibrary(d, m->name);
  if (o.context > 0)
    llvm::outs() << describeContext(d, session, weights);
  return llvm::Error::success();
}

} // namespace

void hybridc::addInspectCommand(CLI::App &app, int &exitCode) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App *cmd = app.add_subcommand(
      "inspect", "Show what a compiled library holds: model, targets, weight types, memory "
                 "plan, kernels and the layers that use them, pass pipeline");
  cmd->add_option("out_dir", opts->outDir, "Output folder of `hybridc compile`")->required();
  cmd->add_flag("--json", opts->json, "Print it as JSON");
  CLI::Option *context =
      cmd->add_option("--context", opts->context,
                      "Also print what one session holds after this many tokens (state "
                      "copies, KV cache, token history, checkpoints, workspace) and the "
                      "weights this CPU's variant maps")
          ->check(wholeNumber("the context in tokens", 1));
  cmd->add_option("--checkpoint-interval", opts->checkpointInterval,
                  "With --context: the session keeps a state every this many tokens "
                  "(set_checkpoint_interval; 0: none)")
      ->check(wholeNumber("the checkpoint interval in tokens", 0))
      ->needs(context)
      ->capture_default_str();
  cmd->add_option("--chat-template", opts->chatTemplate,
                  "Print the text of the library's chat template of this name (e.g. default) "
                  "exactly, and nothing else")
      ->excludes("--json")
      ->excludes(context);
  cmd->callback([opts, &exitCode] {
    exitCode = 0;
    if (llvm::Error e = inspect(*opts)) {
      reportError(std::move(e));
      exitCode = 1;
    }
  });
}
