//===- BenchRoofline.cpp - bench speeds as fractions of the machine -------===//
#include "BenchRoofline.h"

#include "llvm/ADT/StringRef.h"

using namespace hybridc;

namespace {

struct Peak {
  std::string name;
  double gflops = 0;
  std::string note;
};

/// The compute peak the kernels can reach: int8 matmuls run vpdpbusd on a
/// VNNI target and vpmaddwd + vpaddd on the others (256-bit ones on
/// x86-64-avx2), matmuls on bf16 activations (bf16 weights on a bf16-dot
/// target) run vdpbf16ps; everything else runs fp32 FMAs (bf16 weights
/// widened on load). Folders from before matmul_inputs was recorded: bf16
/// weights on a target named for bf16.
Peak choosePeak(const Manifest &m, const MachineLimits &limits) {
  const bool avx2Library = m.target == "x86-64-avx2";
  if (m.matmulInputs == "int8") {
    if (llvm::StringRef(m.target).contains("bf16")) {
      if (limits.int8Gops)
        return {"int8", *limits.int8Gops, ""};
      return {"fp32", limits.fp32Gflops,
              "this CPU has no AVX-512 VNNI dot product: prefill is set against the fp32 peak"};
    }
    if (avx2Library && limits.int8MaddAvx2Gops)
      return {"int8 madd avx2", *limits.int8MaddAvx2Gops, ""};
    if (limits.int8MaddGops)
      return {"int8 madd", *limits.int8MaddGops, ""};
    return {"fp32", limits.fp32Gflops, "no vpmaddwd probe: prefill is set against the fp32 peak"};
  }
  const bool bf16Kernels = !m.matmulInputs.empty()
                               ? m.matmulInputs == "bf16"
                               : m.weightsDtype == "bf16" &&
                                     llvm::StringRef(m.target).contains("bf16");
  if (!bf16Kernels) {
    // An AVX2 library runs 256-bit FMAs even where AVX-512 is there.
    if (avx2Library && limits.fp32Avx2Gflops)
      return {"fp32 avx2", *limits.fp32Avx2Gflops, ""};
    return {"fp32", limits.fp32Gflops, ""};
  }
  if (limits.bf16Gflops)
    return {"bf16", *limits.bf16Gflops, ""};
  return {"fp32", limits.fp32Gflops,
          "this CPU has no AVX-512 BF16 dot product: prefill is set against the fp32 peak"};
}

void addNote(std::string &notes, const std::string &note) {
  if (note.empty())
    return;
  if (!notes.empty())
    notes += "; ";
  notes += note;
}

} // namespace

Roofline hybridc::computeRoofline(const Manifest &m, const std::optional<MachineLimits> &limits,
                                  const std::string &noLimitsReason, const BenchTimes &t) {
  Roofline r;
  if (!m.work) {
    r.note = "no fractions: " + std::string(kManifestFileName) +
             " has no work section (compiled by an older hybridc; recompile to get them)";
    return r;
  }
  const ModelWork &w = *m.work;
  // The bench asks for the last token's logits only, so lm_head runs once.
  if (t.prefillSeconds > 0) // 0: the prompt came from a saved session
    r.prefillGflops = w.prefillFlops(t.promptTokens, 0, 1) / t.prefillSeconds / 1e9;
  if (t.generatedTokens > 0) {
    // Decode step i (from 0) runs at position prompt + i and reads that many
    // cached K/V rows plus its own: the mean context is prompt + (gen + 1) / 2.
    const double meanContext = t.promptTokens + (t.generatedTokens + 1) / 2.0;
    r.decodeGBPerS =
        t.generatedTokens * w.decodeBytes(meanContext) / t.decodeSeconds / 1e9;
    // The batch streams are forks of the session after the prompt.
    const double batchBytes = w.batchDecodeBytes(t.batchStreams, meanContext);
    if (t.batchStreams > 0 && batchBytes > 0) {
      r.batchGBPerS = t.generatedTokens * batchBytes / t.batchSeconds / 1e9;
      r.batchSpeedupBound = t.batchStreams * w.decodeBytes(meanContext) / batchBytes;
      if (w.moeLayers > 0)
        r.batchDistinctExperts = w.expectedDistinctExperts(t.batchStreams);
    } else if (t.batchStreams > 0) {
      addNote(r.note, "no decode_batch bytes: " + std::string(kManifestFileName) +
                          " does not record the experts (recompile to get them)");
    }
  }
  if (!limits) {
    addNote(r.note, "no fractions: machine limits not measured (" + noLimitsReason + ")");
    return r;
  }
  Peak peak = choosePeak(m, *limits);
  r.peakUsed = peak.name;
  addNote(r.note, peak.note);
  if (r.prefillGflops)
    r.prefillFraction = *r.prefillGflops / peak.gflops;
  if (r.decodeGBPerS)
    r.decodeFraction = *r.decodeGBPerS / limits->readGBPerS;
  if (r.batchGBPerS)
    r.batchFraction = *r.batchGBPerS / limits->readGBPerS;
  return r;
}
