//===- hybridc.cpp - the hybridc command line ------------------------------===//
//
// hybridc import  : checkpoint -> `hybrid` IR
// hybridc compile : checkpoint -> lib<name>.so + <name>.h + <name>.weights
// hybridc run     : stream tokens through a compiled library
// hybridc bench   : its prefill / decode throughput
// hybridc verify  : its weights against their hash (header and library)
// hybridc tokenize: text <-> ids with a model's tokenizer
// hybridc chat-template: a conversation -> the prompt, with the model's chat template
// hybridc chat   : a conversation in the terminal (or a pipe) with a compiled model
//
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "llvm/Support/raw_ostream.h"

void hybridc::reportError(llvm::Error error) {
  llvm::handleAllErrors(std::move(error), [](const llvm::ErrorInfoBase &e) {
    llvm::errs() << "hybridc: error: " << e.message() << "\n";
  });
}

int main(int argc, char **argv) {
  CLI::App app{"hybridc: ahead-of-time compiler for hybrid state-space language "
               "models (IBM Granite 4.0 H: Mamba2 + NoPE attention + MoE)"};
  app.set_version_flag("--version", "hybridc 0.1.0 (MLIR/LLVM 19, Halide 14)");
  app.require_subcommand(1);
  int exitCode = 0;
  hybridc::addImportCommand(app, exitCode);
  hybridc::addCompileCommand(app, exitCode);
  hybridc::addRunCommand(app, exitCode);
  hybridc::addBenchCommand(app, exitCode);
  hybridc::addVerifyCommand(app, exitCode);
  hybridc::addInspectCommand(app, exitCode);
  hybridc::addTokenizeCommand(app, exitCode);
  hybridc::addChatTemplateCommand(app, exitCode);
  hybridc::addChatCommand(app, exitCode);
  hybridc::addServeCommand(app, exitCode);
  CLI11_PARSE(app, argc, argv);
  return exitCode;
}
