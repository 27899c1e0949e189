//===- LibraryDescription.h - what a compiled library holds -----*- C++ -*-===//
//
// `hybridc compile` records what it decided in the manifest's `description`
// section: the model's shape, the target variants, the stored type of each
// kind of tensor, the memory plan the runtime allocates from, every kernel
// with its sizes and the layers that call it, and the pass pipeline.
// `hybridc inspect` prints it. The memory figures are the runtime's own
// arithmetic (runtime/src/Session.cpp, Streaming.cpp) on the sizes the
// library's descriptor holds, so they are what a session then reports.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_RUN_LIBRARYDESCRIPTION_H
#define HYBRIDC_RUN_LIBRARYDESCRIPTION_H

#include "hybridc/kv_layout.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hybridc {

/// What one session holds after a number of tokens, term by term, as the
/// runtime allocates and writes it (see MemoryPlan::sessionAt).
struct SessionMemory {
  int64_t tokens = 0;
  int64_t checkpointInterval = 0; // 0: no interval checkpoints
  /// The state, two scratch buffers and the state before the latest call.
  int64_t stateCopiesBytes = 0;
  /// The KV blocks that hold tokens [0, tokens) in every segment, exactly
  /// (what session_state_bytes counts) ...
  int64_t kvInUseBytes = 0;
  /// ... and as resident memory: each segment's blocks in use rounded up to
  /// whole 4 KiB pages (pages past them are mapped but never written).
  int64_t kvBytes = 0;
  /// The token history's allocated capacity.
  int64_t historyBytes = 0;
  int64_t checkpoints = 0; // interval checkpoints kept
  int64_t checkpointBytes = 0;
  /// The workspace of the largest call, min(tokens, maxChunkTokens) tokens.
  int64_t workspaceTokens = 0;
  int64_t workspaceBytes = 0;
  /// The size of its state image (session_save_size): the header, two
  /// states, the history, the checkpoints and the KV blocks in use.
  int64_t imageBytes = 0;

  /// Every term, the KV as resident pages.
  int64_t total() const {
    return stateCopiesBytes + kvBytes + historyBytes + checkpointBytes + workspaceBytes;
  }
};

/// The sizes a session is built from, one list for everything that spells
/// them: X(the field of runtime_abi.h's hybridc_model_desc, also the
/// manifest's key; the MemoryPlan member). The glue writes them, the
/// manifest records them and inspect reads them back through it. (The
/// weights' size is apart: the descriptor holds the payload's and each
/// variant's layout's.)
#define HYBRIDC_SESSION_SIZES(X)                                                                \
  X(state_bytes, stateBytes)                                                                    \
  X(kv_segments, kvSegments)                                                                    \
  X(kv_row_bytes, kvRowBytes)                                                                   \
  X(max_chunk_tokens, maxChunkTokens)                                                           \
  X(workspace_fixed_bytes, workspaceFixedBytes)                                                 \
  X(workspace_bytes_per_token, workspaceBytesPerToken)

/// The sizes the library's model descriptor holds, from the lowering.
struct MemoryPlan {
  int64_t weightsBytes = 0;           // payload of the weights file
  int64_t stateBytes = 0;             // one copy of the recurrent state
  int64_t kvSegments = 0;             // K and V of each attention layer
  int64_t kvRowBytes = 0;             // one token in one segment, scales included
  int32_t kvDtype = HYBRIDC_KV_F32;   // the KV cache's element type (kv_layout.h)
  int64_t kvHeads = 0, kvHeadDim = 0; // one token's row: [kv heads][head dim]
  int64_t maxChunkTokens = 0;         // tokens per driver call
  int64_t workspaceFixedBytes = 0;
  int64_t workspaceBytesPerToken = 0;

  /// What session_state_bytes reports for a session that has seen nothing:
  /// the state and the state before the latest call.
  int64_t emptySessionStateBytes() const { return 2 * stateBytes; }
  /// K and V of every attention layer for one token (the cache grows in
  /// blocks of HYBRIDC_KV_BLOCK_TOKENS).
  int64_t kvBytesPerToken() const { return kvSegments * kvRowBytes; }
  /// The largest workspace a call allocates (a full chunk).
  int64_t workspaceBytes() const {
    return workspaceFixedBytes + maxChunkTokens * workspaceBytesPerToken;
  }
  /// One kept checkpoint (set_checkpoint_interval): a copy of the state.
  int64_t checkpointBytes() const { return stateBytes; }

  /// The bytes of one session that has been fed `tokens` tokens (in calls
  /// of any size, none of them rewound) with a checkpoint interval of
  /// `checkpointInterval` (0: none), term by term. Weights, the session
  /// struct, the worker threads' stacks and malloc's own overhead are not
  /// part of it.
  SessionMemory sessionAt(int64_t tokens, int64_t checkpointInterval = 0) const;
  /// What session_state_bytes reports for that session (Session.cpp): two
  /// states, the checkpoints, 4 bytes of history per token and the KV blocks
  /// in use, each unrounded.
  int64_t reportedStateBytes(int64_t tokens, int64_t checkpointInterval = 0) const;
};

/// One compiled kernel and where the drivers call it.
struct KernelUse {
  std::string symbol, kind, weightType;
  std::string target; // the variant whose drivers call it
  std::map<std::string, int64_t> sizes;
  std::vector<int64_t> layers;     // decoder layers whose ops call it
  std::vector<std::string> others; // calls outside the layers ("model.norm", "lm_head", ...)
  std::vector<std::string> drivers; // "prefill", "decode", "decode_batch"
};

/// One kind of stored tensor ("mamba.in_proj", "lm_head", ...).
struct TensorKind {
  std::string dtype; // "f32", "bf16", "int8", "int4" (several joined by ",")
  int64_t tensors = 0;
  int64_t bytes = 0;
};

/// One CPU variant of the library: what its matmuls multiply the weights
/// with, and where its layout of the weights lies in the payload (variants
/// that pack alike share one).
struct VariantFacts {
  std::string target, matmulInputs;
  int64_t weightsOffset = 0, weightsBytes = 0;
};

/// A chat template the library stores with its tokenizer (Jinja text).
struct ChatTemplateFacts {
  std::string name, text;
};

struct LibraryDescription {
  llvm::json::Object model; // the config's shape, snake_case keys
  std::vector<std::string> targets;
  std::vector<VariantFacts> variants; // one per target, in the same order
  std::string weightsDtype, matmulInputs; // matmulInputs: the first variant's
  std::map<std::string, TensorKind> tensorKinds; // in the first variant's layout
  /// The library's sizes: weightsBytes the whole payload, the workspace the
  /// largest any variant allocates; the state's are every variant's.
  MemoryPlan memory;
  std::vector<KernelUse> kernels;
  std::vector<std::string> pipeline;     // pass names in order, "import" first
  std::vector<std::string> pipelineText; // each pass manager as hybridc-opt takes it
  /// The chat templates the library stores ("default" first), and the text
  /// of the tokenizer's BOS and EOS tokens they print ("" when none), so a
  /// template renders from the folder alone (`hybridc chat-template OUT`).
  std::vector<ChatTemplateFacts> chatTemplates;
  std::string bosToken, eosToken;

  /// The variant compiled for `target`, or null.
  const VariantFacts *variant(const std::string &target) const;
};

/// The JSON `hybridc inspect --json` prints and the manifest stores.
llvm::json::Object descriptionToJson(const LibraryDescription &d);
/// The inverse; errors name the key (`where` prefixes them).
llvm::Expected<LibraryDescription> descriptionFromJson(const llvm::json::Object &o,
                                                       const std::string &where);
/// The text `hybridc inspect` prints.
std::string describeLibrary(const LibraryDescription &d, const std::string &name);
/// The JSON of a session's memory (`hybridc inspect --context --json`).
llvm::json::Object sessionMemoryToJson(const SessionMemory &s);
/// The text of it: one line per term and the total, each indented.
std::string describeSessionMemory(const SessionMemory &s, const MemoryPlan &plan);

} // namespace hybridc

#endif // HYBRIDC_RUN_LIBRARYDESCRIPTION_H
