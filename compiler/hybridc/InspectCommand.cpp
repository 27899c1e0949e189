//===- InspectCommand.cpp - `hybridc inspect OUT_DIR [--json]` ------------===//
//
// Prints what a compiled library holds, from the description `hybridc
// compile` recorded in the output folder's manifest: the model's shape, the
// target variants, the stored type of each kind of tensor, the memory plan,
// each kernel with its sizes and callers, and the pass pipeline.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "hybridc/Run/Manifest.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>

using namespace hybridc;

namespace {

struct InspectOptions {
  std::string outDir;
  bool json = false;
};

llvm::Error inspect(const InspectOptions &o) {
  llvm::Expected<Manifest> m = readManifest(o.outDir);
  if (!m)
    return m.takeError();
  if (!m->description)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "%s: %s has no description (compiled by an older hybridc; recompile to inspect it)",
        o.outDir.c_str(), kManifestFileName);
  if (o.json) {
    llvm::json::Object out = descriptionToJson(*m->description);
    out["name"] = m->name;
    out["library"] = m->library;
    out["header"] = m->header;
    out["weights"] = m->weights.empty() ? llvm::json::Value(nullptr)
                                        : llvm::json::Value(m->weights);
    llvm::outs() << llvm::formatv("{0:2}", llvm::json::Value(std::move(out))) << "\n";
    return llvm::Error::success();
  }
  llvm::outs() << "library: " << m->library << ", header " << m->header << ", weights "
               << (m->weights.empty() ? std::string("embedded") : m->weights) << "\n"
               << describeLibrary(*m->description, m->name);
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
  cmd->callback([opts, &exitCode] {
    exitCode = 0;
    if (llvm::Error e = inspect(*opts)) {
      reportError(std::move(e));
      exitCode = 1;
    }
  });
}
