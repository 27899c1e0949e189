//===- ModelWork.h - the work of one token, counted from the shapes -*- C++ -*-===//
//
// How many multiply-adds a prefill token costs and how many bytes a decode
// step must read, derived from the config alone, so that `hybridc bench` can
// state a measured speed as a fraction of the machine's compute peak (prefill)
// or read bandwidth (decode). These are the model's work, not the kernels':
// a kernel that recomputes or re-reads more is slower, not "busier".
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_MODEL_MODELWORK_H
#define HYBRIDC_MODEL_MODELWORK_H

#include "hybridc/Model/ModelConfig.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>

namespace hybridc {

struct ModelWork {
  /// Bits of one stored matmul weight: 32 (f32), 16 (bf16), 8 (int8) or 4
  /// (int4), not counting int8 / int4 scales (4 bytes per block of 32).
  int64_t bitsPerWeight = 32;

  /// Multiply-adds of every linear layer for one token, except lm_head:
  /// mamba in_proj/out_proj, attention q/k/v/o, router, the top-K experts'
  /// gate+up and down, the shared MLP.
  int64_t matmulMacsPerToken = 0;
  /// lm_head's multiply-adds for one token whose logits are computed (a
  /// prefill computes them for its last token only unless asked for all).
  int64_t lmHeadMacsPerToken = 0;
  /// QK^T and PV over all query heads of all attention layers, for one
  /// (token, context position) pair.
  int64_t attentionMacsPerPosition = 0;
  /// The Mamba layers' per-token arithmetic outside the matmuls: causal conv
  /// (2 per tap) and the state update and readout (5 per state element:
  /// decay, dt*x*B multiply-add, C*state multiply-add).
  int64_t scanFlopsPerToken = 0;

  /// Matmul weights one decode step reads: all non-expert ones, the top-K
  /// experts of each MoE layer and lm_head (the embedding row is negligible).
  int64_t decodeWeightsPerToken = 0;
  int64_t decodeWeightBytesPerToken = 0;
  /// The recurrent (conv + SSM, f32) state, read once and written once.
  int64_t decodeStateBytesPerToken = 0;
  /// K and V of every attention layer in the KV cache's element type (int8
  /// scales included), read once per context position.
  int64_t decodeKvBytesPerPosition = 0;

  /// Mixture-of-experts layers, experts per layer, experts each token uses,
  /// and the stored bytes of one expert of one layer (gate+up and down, with
  /// their block scales). A batch of streams reads the experts any of them
  /// picks, once. Folders compiled before these were recorded lack them:
  /// expertsRecorded is then false.
  int64_t moeLayers = 0;
  int64_t numExperts = 0;
  int64_t expertsPerToken = 0;
  int64_t expertWeightBytes = 0;
  bool expertsRecorded = true;

  /// FLOPs (2 per multiply-add) of one prefill call of `tokens` tokens after
  /// `past` cached ones, computing logits for `logitsTokens` of them.
  double prefillFlops(int64_t tokens, int64_t past, int64_t logitsTokens) const;
  /// Bytes one decode step reads and writes at `contextPositions` (the
  /// positions its attention reads, itself included).
  double decodeBytes(double contextPositions) const;
  /// Distinct experts per MoE layer that `streams` tokens pick together when
  /// each picks its top-K independently and uniformly: E (1 - (1 - K/E)^n).
  double expectedDistinctExperts(int64_t streams) const;
  /// Bytes one decode_batch step of `streams` streams reads and writes, each
  /// at `contextPositions`: the non-expert weights once, the expected
  /// distinct experts once, every stream's own recurrent state and KV rows.
  /// 0 when the experts were not recorded.
  double batchDecodeBytes(int64_t streams, double contextPositions) const;
};

/// The work of `config` with matmul weights stored as `weightsDtype` ("f32",
/// "bf16", "int8" or "int4"; anything else is an error naming it) and the KV
/// cache as `kvDtype` (kv_layout.h's HYBRIDC_KV_*).
llvm::Expected<ModelWork> computeModelWork(const ModelConfig &config,
                                           llvm::StringRef weightsDtype, int32_t kvDtype = 0);

} // namespace hybridc

#endif // HYBRIDC_MODEL_MODELWORK_H
