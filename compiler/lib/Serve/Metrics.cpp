//===- Metrics.cpp - what the server counts, in Prometheus' text format -----===//
#include "hybridc/Serve/Metrics.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace hybridc::serve {

std::string renderPrometheus(const Metrics &m) {
  std::string out;
  llvm::raw_string_ostream os(out);
  auto metric = [&](const char *name, const char *type, const char *help, double value) {
    os << "# HELP hybridc_" << name << " " << help << "\n# TYPE hybridc_" << name << " " << type
       << "\nhybridc_" << name << " " << llvm::format("%.17g", value) << "\n";
  };
  auto rate = [](double n, double s) { return s > 0 ? n / s : 0.0; };
  metric("requests_total", "counter", "Generations finished, for any reason.", m.requests);
  metric("requests_failed_total", "counter", "Generations ended by an error.", m.requestsFailed);
  metric("requests_cancelled_total", "counter", "Generations stopped because the client left.",
         m.requestsCancelled);
  metric("requests_rejected_total", "counter", "Requests refused because the queue was full.",
         m.requestsRejected);
  metric("prompt_tokens_total", "counter", "Prompt tokens of finished generations.",
         m.promptTokens);
  metric("prompt_tokens_prefilled_total", "counter",
         "Prompt tokens prefilled (the others came from the prefix cache).", m.promptTokensFed);
  metric("tokens_generated_total", "counter", "Tokens generated.", m.generatedTokens);
  metric("prompt_seconds_total", "counter", "Seconds spent prefilling prompts.", m.promptSeconds);
  metric("generation_seconds_total", "counter", "Seconds from first to last token, summed.",
         m.generationSeconds);
  metric("prompt_tokens_per_second", "gauge", "Prefilled tokens per prefill second, overall.",
         rate(m.promptTokensFed, m.promptSeconds));
  metric("decode_steps_total", "counter", "Batched decode steps.", m.decodeSteps);
  metric("decode_step_streams_total", "counter", "Streams advanced, summed over decode steps.",
         m.decodeStepStreams);
  metric("prefix_cache_hits_total", "counter", "Requests that started from a kept prefix.",
         m.prefixCacheHits);
  metric("prefix_cache_reused_tokens_total", "counter",
         "Prompt tokens not prefilled thanks to a kept prefix.", m.prefixCacheReusedTokens);
  metric("queue_depth", "gauge", "Requests waiting for a slot.", m.queued);
  metric("slots_active", "gauge", "Slots generating now.", m.activeSlots);
  metric("slot_state_bytes", "gauge", "Recurrent state and KV cache of the slots' sessions.",
         m.slotStateBytes);
  metric("prefix_cache_entries", "gauge", "Sessions kept in memory by the prefix cache.",
         m.cacheEntries);
  metric("prefix_cache_bytes", "gauge", "Bytes those sessions hold.", m.cacheBytes);
  metric("prefix_cache_disk_entries", "gauge", "Prefix cache entries spilled to --cache-dir.",
         m.cacheDiskEntries);
  return out;
}

} // namespace hybridc::serve
