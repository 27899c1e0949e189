//===- BenchCommand.cpp - `hybridc bench OUT_DIR` -------------------------===//
//
// Prefill and decode throughput of a compiled model on a deterministic
// pseudo-random prompt, and the process's peak resident memory beside what
// the memory plan (LibraryDescription.h) says it should be; with the
// machine's limits measured first, the throughput as a fraction of them.
// A long prompt is prefilled in slices, each reporting the rate so far, so
// a run that cannot finish still says how fast it went.
// With --tokenize FILE, the tokenizer's speed instead (BenchTokenize.cpp).
//
//===----------------------------------------------------------------------===//
#include "BenchRoofline.h"
#include "BenchTokenize.h"
#include "Commands.h"
#include "OptionChecks.h"
#include "hybridc/Run/MachineLimits.h"
#include "hybridc/Run/ModelLibrary.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include "hybridc/kv_layout.h"
#include "hybridc/runtime_abi.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

using namespace hybridc;

namespace {

struct BenchOptions {
  std::string outDir;
  int64_t prompt = 512;
  int64_t gen = 128;
  int32_t threads = 0;
  bool json = false;
  bool noLimits = false;
  int64_t probeMiB = 1024;
  int64_t batch = 0; // streams of decode_batch (0: not measured)
  std::string tokenize; // a text file: measure the tokenizer instead
  bool progress = false; // report long prefills' slices even when stderr is a pipe
  std::string loadState; // start from this saved session instead of a prefill
};

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// A prompt longer than this is prefilled in slices of kPrefillSlice tokens
// (one session throughout, so the result is the same), each reporting its
// progress: at 100 tok/s a 128k prompt is 20 minutes of silence otherwise.
constexpr int64_t kSlicedPromptAbove = 16384, kPrefillSlice = 8192;

/// This process's resident memory (VmRSS of /proc/self/status) in bytes, or
/// -1 where it cannot be read.
int64_t residentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoll(line.substr(6)) * 1024; // "VmRSS:   1234 kB"
  return -1;
}

/// What the plan says the bench's process holds at its peak: the resident
/// memory before the library was opened, the running variant's weights as
/// mapped (its layout and the file's header page) and the session after
/// prompt + gen tokens, with --batch one more per stream (a fork of it, fed
/// gen tokens, sharing the lead's workspace).
struct PlannedRss {
  int64_t baseline = 0, weights = 0, session = 0, streams = 0;
  int64_t total() const { return baseline + weights + session + streams; }
};

PlannedRss planRss(const LibraryDescription &d, const std::string &variant, bool weightsFile,
                   int64_t baseline, const BenchOptions &o) {
  PlannedRss p;
  p.baseline = baseline;
  const VariantFacts *v = d.variant(variant);
  p.weights = (v ? v->weightsBytes : d.memory.weightsBytes) +
              (weightsFile ? int64_t(HYBRIDC_WEIGHTS_HEADER_BYTES) : 0);
  const SessionMemory lead = d.memory.sessionAt(o.prompt + o.gen);
  p.session = lead.total();
  if (o.batch > 0) {
    // The lead's workspace grows to the batch's calls if those are larger.
    const int64_t batchWorkspace = d.memory.sessionAt(o.batch).workspaceBytes;
    p.session += std::max<int64_t>(0, batchWorkspace - lead.workspaceBytes);
    p.streams = o.batch * (lead.total() - lead.workspaceBytes);
  }
  return p;
}

/// Prefills the prompt, in slices when it is long; with `progress`, one
/// line per slice on stderr: tokens done, the rate so far, the time left.
llvm::Error prefillPrompt(ModelLibrary &m, const std::vector<int32_t> &prompt, float *logits,
                          bool progress) {
  const int64_t n = static_cast<int64_t>(prompt.size());
  const int64_t slice = n > kSlicedPromptAbove ? kPrefillSlice : n;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t done = 0; done < n;) {
    const int64_t count = std::min(slice, n - done);
    if (llvm::Error e = m.prefill(prompt.data() + done, count, logits, false))
      return e;
    done += count;
    if (progress && slice < n) {
      const double elapsed = seconds(start), rate = done / elapsed;
      llvm::errs() << llvm::formatv("prefill {0}/{1} tokens, {2:f1} tok/s so far, {3:f0} s left\n",
                                    done, n, rate, (n - done) / rate);
    }
  }
  return llvm::Error::success();
}

llvm::json::Value optionalNumber(const std::optional<double> &v) {
  return v ? llvm::json::Value(*v) : llvm::json::Value(nullptr);
}

llvm::json::Value limitsToJson(const std::optional<MachineLimits> &l) {
  if (!l)
    return nullptr;
  return llvm::json::Object{{"threads", l->threads},
                            {"read_gb_per_s", l->readGBPerS},
                            {"fp32_gflops", l->fp32Gflops},
                            {"fp32_avx2_gflops", optionalNumber(l->fp32Avx2Gflops)},
                            {"bf16_gflops", optionalNumber(l->bf16Gflops)},
                            {"int8_gops", optionalNumber(l->int8Gops)},
                            {"int8_madd_gops", optionalNumber(l->int8MaddGops)},
                            {"int8_madd_avx2_gops", optionalNumber(l->int8MaddAvx2Gops)}};
}

std::string describeLimits(const std::optional<MachineLimits> &l) {
  if (!l)
    return "machine limits: not measured (--no-limits)\n";
  auto optional = [](const std::optional<double> &v, const char *unit) {
    return v ? llvm::formatv("{0:f1} {1}", *v, unit).str() : std::string("absent");
  };
  auto avx2 = [](const std::optional<double> &v) {
    return v ? llvm::formatv(" (avx2 {0:f1})", *v).str() : std::string();
  };
  return llvm::formatv("machine limits, threads {0}: read {1:f1} GB/s, fp32 {2:f1} GFLOP/s{5}, "
                       "bf16 dot {3}, int8 dot {4}, int8 madd {6}{7}\n",
                       l->threads, l->readGBPerS, l->fp32Gflops,
                       optional(l->bf16Gflops, "GFLOP/s"), optional(l->int8Gops, "GOP/s"),
                       avx2(l->fp32Avx2Gflops), optional(l->int8MaddGops, "GOP/s"),
                       avx2(l->int8MaddAvx2Gops))
      .str();
}

/// `, planned 1234.5 MiB (...), measured/planned 1.02` after the peak RSS.
std::string describePlanned(const PlannedRss &p, double peakMiB) {
  auto mib = [](int64_t bytes) { return bytes / 1048576.0; };
  std::string out =
      llvm::formatv(", planned {0:f1} MiB (baseline {1:f1} + weights as mapped {2:f1} + "
                    "session {3:f1}",
                    mib(p.total()), mib(p.baseline), mib(p.weights), mib(p.session))
          .str();
  if (p.streams > 0)
    out += llvm::formatv(" + batch streams {0:f1}", mib(p.streams)).str();
  return out + llvm::formatv("), measured/planned {0:f2}", peakMiB / mib(p.total())).str();
}

std::string percent(double fraction) {
  return llvm::formatv("{0:f0}%", fraction * 100).str();
}

/// `prefill 512: 612.0 tok/s, 137.0 GFLOP/s = 58% of fp32 peak` and the
/// matching decode line; a figure that cannot be computed is left out.
std::string describeRoofline(const Roofline &r, const BenchTimes &t, double prefillRate,
                             double decodeRate) {
  std::string out;
  if (t.prefillSeconds > 0) {
    out = llvm::formatv("prefill {0}: {1:f1} tok/s", t.promptTokens, prefillRate);
    if (r.prefillGflops)
      out += llvm::formatv(", {0:f1} GFLOP/s", *r.prefillGflops).str();
    if (r.prefillFraction)
      out += " = " + percent(*r.prefillFraction) + " of " + r.peakUsed + " peak";
    out += "\n";
  }
  if (t.generatedTokens > 0) {
    out += llvm::formatv("decode after {0}: {1:f1} tok/s", t.promptTokens, decodeRate).str();
    if (r.decodeGBPerS)
      out += llvm::formatv(", {0:f1} GB/s", *r.decodeGBPerS).str();
    if (r.decodeFraction)
      out += " = " + percent(*r.decodeFraction) + " of read bandwidth";
    out += "\n";
  }
  if (!r.note.empty())
    out += "note: " + r.note + "\n";
  return out;
}

std::string describeBatch(const Roofline &r, int64_t streams, int64_t prompt, double rate,
                          double speedup) {
  std::string out = llvm::formatv("decode_batch {0} streams after {1}: {2:f1} tok/s in all "
                                  "({3:f1} per stream) = {4:f2}x one stream's decode",
                                  streams, prompt, rate, rate / streams, speedup);
  if (r.batchSpeedupBound)
    out += llvm::formatv(" (the bytes allow {0:f2}x", *r.batchSpeedupBound).str() +
           (r.batchDistinctExperts
                ? llvm::formatv(" at {0:f1} distinct experts per layer, uniform routing",
                                *r.batchDistinctExperts)
                      .str()
                : "") +
           ")";
  if (r.batchGBPerS)
    out += llvm::formatv(", {0:f1} GB/s", *r.batchGBPerS).str();
  if (r.batchFraction)
    out += " = " + percent(*r.batchFraction) + " of read bandwidth";
  return out + "\n";
}

llvm::Error bench(BenchOptions o) {
  if (o.threads == 0)
    o.threads = onlineCpus();
  // The manifest first: a wrong folder is reported before a second of probing.
  llvm::Expected<Manifest> manifest = readManifest(o.outDir);
  if (!manifest)
    return manifest.takeError();
  // Measured before the library is loaded: the probes fork, which is only
  // safe while this process has a single thread.
  std::optional<MachineLimits> limits;
  if (!o.noLimits) {
    ProbeOptions probe;
    probe.threads = o.threads;
    probe.readBytes = static_cast<size_t>(o.probeMiB) << 20;
    // A smaller buffer asks for a quicker probe: the compute passes shrink
    // with it (tests use a few MiB to check the output, never the figures).
    probe.computeSeconds *= std::min(1.0, o.probeMiB / 1024.0);
    llvm::Expected<MachineLimits> measured = measureMachineLimits(probe);
    if (!measured)
      return measured.takeError();
    limits = *measured;
  }
  if (!o.json) {
    llvm::outs() << describeLimits(limits);
    llvm::outs().flush();
  }

  // What the process holds before the model: the base the plan adds to.
  const int64_t baseline = residentBytes();
  llvm::Expected<std::unique_ptr<ModelLibrary>> lib = ModelLibrary::open(o.outDir, o.threads);
  if (!lib)
    return lib.takeError();
  ModelLibrary &m = **lib;
  const int64_t V = m.vocab();
  // Pseudo-random tokens from a fixed seed: the same prompt every run.
  uint64_t state = 0x2545F4914F6CDD1Dull;
  auto nextToken = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int32_t>((state >> 33) % static_cast<uint64_t>(V));
  };
  std::vector<int32_t> prompt(o.prompt);
  for (int32_t &t : prompt)
    t = nextToken();
  const bool batched = o.batch > 0;
  std::vector<float> logits(V);

  // Warm-up: page in the weights and create the worker threads.
  if (llvm::Error e = m.prefill(prompt.data(), std::min<int64_t>(8, o.prompt), logits.data(), false))
    return e;
  if (llvm::Error e = m.reset())
    return e;

  m.profileReset();
  auto start = std::chrono::steady_clock::now();
  const bool prefilled = o.loadState.empty(); // else decode starts from a saved session
  double prefillSeconds = 0;
  if (!prefilled) {
    // Decode at the depth of a saved session (hybridc run --save-state):
    // no prefill to wait for, the first token a pseudo-random one.
    if (llvm::Error e = m.loadState(o.loadState))
      return e;
    o.prompt = m.position();
    logits.assign(logits.size(), 0.0f);
    logits[static_cast<size_t>(nextToken())] = 1.0f;
    if (!o.json)
      llvm::outs() << llvm::formatv("loaded {0}: {1} tokens in {2:f2} s\n", o.loadState,
                                    o.prompt, seconds(start));
  } else {
    if (llvm::Error e = prefillPrompt(m, prompt, logits.data(),
                                      o.progress || isatty(STDERR_FILENO)))
      return e;
    prefillSeconds = seconds(start);
  }
  std::string prefillProfile = m.profileReport() ? m.profileReport() : "";
  m.profileReset();
  // The batch streams: forks of the session after the prompt, made before
  // the single-stream decode so both measure decode after `prompt` tokens.
  if (batched)
    if (llvm::Error e = m.forkStreams(o.batch))
      return e;

  start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < o.gen; ++i) {
    int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) -
                                        logits.begin());
    if (llvm::Error e = m.decode(next, logits.data()))
      return e;
  }
  double decodeSeconds = seconds(start);
  std::string decodeProfile = m.profileReport() ? m.profileReport() : "";

  // decode_batch: every stream gets its own pseudo-random token each step,
  // so the streams route to different experts as independent ones would
  // (identical tokens would let every stream share the same experts).
  double batchSeconds = 0;
  std::string batchProfile;
  if (batched) {
    std::vector<int32_t> tokens(static_cast<size_t>(o.batch));
    std::vector<float> batchLogits(static_cast<size_t>(o.batch * V));
    m.profileReset();
    start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < o.gen; ++i) {
      for (int32_t &t : tokens)
        t = nextToken();
      if (llvm::Error e = m.decodeBatch(tokens.data(), batchLogits.data()))
        return e;
    }
    batchSeconds = seconds(start);
    batchProfile = m.profileReport() ? m.profileReport() : "";
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double peakMiB = usage.ru_maxrss / 1024.0;
  double prefillRate = prefilled ? o.prompt / prefillSeconds : 0.0;
  double decodeRate = o.gen > 0 ? o.gen / decodeSeconds : 0.0;
  double batchRate = batched && o.gen > 0 ? o.gen * o.batch / batchSeconds : 0.0;
  double batchSpeedup = decodeRate > 0 ? batchRate / decodeRate : 0.0;
  double stateMiB = m.stateBytes() / 1048576.0;
  const BenchTimes times{o.prompt, o.gen, prefillSeconds, decodeSeconds,
                         batched ? o.batch : 0, batchSeconds};
  // The speeds are set against the peaks of the variant that ran.
  const Manifest running = m.runningManifest();
  const Roofline roofline = computeRoofline(running, limits, "--no-limits", times);
  const bool severalVariants = running.target != m.manifest().target;
  // The plan needs the manifest's description (folders from before it lack
  // one) and a readable VmRSS.
  const std::optional<LibraryDescription> &description = m.manifest().description;
  std::optional<PlannedRss> planned;
  if (description && baseline >= 0)
    planned = planRss(*description, running.target, !m.manifest().weights.empty(), baseline, o);
  const double plannedMiB = planned ? planned->total() / 1048576.0 : 0.0;
  const char *kvDtype = description ? hybridc_kv_dtype_name(description->memory.kvDtype) : nullptr;

  if (o.json) {
    llvm::json::Object result{{"model", m.manifest().name},
                              {"target", running.target},
                              {"library_targets", m.manifest().target},
                              {"weights_dtype", m.manifest().weightsDtype},
                              {"threads", o.threads},
                              {"prompt_tokens", o.prompt},
                              {"generated_tokens", o.gen},
                              {"prefill_tokens_per_s", prefilled
                                                           ? llvm::json::Value(prefillRate)
                                                           : llvm::json::Value(nullptr)},
                              {"decode_tokens_per_s", decodeRate},
                              {"prefill_seconds", prefilled
                                                      ? llvm::json::Value(prefillSeconds)
                                                      : llvm::json::Value(nullptr)},
                              {"loaded_state", prefilled ? llvm::json::Value(nullptr)
                                                         : llvm::json::Value(o.loadState)},
                              {"decode_seconds", decodeSeconds},
                              {"session_state_mib", stateMiB},
                              {"peak_rss_mib", peakMiB},
                              {"planned_rss_mib", planned ? llvm::json::Value(plannedMiB)
                                                          : llvm::json::Value(nullptr)},
                              {"baseline_rss_mib",
                               baseline >= 0 ? llvm::json::Value(baseline / 1048576.0)
                                             : llvm::json::Value(nullptr)},
                              {"peak_rss_over_planned",
                               planned ? llvm::json::Value(peakMiB / plannedMiB)
                                       : llvm::json::Value(nullptr)},
                              {"kv_dtype", kvDtype ? llvm::json::Value(kvDtype)
                                                   : llvm::json::Value(nullptr)},
                              {"limits", limitsToJson(limits)},
                              {"prefill_gflops", optionalNumber(roofline.prefillGflops)},
                              {"prefill_fraction_of_peak", optionalNumber(roofline.prefillFraction)},
                              {"decode_gb_per_s", optionalNumber(roofline.decodeGBPerS)},
                              {"decode_fraction_of_bandwidth",
                               optionalNumber(roofline.decodeFraction)}};
    const std::optional<ModelWork> &work = m.manifest().work;
    result["work"] = work ? llvm::json::Value(workToJson(*work)) : llvm::json::Value(nullptr);
    result["peak_used"] = roofline.peakUsed.empty() ? llvm::json::Value(nullptr)
                                                    : llvm::json::Value(roofline.peakUsed);
    result["fraction_note"] =
        roofline.note.empty() ? llvm::json::Value(nullptr) : llvm::json::Value(roofline.note);
    if (batched) {
      result["batch_streams"] = o.batch;
      result["batch_decode_tokens_per_s"] = batchRate;
      result["batch_decode_seconds"] = batchSeconds;
      result["batch_speedup_over_decode"] = batchSpeedup;
      result["batch_decode_gb_per_s"] = optionalNumber(roofline.batchGBPerS);
      result["batch_decode_fraction_of_bandwidth"] = optionalNumber(roofline.batchFraction);
      result["batch_speedup_bound"] = optionalNumber(roofline.batchSpeedupBound);
      result["batch_distinct_experts_per_layer"] =
          optionalNumber(roofline.batchDistinctExperts);
    }
    if (!prefillProfile.empty()) {
      result["prefill_kernel_profile"] = prefillProfile;
      result["decode_kernel_profile"] = decodeProfile;
      if (batched)
        result["batch_decode_kernel_profile"] = batchProfile;
    }
    llvm::outs() << llvm::formatv("{0:2}", llvm::json::Value(std::move(result))) << "\n";
  } else {
    llvm::outs() << llvm::formatv(
        "{0} ({1}, {2} weights{12}, threads {3})\n"
        "  {14}  {4,6} tokens  {5,9:f3} s  {6,9:f1} tokens/s\n"
        "  decode   {7,6} tokens  {8,9:f3} s  {9,9:f1} tokens/s\n"
        "  session state {10:f2} MiB, peak RSS {11:f1} MiB{13}\n",
        m.manifest().name,
        severalVariants ? running.target + ", one variant of " + m.manifest().target
                        : running.target,
        m.manifest().weightsDtype,
        o.threads, o.prompt, prefillSeconds, prefillRate, o.gen, decodeSeconds, decodeRate,
        stateMiB, peakMiB, kvDtype ? std::string(", ") + kvDtype + " KV" : std::string(),
        planned ? describePlanned(*planned, peakMiB) : std::string(),
        prefilled ? "prefill" : "loaded ");
    llvm::outs() << describeRoofline(roofline, times, prefillRate, decodeRate);
    if (batched && o.gen > 0)
      llvm::outs() << describeBatch(roofline, o.batch, o.prompt, batchRate, batchSpeedup);
    if (!prefillProfile.empty())
      llvm::outs() << "prefill kernels:\n" << prefillProfile << "decode kernels:\n"
                   << decodeProfile;
    if (!batchProfile.empty())
      llvm::outs() << "decode_batch kernels:\n" << batchProfile;
  }
  return llvm::Error::success();
}

} // namespace

void hybridc::addBenchCommand(CLI::App &app, int &exitCode) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App *cmd = app.add_subcommand(
      "bench", "Measure prefill and decode tokens/s and peak memory of a compiled model");
  cmd->add_option("out_dir", opts->outDir,
                  "Output folder of `hybridc compile` (with --tokenize also a tokenizer.json, "
                  "model folder or .gguf file)")
      ->required();
  cmd->add_option("--tokenize", opts->tokenize,
                  "Measure the tokenizer on this text file instead: MB/s on one thread");
  CLI::Option *promptOption =
      cmd->add_option("--prompt", opts->prompt,
                      "Prompt tokens (one prefill call; over 16384, calls of 8192 on one session)")
          ->check(wholeNumber("the prompt tokens", 1))
          ->capture_default_str();
  cmd->add_option("--gen", opts->gen, "Tokens generated with decode")
      ->check(wholeNumber("the tokens to generate", 0))
      ->capture_default_str();
  cmd->add_option("--threads", opts->threads,
                  "Threads of the model and the limit probes (default: online CPUs)")
      ->check(wholeNumber("the thread count", 1, INT32_MAX));
  cmd->add_option("--batch", opts->batch,
                  "Also measure decode_batch over this many streams (forks of the session "
                  "after the prompt), --gen steps, against one stream's decode")
      ->check(wholeNumber("the streams", 1, 4096));
  cmd->add_flag("--json", opts->json, "Print the figures as JSON");
  cmd->add_option("--load-state", opts->loadState,
                  "Measure decode at the depth of a session saved by `hybridc run --save-state` "
                  "(same weights and KV dtype) instead of after a --prompt prefill")
      ->check(CLI::ExistingFile)
      ->excludes(promptOption);
  cmd->add_flag("--progress", opts->progress,
                "Report a long prompt's prefill (over 16384 tokens, run in slices of 8192) "
                "slice by slice on stderr even when it is not a terminal");
  cmd->add_flag("--no-limits", opts->noLimits,
                "Skip measuring the machine's read bandwidth and compute peaks (about 1 s), "
                "and so the fractions of them");
  cmd->add_option("--probe-mib", opts->probeMiB,
                  "Read-bandwidth probe buffer in MiB; smaller is quicker (the compute probes "
                  "shrink with it) but less exact once it fits a cache")
      ->check(wholeNumber("the probe buffer in MiB", 1, int64_t(1) << 20))
      ->capture_default_str();
  cmd->callback([opts, &exitCode] {
    exitCode = 0;
    if (llvm::Error e = opts->tokenize.empty()
                            ? bench(*opts)
                            : benchTokenize(opts->outDir, opts->tokenize, opts->json)) {
      reportError(std::move(e));
      exitCode = 1;
    }
  });
}
