//===- PrefixCache.h - sessions kept by the tokens they hold ------*- C++ -*-===//
//
// Each entry is a session of the served model (its state, KV rows and kept
// checkpoints) with the tokens it was fed. A request can start from any
// prefix of any entry: the entry is forked and the fork truncated to the
// common prefix, which re-feeds at most one checkpoint interval. Entries are
// kept least recently used first out within a byte budget; with a cache
// folder an evicted entry is written there as a state image (and its tokens)
// and read back on a hit, so the folder also carries conversations across
// restarts. Shared (`hybridc serve --share-cache`), every finished session
// is written there too and the folder is read again before each lookup:
// replicas behind a load balancer then continue each other's
// conversations, a killed one's included, from the end of its last turn.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SERVE_PREFIXCACHE_H
#define HYBRIDC_SERVE_PREFIXCACHE_H

#include "hybridc/Run/ModelLibrary.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybridc::serve {

/// Tokens a session holding `held` must feed to continue with `prompt`
/// from its first `keep` tokens: truncating re-feeds from the checkpoint
/// at or before `keep` (nothing when it keeps all it holds), then the rest
/// of the prompt.
int64_t promptCost(int64_t held, int64_t keep, int64_t promptTokens, int64_t checkpointInterval);

/// How many leading tokens `a` and `b` share.
int64_t commonPrefix(const std::vector<int32_t> &a, const std::vector<int32_t> &b);

class PrefixCache {
public:
  /// `dir` "" keeps entries in memory only. Entries already in `dir` (of a
  /// server before, or beside) are indexed. `diskBytes` bounds the folder's
  /// state images (the oldest files go first, whoever wrote them).
  PrefixCache(const CompiledLibrary &lib, void *model, int64_t ramBytes, std::string dir,
              int64_t diskBytes);
  ~PrefixCache();

  struct Match {
    size_t entry = 0;
    int64_t keep = 0;   // tokens of the prompt it holds (0: none)
    int64_t cost = 0;   // tokens to feed: re-fed by truncate, then the prompt's rest
  };
  /// The entry that leaves the fewest tokens to feed for `prompt`, keeping
  /// at most `keepMax` of them (promptCost() below); keep 0 when none helps.
  Match cheapest(const std::vector<int32_t> &prompt, int64_t keepMax,
                 int64_t checkpointInterval) const;
  /// A new session equal to the entry (forked, or loaded from its file
  /// into a new session: the caller sets its threads and caps); the entry
  /// stays.
  llvm::Expected<void *> open(size_t entry);
  /// Keeps `session` (ownership passes) as holding `tokens` (replacing an
  /// entry holding the same).
  void insert(std::vector<int32_t> tokens, void *session);
  const std::vector<int32_t> &tokensOf(size_t entry) const { return entries[entry].tokens; }

  /// Writes `session` (still the caller's) to the folder as holding
  /// `tokens`, for other processes sharing it.
  llvm::Error writeThrough(const std::vector<int32_t> &tokens, const void *session);
  /// Indexes the folder's files that other processes wrote since.
  void refresh();

  int64_t entriesInMemory() const;
  int64_t entriesOnDisk() const;
  int64_t bytesInMemory() const { return ramUsed; }

private:
  struct Entry {
    std::vector<int32_t> tokens;
    void *session = nullptr; // null: only in the folder
    int64_t bytes = 0;       // its image size
    uint64_t lastUse = 0;
    std::string file;        // "" until written to the folder
  };
  void evict();
  void drop(size_t i);
  llvm::Error spill(Entry &e);
  /// The session and its tokens to the folder, under the name the tokens give.
  llvm::Expected<std::string> write(const std::vector<int32_t> &tokens, const void *session);
  void prune();

  const CompiledLibrary &lib;
  void *model;
  int64_t ramBytes;
  int64_t ramUsed = 0;
  std::string dir;
  int64_t diskBytes;
  uint64_t clock = 0;
  std::vector<Entry> entries;
};

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_PREFIXCACHE_H
