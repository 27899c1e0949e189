//===- ImportCommand.cpp - `hybridc import DIR` ---------------------------===//
#include "Commands.h"

#include "hybridc/Import/Importer.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace hybridc;

void hybridc::addImportCommand(CLI::App &app, int &exitCode) {
  struct Options {
    std::string modelDir;
    std::string output = "-";
    bool debugInfo = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App *cmd = app.add_subcommand(
      "import", "Read a Hugging Face Granite 4.0 H folder (config.json + "
                "*.safetensors) and print the model as `hybrid` dialect IR");
  cmd->add_option("model_dir", opts->modelDir, "Model folder or .gguf file")->required();
  cmd->add_option("-o,--output", opts->output, "Write the IR here ('-' = stdout)");
  cmd->add_flag("--debug-info", opts->debugInfo,
                "Print locations (each op's checkpoint module, e.g. "
                "model.layers.3.mamba.in_proj)");
  cmd->callback([opts, &exitCode] {
    exitCode = 1;
    llvm::Expected<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::open(opts->modelDir);
    if (!ckpt) {
      reportError(ckpt.takeError());
      return;
    }
    mlir::MLIRContext context;
    auto module = importCheckpoint(context, **ckpt);
    if (!module) {
      reportError(module.takeError());
      return;
    }
    std::error_code ec;
    llvm::ToolOutputFile out(opts->output, ec, llvm::sys::fs::OF_Text);
    if (ec) {
      llvm::errs() << "hybridc: error: " << opts->output << ": " << ec.message() << "\n";
      return;
    }
    mlir::OpPrintingFlags flags;
    if (opts->debugInfo)
      flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false).useLocalScope();
    (*module)->print(out.os(), flags);
    out.os() << "\n";
    out.keep();
    exitCode = 0;
  });
}
