//===- Metrics.h - what the server counts, in Prometheus' text format -*- C++ -*-===//
#ifndef HYBRIDC_SERVE_METRICS_H
#define HYBRIDC_SERVE_METRICS_H

#include <cstdint>
#include <string>

namespace hybridc::serve {

struct Metrics {
  // Counters since the start.
  int64_t requests = 0;            // generations finished (any reason)
  int64_t requestsFailed = 0;      // of them, ended by an error
  int64_t requestsCancelled = 0;   // of them, the client went away
  int64_t requestsRejected = 0;    // refused: queue full
  int64_t promptTokens = 0;        // prompt tokens of finished requests
  int64_t promptTokensFed = 0;     // of them, prefilled (the rest came from a cache)
  int64_t generatedTokens = 0;
  double promptSeconds = 0, generationSeconds = 0;
  int64_t decodeSteps = 0, decodeStepStreams = 0; // batch size = streams / steps
  int64_t prefixCacheHits = 0;     // requests that started from a kept prefix
  int64_t prefixCacheReusedTokens = 0;
  // Gauges, now.
  int64_t queued = 0;
  int64_t activeSlots = 0;
  int64_t slotStateBytes = 0;      // recurrent state + KV of the slots' sessions
  int64_t cacheEntries = 0, cacheBytes = 0, cacheDiskEntries = 0;
};

/// GET /metrics: counters and gauges named hybridc_*, with HELP and TYPE.
std::string renderPrometheus(const Metrics &m);

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_METRICS_H
