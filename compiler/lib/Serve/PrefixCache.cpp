//===- PrefixCache.cpp - sessions kept by the tokens they hold --------------===//
#include "hybridc/Serve/PrefixCache.h"

#include "hybridc/Serve/SessionFiles.h"
#include "hybridc/Support/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace hybridc::serve {
namespace {

/// The file an entry spills to: named by a hash of its tokens, so that two
/// processes sharing the folder write the same prefix to the same name.
/// The cache reads and prunes only files named so: a slot saved under a
/// name of the client's is left alone.
std::string fileName(const std::vector<int32_t> &tokens) {
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (int32_t t : tokens)
    for (int i = 0; i < 4; ++i)
      h = (h ^ ((uint32_t(t) >> (8 * i)) & 0xff)) * 1099511628211ull;
  char name[40];
  snprintf(name, sizeof name, "prefix-%016llx-%zu.state", (unsigned long long)h, tokens.size());
  return name;
}

bool isCacheFile(llvm::StringRef path, llvm::StringRef suffix) {
  llvm::StringRef name = llvm::sys::path::filename(path);
  return name.starts_with("prefix-") && name.ends_with(suffix);
}

} // namespace

int64_t commonPrefix(const std::vector<int32_t> &a, const std::vector<int32_t> &b) {
  size_t n = std::min(a.size(), b.size());
  return int64_t(std::mismatch(a.begin(), a.begin() + long(n), b.begin()).first - a.begin());
}

int64_t promptCost(int64_t held, int64_t keep, int64_t promptTokens, int64_t checkpointInterval) {
  int64_t refeed = keep >= held || checkpointInterval <= 0 ? 0 : keep % checkpointInterval;
  return refeed + (promptTokens - keep);
}

PrefixCache::PrefixCache(const CompiledLibrary &lib, void *model, int64_t ramBytes,
                         std::string dir, int64_t diskBytes)
    : lib(lib), model(model), ramBytes(ramBytes), dir(std::move(dir)), diskBytes(diskBytes) {
  while (this->dir.size() > 1 && this->dir.back() == '/')
    this->dir.pop_back();
  refresh();
}

PrefixCache::~PrefixCache() {
  for (Entry &e : entries)
    if (e.session)
      lib.sessionFree(e.session);
}

void PrefixCache::refresh() {
  if (dir.empty())
    return;
  std::set<std::string> known;
  for (const Entry &e : entries)
    if (!e.file.empty())
      known.insert(e.file);
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec)) {
    llvm::StringRef path = it->path();
    if (!isCacheFile(path, ".state.tokens"))
      continue;
    std::string image = path.drop_back(strlen(".tokens")).str();
    if (known.count(image))
      continue;
    llvm::Expected<std::vector<int32_t>> tokens = readTokensFile(image);
    if (!tokens) { // another process's file being written, or damaged: not ours to judge
      llvm::consumeError(tokens.takeError());
      continue;
    }
    Entry e;
    e.tokens = std::move(*tokens);
    e.file = image;
    entries.push_back(std::move(e));
  }
}

PrefixCache::Match PrefixCache::cheapest(const std::vector<int32_t> &prompt, int64_t keepMax,
                                          int64_t checkpointInterval) const {
  const int64_t n = int64_t(prompt.size());
  Match best{0, 0, n};
  for (size_t i = 0; i < entries.size(); ++i) {
    int64_t keep = std::min(commonPrefix(entries[i].tokens, prompt), keepMax);
    int64_t cost = promptCost(int64_t(entries[i].tokens.size()), keep, n, checkpointInterval);
    if (keep > 0 && cost < best.cost)
      best = {i, keep, cost};
  }
  return best;
}

llvm::Expected<void *> PrefixCache::open(size_t i) {
  Entry &e = entries[i];
  e.lastUse = ++clock;
  if (e.session) {
    void *fork = nullptr;
    if (lib.sessionFork(e.session, &fork) != 0)
      return makeError(std::string("session_fork: ") + lib.lastError());
    return fork;
  }
  llvm::Expected<LoadedSession> loaded = loadSessionFiles(lib, model, e.file);
  if (!loaded)
    return loaded.takeError();
  e.tokens = loaded->tokens; // what the file holds now (another process may have rewritten it)
  return loaded->session;
}

void PrefixCache::insert(std::vector<int32_t> tokens, void *session) {
  for (size_t i = entries.size(); i-- > 0;)
    if (entries[i].tokens == tokens)
      drop(i);
  Entry e;
  e.tokens = std::move(tokens);
  e.session = session;
  e.bytes = lib.sessionSaveSize(session);
  e.lastUse = ++clock;
  ramUsed += e.bytes;
  entries.push_back(std::move(e));
  evict();
}

void PrefixCache::drop(size_t i) {
  Entry &e = entries[i];
  if (e.session) {
    lib.sessionFree(e.session);
    ramUsed -= e.bytes;
  }
  // The folder's file stays: it is shared, and another process may want it.
  entries.erase(entries.begin() + long(i));
}

llvm::Expected<std::string> PrefixCache::write(const std::vector<int32_t> &tokens,
                                               const void *session) {
  std::string path = dir + "/" + fileName(tokens);
  llvm::Expected<int64_t> written = saveSessionFiles(lib, session, tokens, path);
  if (!written)
    return written.takeError();
  return path;
}

llvm::Error PrefixCache::writeThrough(const std::vector<int32_t> &tokens, const void *session) {
  llvm::Expected<std::string> written = write(tokens, session);
  if (!written)
    return written.takeError();
  const std::string &path = *written;
  auto same = std::find_if(entries.begin(), entries.end(),
                           [&](const Entry &e) { return e.tokens == tokens; });
  if (same != entries.end()) {
    same->file = path;
  } else {
    Entry e;
    e.tokens = tokens;
    e.file = path;
    e.lastUse = ++clock;
    entries.push_back(std::move(e));
  }
  prune();
  return llvm::Error::success();
}

void PrefixCache::prune() {
  struct File {
    std::string image;
    llvm::sys::TimePoint<> modified;
    uint64_t bytes;
  };
  std::vector<File> files;
  uint64_t total = 0;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec)) {
    llvm::sys::fs::file_status st;
    if (!isCacheFile(it->path(), ".state") || llvm::sys::fs::status(it->path(), st))
      continue;
    files.push_back({it->path(), st.getLastModificationTime(), st.getSize()});
    total += st.getSize();
  }
  std::sort(files.begin(), files.end(),
            [](const File &a, const File &b) { return a.modified < b.modified; });
  for (const File &f : files) {
    if (total <= uint64_t(diskBytes))
      break;
    llvm::sys::fs::remove(f.image + ".tokens");
    llvm::sys::fs::remove(f.image);
    total -= f.bytes;
    for (size_t i = entries.size(); i-- > 0;) {
      if (entries[i].file != f.image)
        continue;
      entries[i].file.clear();
      if (!entries[i].session)
        entries.erase(entries.begin() + long(i));
    }
  }
}

llvm::Error PrefixCache::spill(Entry &e) {
  if (e.file.empty()) {
    llvm::Expected<std::string> written = write(e.tokens, e.session);
    if (!written)
      return written.takeError();
    e.file = *written;
  }
  lib.sessionFree(e.session);
  e.session = nullptr;
  ramUsed -= e.bytes;
  return llvm::Error::success();
}

void PrefixCache::evict() {
  while (ramUsed > ramBytes) {
    size_t oldest = entries.size();
    for (size_t i = 0; i < entries.size(); ++i)
      if (entries[i].session && (oldest == entries.size() || entries[i].lastUse < entries[oldest].lastUse))
        oldest = i;
    if (oldest == entries.size())
      break;
    if (dir.empty()) {
      drop(oldest);
      continue;
    }
    if (llvm::Error e = spill(entries[oldest])) {
      llvm::errs() << "hybridc serve: prefix cache: " << llvm::toString(std::move(e))
                   << " (the entry is dropped)\n";
      drop(oldest);
    }
  }
  if (!dir.empty())
    prune();
}

int64_t PrefixCache::entriesInMemory() const {
  return std::count_if(entries.begin(), entries.end(), [](const Entry &e) { return e.session; });
}

int64_t PrefixCache::entriesOnDisk() const {
  return std::count_if(entries.begin(), entries.end(), [](const Entry &e) { return !e.file.empty(); });
}

} // namespace hybridc::serve
