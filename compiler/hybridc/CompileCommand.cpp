//===- CompileCommand.cpp - `hybridc compile MODEL_DIR -o OUT_DIR` --------===//
#include "Commands.h"
#include "OptionChecks.h"

#include "hybridc/Codegen/KernelSpec.h"
#include "hybridc/Compile/ModelCompiler.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <unistd.h>

using namespace hybridc;

namespace {

/// Each entry of a comma-separated --target must be a known target; the
/// list as a whole (duplicates, machines) is checked by compileModel.
CLI::Validator targetListValidator() {
  return CLI::Validator(
      [](std::string &value) -> std::string {
        const std::vector<std::string> known = codegen::knownTargets();
        std::string all;
        for (const std::string &k : known)
          all += (all.empty() ? "" : ",") + k;
        llvm::SmallVector<llvm::StringRef> entries;
        llvm::StringRef(value).split(entries, ',');
        for (llvm::StringRef e : entries)
          if (!llvm::is_contained(known, e.str()))
            return (e.empty() ? std::string("an empty entry") : e.str()) + " not in {" + all +
                   "}";
        return "";
      },
      "TARGET[,TARGET...]");
}

} // namespace

void hybridc::addCompileCommand(CLI::App &app, int &exitCode) {
  auto opts = std::make_shared<CompileOptions>();
  CLI::App *cmd = app.add_subcommand(
      "compile", "Compile a Granite 4.0 H folder into lib<name>.so + <name>.h + "
                 "<name>.weights (a standalone streaming library)");
  cmd->add_option("model_dir", opts->modelDir,
                  "Hugging Face model folder, or a granitehybrid .gguf file (not with "
                  "--from-mlir)");
  cmd->add_option("-o,--output", opts->outDir, "Output folder (created)")->required();
  cmd->add_option("--name", opts->name,
                  "C prefix of every exported symbol (default: the model folder's name)");
  cmd->add_option("--target", opts->target,
                  "CPU to compile for (host: the best of the named targets this CPU runs); "
                  "a comma list of x86-64 targets builds one library holding a variant for "
                  "each, the best this CPU runs chosen when the model is opened "
                  "(HYBRIDC_CPU=<target> forces one)")
      ->check(targetListValidator())
      ->capture_default_str();
  cmd->add_option("--weights-dtype", opts->weightsDtype,
                  "Storage of matmul/embedding weights (f32 accumulation and SSM state "
                  "always; int8 / int4: symmetric blocks of 32 with a scale each). "
                  "Default: f32, or for a GGUF file with quantized tensors int4 (mostly "
                  "Q4_0) or int8")
      ->check(CLI::IsMember(codegen::weightTypeNames()));
  cmd->add_option("--kv-dtype", opts->kvDtype,
                  "Element type of the attention layers' KV cache: f32, bf16 (rounded to "
                  "nearest even) or int8 (symmetric blocks of 32 head dims with an f32 scale "
                  "each, quantized once when a row is written). Default: bf16, except f32 "
                  "when the weights are f32")
      ->check(CLI::IsMember({"f32", "bf16", "int8"}));
  cmd->add_flag("--f32-activations", opts->f32Activations,
                "bf16 weights on x86-64-avx512-bf16: widen the weights and keep the "
                "matmuls' activations f32 (exact products) instead of rounding the "
                "activations to bf16 for vdpbf16ps (about twice the matmul speed)");
  cmd->add_option("--prefill-chunk", opts->prefillTokens,
                  "Tokens per prefill call: longer prompts run in calls of this many; "
                  "more tokens per call reuse each weight more (memory grows with it)")
      ->check(wholeNumber("the tokens per prefill call", 1, int64_t(1) << 20))
      ->capture_default_str();
  cmd->add_flag("--embed-weights", opts->embedWeights,
                "Put the packed weights inside the .so instead of <name>.weights");
  cmd->add_flag("--no-tokenizer", opts->noTokenizer,
                "Leave the model's tokenizer (tokenizer.json, GGUF tokenizer.ggml.*) out: the "
                "library then speaks token ids only");
  cmd->add_option("--chat-template", opts->chatTemplate,
                  "A Jinja chat template file stored as the library's default chat template "
                  "(P_chat_template), instead of the one the model's tokenizer_config.json or "
                  "GGUF file ships")
      ->check(CLI::ExistingFile);
  auto quiet = std::make_shared<bool>(false);
  cmd->add_flag("--quiet", *quiet,
                "Print nothing but errors (no stage lines; no progress line, which is "
                "shown only on a terminal anyway)");
  cmd->add_flag("--profile", opts->profile,
                "Time every kernel call; `hybridc bench` then prints where the time goes");
  cmd->add_flag("--print-ir-after-all", opts->printIrAfterAll,
                "Print the module (to stderr) after import and after every pass");
  cmd->add_option("--print-ir-after", opts->printIrAfter,
                  "Print the module after the named passes (e.g. import, "
                  "hybrid-lower-to-kernels, convert-func-to-llvm)")
      ->delimiter(',');
  cmd->add_option("--emit", opts->emit,
                  "Extra artefacts in the output folder: hybrid (IR after import), lowered "
                  "(kernel-level MLIR), llvm-dialect, llvm (.ll), asm (.s), stmt (each "
                  "kernel's Halide statement), stmt_html (the same as Halide's HTML view)")
      ->delimiter(',')
      ->check(CLI::IsMember(knownEmitKinds()));
  cmd->add_option("--compile-to", opts->compileTo,
                  "Stop after this phase and write its module: hybrid (<name>.hybrid.mlir), "
                  "lowered (<name>.lowered.mlir) or llvm-dialect (<name>.llvm.mlir)")
      ->check(CLI::IsMember(knownPhases()));
  cmd->add_option("--from-mlir", opts->fromMlir,
                  "Go on from a module --compile-to or --emit wrote (perhaps edited); the "
                  "weights come from the model folder recorded in it")
      ->check(CLI::ExistingFile);
  cmd->callback([opts, quiet, &exitCode, cmd] {
    // The recorded options of a phase file are the ones its phases used.
    const bool resume = !opts->fromMlir.empty();
    std::string conflict;
    if (resume == !opts->modelDir.empty())
      conflict = resume ? "give either MODEL_DIR or --from-mlir, not both"
                        : "MODEL_DIR (or --from-mlir FILE) is required";
    for (const char *flag :
         {"--target", "--weights-dtype", "--kv-dtype", "--f32-activations", "--prefill-chunk"})
      if (resume && conflict.empty() && cmd->count(flag))
        conflict = std::string(flag) + ": a --from-mlir compile uses the one recorded in " +
                   opts->fromMlir;
    if (!conflict.empty()) {
      reportError(llvm::createStringError(llvm::inconvertibleErrorCode(), conflict));
      exitCode = 1;
      return;
    }
    opts->progress = !*quiet && ::isatty(STDERR_FILENO);
    if (llvm::Error e = compileModel(*opts, *quiet ? llvm::nulls() : llvm::outs(), llvm::errs())) {
      reportError(std::move(e));
      exitCode = 1;
      return;
    }
    exitCode = 0;
  });
}
