//===- BenchCommand.cpp - `hybridc bench OUT_DIR` -------------------------===//
//
// Prefill and decode throughput of a compiled model on a deterministic
// pseudo-random prompt, and the process's peak resident memory.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "hybridc/Run/ModelLibrary.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <sys/resource.h>

using namespace hybridc;

namespace {

struct BenchOptions {
  std::string outDir;
  int64_t prompt = 512;
  int64_t gen = 128;
  int32_t threads = 0;
  bool json = false;
};

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

llvm::Error bench(const BenchOptions &o) {
  llvm::Expected<std::unique_ptr<ModelLibrary>> lib = ModelLibrary::open(o.outDir, o.threads);
  if (!lib)
    return lib.takeError();
  ModelLibrary &m = **lib;
  const int64_t V = m.vocab();
  std::vector<int32_t> prompt(o.prompt);
  uint64_t state = 0x2545F4914F6CDD1Dull; // fixed seed: the same prompt every run
  for (int32_t &t : prompt) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    t = static_cast<int32_t>((state >> 33) % static_cast<uint64_t>(V));
  }
  std::vector<float> logits(V);

  // Warm-up: page in the weights and create the worker threads.
  if (llvm::Error e = m.prefill(prompt.data(), std::min<int64_t>(8, o.prompt), logits.data(), false))
    return e;
  if (llvm::Error e = m.reset())
    return e;

  m.profileReset();
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error e = m.prefill(prompt.data(), o.prompt, logits.data(), false))
    return e;
  double prefillSeconds = seconds(start);
  std::string prefillProfile = m.profileReport() ? m.profileReport() : "";
  m.profileReset();

  start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < o.gen; ++i) {
    int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) -
                                        logits.begin());
    if (llvm::Error e = m.decode(next, logits.data()))
      return e;
  }
  double decodeSeconds = seconds(start);
  std::string decodeProfile = m.profileReport() ? m.profileReport() : "";
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double peakMiB = usage.ru_maxrss / 1024.0;
  double prefillRate = o.prompt / prefillSeconds;
  double decodeRate = o.gen > 0 ? o.gen / decodeSeconds : 0.0;
  double stateMiB = m.stateBytes() / 1048576.0;

  if (o.json) {
    llvm::json::Object result{{"model", m.manifest().name},
                              {"target", m.manifest().target},
                              {"weights_dtype", m.manifest().weightsDtype},
                              {"threads", o.threads},
                              {"prompt_tokens", o.prompt},
                              {"generated_tokens", o.gen},
                              {"prefill_tokens_per_s", prefillRate},
                              {"decode_tokens_per_s", decodeRate},
                              {"prefill_seconds", prefillSeconds},
                              {"decode_seconds", decodeSeconds},
                              {"session_state_mib", stateMiB},
                              {"peak_rss_mib", peakMiB}};
    if (!prefillProfile.empty()) {
      result["prefill_kernel_profile"] = prefillProfile;
      result["decode_kernel_profile"] = decodeProfile;
    }
    llvm::outs() << llvm::formatv("{0:2}", llvm::json::Value(std::move(result))) << "\n";
  } else {
    llvm::outs() << llvm::formatv(
        "{0} ({1}, {2} weights, threads {3})\n"
        "  prefill  {4,6} tokens  {5,9:f3} s  {6,9:f1} tokens/s\n"
        "  decode   {7,6} tokens  {8,9:f3} s  {9,9:f1} tokens/s\n"
        "  session state {10:f2} MiB, peak RSS {11:f1} MiB\n",
        m.manifest().name, m.manifest().target, m.manifest().weightsDtype,
        o.threads ? std::to_string(o.threads) : std::string("default"), o.prompt,
        prefillSeconds, prefillRate, o.gen, decodeSeconds, decodeRate, stateMiB, peakMiB);
    if (!prefillProfile.empty())
      llvm::outs() << "prefill kernels:\n" << prefillProfile << "decode kernels:\n"
                   << decodeProfile;
  }
  return llvm::Error::success();
}

} // namespace

void hybridc::addBenchCommand(CLI::App &app, int &exitCode) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App *cmd = app.add_subcommand(
      "bench", "Measure prefill and decode tokens/s and peak memory of a compiled model");
  cmd->add_option("out_dir", opts->outDir, "Output folder of `hybridc compile`")->required();
  cmd->add_option("--prompt", opts->prompt, "Prompt tokens (one prefill call)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--gen", opts->gen, "Tokens generated with decode")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Threads (default: the library's)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", opts->json, "Print the figures as JSON");
  cmd->callback([opts, &exitCode] {
    exitCode = 0;
    if (llvm::Error e = bench(*opts)) {
      reportError(std::move(e));
      exitCode = 1;
    }
  });
}
