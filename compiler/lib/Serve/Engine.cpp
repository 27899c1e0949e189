//===- Engine.cpp - many generations on one model, batched ------------------===//
#include "EngineState.h"

#include "hybridc/Support/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

namespace hybridc::serve {
namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Sessions shorter than this are not worth a cache entry.
constexpr int64_t kMinCachedTokens = 8;
/// A prompt prefilled with no stream waiting goes in chunks of this many
/// --prefill-chunk (2048 tokens by default: about 3 s on `small`).
constexpr int64_t kAloneChunks = 8;

} // namespace

llvm::Expected<std::unique_ptr<Engine>> Engine::start(const EngineOptions &options) {
  std::unique_ptr<Engine> e(new Engine());
  e->options_ = options;
  llvm::Expected<std::unique_ptr<CompiledLibrary>> lib = CompiledLibrary::load(options.outDir);
  if (!lib)
    return lib.takeError();
  e->lib = std::move(*lib);
  std::string weights = e->lib->weightsPath();
  if (e->lib->modelOpen(weights.empty() ? nullptr : weights.c_str(), &e->model) != 0)
    return makeError(e->lib->manifest().name + "_model_open: " + e->lib->lastError());
  if (options.threads > 0 && e->lib->modelSetThreads(e->model, options.threads) != 0)
    return makeError(std::string("model_set_threads: ") + e->lib->lastError());
  llvm::Expected<std::unique_ptr<LibraryText>> text = LibraryText::bind(*e->lib, e->model);
  if (!text)
    return text.takeError();
  e->text_ = std::move(*text);
  if (!options.cacheDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(options.cacheDir))
      return makeError("--cache-dir " + options.cacheDir + ": " + ec.message());
  }
  e->state = std::make_unique<State>();
  State &s = *e->state;
  s.slots.resize(size_t(options.slots));
  for (int i = 0; i < options.slots; ++i)
    s.slots[size_t(i)].id = i;
  s.cache = std::make_unique<PrefixCache>(*e->lib, e->model, options.cacheRamBytes,
                                          options.cacheDir, options.cacheDiskBytes);
  s.logits.resize(size_t(options.slots) * size_t(e->lib->vocab()));
  e->publish();
  s.scheduler = std::thread([raw = e.get()] { raw->schedule(); });
  return e;
}

Engine::~Engine() {
  if (state) {
    {
      std::lock_guard<std::mutex> lock(state->m);
      state->stopping = true;
    }
    state->cv.notify_all();
    if (state->scheduler.joinable())
      state->scheduler.join();
    // Whoever still waits on a generation hears that it ended (close()
    // normally ended them all before).
    auto shutDown = [](Generation &g) {
      g.reason = FinishReason::Error;
      g.error = ApiError(503, "server_error", "the server is shutting down", "", "shutting_down");
      g.end();
    };
    for (auto &w : state->waiting)
      shutDown(*w.first);
    for (Slot &slot : state->slots) {
      if (slot.gen)
        shutDown(*slot.gen);
      if (slot.session)
        lib->sessionFree(slot.session);
    }
    state->cache.reset();
  }
  if (model)
    lib->modelClose(model);
}

llvm::Error Engine::check(int status, const char *call) const {
  if (status == 0)
    return llvm::Error::success();
  return makeError(manifest().name + "_" + call + ": " + lib->lastError());
}

llvm::Error Engine::configure(void *session) const {
  if (options_.threads > 0)
    if (llvm::Error e = check(lib->sessionSetThreads(session, options_.threads), "session_set_threads"))
      return e;
  if (llvm::Error e = check(lib->sessionSetMaxTokens(session, options_.maxContext),
                            "session_set_max_tokens"))
    return e;
  return check(lib->sessionSetCheckpointInterval(session, options_.checkpointInterval),
               "session_set_checkpoint_interval");
}

llvm::Expected<std::shared_ptr<Generation>> Engine::submit(GenerationJob job) {
  auto gen = std::make_shared<Generation>();
  gen->submitted = Clock::now();
  gen->promptTokens = int64_t(job.prompt.size());
  {
    std::lock_guard<std::mutex> lock(state->m);
    if (state->closing)
      return llvm::make_error<ApiError>(503, "server_error", "the server is shutting down", "",
                                        "shutting_down");
    if (state->inFlight >= options_.slots + options_.maxQueued) {
      ++state->metrics.requestsRejected;
      return llvm::make_error<ApiError>(
          503, "server_error",
          "the server is busy: all " + std::to_string(options_.slots) + " slots generate and " +
              std::to_string(state->waiting.size()) + " requests wait (--max-queue " +
              std::to_string(options_.maxQueued) + "); try again later",
          "", "server_busy");
    }
    state->waiting.emplace_back(gen, std::move(job));
    ++state->inFlight;
  }
  state->cv.notify_all();
  return gen;
}

void Engine::close() {
  {
    std::lock_guard<std::mutex> lock(state->m);
    state->closing = true;
  }
  state->cv.notify_all();
}

llvm::Error Engine::runCommand(std::function<llvm::Error()> fn) {
  std::promise<std::optional<ApiError>> done;
  std::future<std::optional<ApiError>> result = done.get_future();
  {
    std::lock_guard<std::mutex> lock(state->m);
    state->commands.push_back([&] {
      llvm::Error e = fn();
      publish(); // what the command changed, before its caller hears back
      done.set_value(e ? std::optional<ApiError>(toApiError(std::move(e))) : std::nullopt);
    });
  }
  state->cv.notify_all();
  std::optional<ApiError> failed = result.get();
  if (failed)
    return llvm::make_error<ApiError>(*failed);
  return llvm::Error::success();
}


Metrics Engine::metrics() {
  std::lock_guard<std::mutex> lock(state->m);
  Metrics m = state->metrics;
  m.queued = int64_t(state->waiting.size());
  return m;
}

//===-- The scheduler ------------------------------------------------------===//

void Engine::schedule() {
  State &st = *state;
  const int32_t vocab = lib->vocab();
  const int32_t eos = text_->eos();

  // Ends the slot's request; the session stays with the slot, holding
  // what it was fed.
  auto finish = [&](Slot &s, FinishReason reason, std::optional<ApiError> error = std::nullopt) {
    Generation &g = *s.gen;
    g.emit(s.stream.finish());
    g.reason = reason;
    g.error = std::move(error);
    if (s.generating)
      g.generationSeconds = secondsSince(s.firstToken);
    {
      std::lock_guard<std::mutex> lock(st.m);
      --st.inFlight;
      Metrics &m = st.metrics;
      ++m.requests;
      m.requestsFailed += reason == FinishReason::Error;
      m.requestsCancelled += reason == FinishReason::Cancelled;
      m.promptTokens += g.promptTokens;
      m.generatedTokens += g.completionTokens;
      m.generationSeconds += g.generationSeconds;
    }
    // For the replicas sharing the folder: this session as the turn left
    // it, written before the client hears the turn has ended.
    if (options_.shareCache && int64_t(s.tokens.size()) >= kMinCachedTokens)
      if (llvm::Error e = st.cache->writeThrough(s.tokens, s.session))
        llvm::errs() << "hybridc serve: --share-cache: " << llvm::toString(std::move(e)) << "\n";
    std::shared_ptr<Generation> ended = std::move(s.gen);
    s.sampler.reset();
    s.lastUse = ++st.clock;
    publish(); // GET /slots shows the slot free before the client hears the end
    ended->end();
  };
  auto fail = [&](Slot &s, llvm::Error e) {
    // The session may have failed mid-call: the library leaves it as it was,
    // so its tokens still describe it.
    finish(s, FinishReason::Error, toApiError(std::move(e)));
  };

  // A sampled token: shown, then either ends the request or is fed next step.
  auto take = [&](Slot &s, int32_t token) {
    Generation &g = *s.gen;
    if (g.completionTokens == 0) {
      s.firstToken = Clock::now();
      g.firstTokenSeconds = secondsSince(g.submitted);
    }
    if (token == eos && !s.job.ignoreEos)
      return finish(s, FinishReason::Stop);
    ++g.completionTokens;
    g.tokens.push_back(token);
    llvm::Expected<std::string> piece = text_->piece(token);
    if (!piece)
      return fail(s, piece.takeError());
    g.emit(s.stream.push(*piece));
    if (s.stream.stopped())
      return finish(s, FinishReason::Stop);
    if (g.completionTokens >= s.job.maxTokens ||
        int64_t(s.tokens.size()) + 1 > options_.maxContext)
      return finish(s, FinishReason::Length);
    s.next = token;
    s.generating = true;
  };
  auto sample = [&](Slot &s, const float *logits) {
    llvm::Expected<int32_t> token = s.sampler->sample(logits);
    if (!token)
      return fail(s, token.takeError());
    take(s, *token);
  };

  // Puts a slot's session in the cache, leaving the slot empty.
  auto release = [&](Slot &s) {
    if (!s.session)
      return;
    if (options_.reusePrefixes && int64_t(s.tokens.size()) >= kMinCachedTokens)
      st.cache->insert(std::move(s.tokens), s.session);
    else
      lib->sessionFree(s.session);
    s.session = nullptr;
    s.tokens.clear();
  };

  // The session at the end of a prompt goes to the cache (a fork: a copy
  // of its state and KV rows, milliseconds against the prompt's seconds):
  // the next turn of a conversation starts from there even when the reply,
  // tokenized again inside the new prompt, differs from the tokens
  // generated, where the slot's own session would have to re-feed from a
  // checkpoint.
  auto snapshot = [&](Slot &s) {
    if (!options_.reusePrefixes || options_.cacheRamBytes <= 0 ||
        int64_t(s.tokens.size()) < kMinCachedTokens)
      return;
    void *fork = nullptr;
    if (lib->sessionFork(s.session, &fork) != 0)
      return; // out of memory: no snapshot, nothing else changes
    st.cache->insert(s.tokens, fork);
  };

  // Gives the request a slot, starting from whatever leaves the fewest
  // tokens to feed: an idle slot's session (no copy; it wins ties), a
  // prefix cache entry (forked), or nothing.
  auto admit = [&](std::shared_ptr<Generation> gen, GenerationJob job, Slot *&out) -> llvm::Error {
    const std::vector<int32_t> &prompt = job.prompt;
    const int64_t n = int64_t(prompt.size());
    const int64_t keepMax = n - 1; // one token is fed for the logits
    const int64_t interval = options_.checkpointInterval;
    Slot *target = nullptr;
    int64_t keep = 0, cost = n;
    for (Slot &s : st.slots) {
      if (s.gen || !s.session || !options_.reusePrefixes)
        continue;
      int64_t k = std::min(commonPrefix(s.tokens, prompt), keepMax);
      int64_t c = promptCost(int64_t(s.tokens.size()), k, n, interval);
      if (k > 0 && c < cost) {
        target = &s;
        keep = k;
        cost = c;
      }
    }
    if (options_.shareCache)
      st.cache->refresh();
    PrefixCache::Match fromCache = options_.reusePrefixes
                                       ? st.cache->cheapest(prompt, keepMax, interval)
                                       : PrefixCache::Match{};
    if (!target || (fromCache.keep > 0 && fromCache.cost < cost)) {
      // An empty slot, else the least recently used idle one; what it holds
      // goes to the cache.
      target = nullptr;
      for (Slot &s : st.slots)
        if (!s.gen && (!target || (target->session && (!s.session || s.lastUse < target->lastUse))))
          target = &s;
      release(*target);
      keep = 0;
      if (fromCache.keep > 0) {
        llvm::Expected<void *> session = st.cache->open(fromCache.entry);
        if (session) {
          target->session = *session;
          // What the file read back holds, compared again (another process
          // may have written it since the folder was indexed).
          target->tokens = st.cache->tokensOf(fromCache.entry);
          keep = std::min(commonPrefix(target->tokens, prompt), keepMax);
        } else {
          llvm::consumeError(session.takeError()); // start from nothing instead
        }
      }
      if (!target->session)
        if (llvm::Error e = check(lib->sessionCreate(model, &target->session), "session_create"))
          return e;
      if (llvm::Error e = configure(target->session)) {
        lib->sessionFree(target->session);
        target->session = nullptr;
        target->tokens.clear();
        return e;
      }
    }
    Slot &s = *target;
    if (int64_t(s.tokens.size()) > keep) {
      if (keep == 0 || lib->sessionTruncate(s.session, keep) != 0) {
        keep = 0;
        if (llvm::Error e = check(lib->sessionReset(s.session), "session_reset"))
          return e;
      }
      s.tokens.resize(size_t(keep));
    }
    llvm::Expected<std::unique_ptr<LibrarySampler>> sampler = text_->sampler(job.sampling);
    if (!sampler)
      return sampler.takeError();
    if (llvm::Error e = (*sampler)->accept(prompt))
      return e;
    s.sampler = std::move(*sampler);
    s.gen = std::move(gen);
    s.gen->slot = s.id;
    s.gen->cachedTokens = keep;
    s.stream = TextStream(job.stop);
    s.job = std::move(job);
    s.promptFed = size_t(keep);
    s.generating = false;
    s.lastUse = ++st.clock;
    {
      std::lock_guard<std::mutex> lock(st.m);
      if (keep > 0) {
        ++st.metrics.prefixCacheHits;
        st.metrics.prefixCacheReusedTokens += keep;
      }
    }
    out = &s;
    return llvm::Error::success();
  };

  const ApiError shuttingDown(503, "server_error", "the server is shutting down", "",
                              "shutting_down");
  bool closing = false;
  size_t prefillTurn = 0;
  for (;;) {
    std::deque<std::function<void()>> commands;
    std::vector<std::pair<std::shared_ptr<Generation>, GenerationJob>> admitted;
    {
      std::unique_lock<std::mutex> lock(st.m);
      auto idleSlots = [&] {
        return std::count_if(st.slots.begin(), st.slots.end(), [](const Slot &s) { return !s.gen; });
      };
      auto active = [&] {
        return std::any_of(st.slots.begin(), st.slots.end(), [](const Slot &s) { return s.gen; });
      };
      st.cv.wait(lock, [&] {
        return st.stopping || !st.commands.empty() || active() ||
               (!st.waiting.empty() && (idleSlots() > 0 || st.closing));
      });
      if (st.stopping)
        break;
      commands.swap(st.commands);
      closing = st.closing;
      for (long free = closing ? long(st.waiting.size()) : idleSlots();
           free > 0 && !st.waiting.empty(); --free) {
        admitted.push_back(std::move(st.waiting.front()));
        st.waiting.pop_front();
      }
    }
    for (auto &c : commands)
      c();
    for (auto &[gen, job] : admitted) {
      auto endUnadmitted = [&](FinishReason reason, std::optional<ApiError> error) {
        gen->reason = reason;
        gen->error = std::move(error);
        {
          std::lock_guard<std::mutex> lock(st.m);
          --st.inFlight;
          ++st.metrics.requests;
          st.metrics.requestsCancelled += reason == FinishReason::Cancelled;
          st.metrics.requestsFailed += reason == FinishReason::Error;
        }
        gen->end();
      };
      if (gen->cancelled()) {
        endUnadmitted(FinishReason::Cancelled, std::nullopt);
        continue;
      }
      if (closing) {
        endUnadmitted(FinishReason::Error, shuttingDown);
        continue;
      }
      gen->queuedSeconds = secondsSince(gen->submitted);
      Clock::time_point t0 = Clock::now();
      Slot *slot = nullptr;
      if (llvm::Error e = admit(gen, std::move(job), slot)) {
        endUnadmitted(FinishReason::Error, toApiError(std::move(e)));
        continue;
      }
      slot->gen->promptSeconds += secondsSince(t0); // truncating re-feeds tokens
    }
    // Clients gone: their slots are free from now on.
    for (Slot &s : st.slots) {
      if (s.gen && s.gen->cancelled())
        finish(s, FinishReason::Cancelled);
      else if (s.gen && closing)
        finish(s, FinishReason::Error, shuttingDown);
    }

    // One token for every generating slot, in one call.
    std::vector<Slot *> batch;
    for (Slot &s : st.slots)
      if (s.gen && s.generating)
        batch.push_back(&s);
    if (!batch.empty()) {
      std::vector<void *> sessions;
      std::vector<int32_t> tokens;
      for (Slot *s : batch) {
        sessions.push_back(s->session);
        tokens.push_back(s->next);
      }
      int status = batch.size() == 1
                       ? lib->decode(sessions[0], tokens[0], st.logits.data())
                       : lib->decodeBatch(sessions.data(), tokens.data(), int64_t(batch.size()),
                                          st.logits.data());
      if (status != 0) {
        std::string why = manifest().name + (batch.size() == 1 ? "_decode: " : "_decode_batch: ") +
                          lib->lastError();
        for (Slot *s : batch)
          fail(*s, makeError(why));
      } else {
        {
          std::lock_guard<std::mutex> lock(st.m);
          ++st.metrics.decodeSteps;
          st.metrics.decodeStepStreams += int64_t(batch.size());
        }
        for (size_t i = 0; i < batch.size(); ++i) {
          batch[i]->tokens.push_back(tokens[i]);
          sample(*batch[i], st.logits.data() + i * size_t(vocab));
        }
      }
    }

    // One chunk of one prompt (the slots take turns): --prefill-chunk
    // tokens while streams wait on the step, else up to kAloneChunks times
    // that, so requests and slot commands arriving meanwhile wait seconds,
    // not a whole long prompt.
    std::vector<Slot *> prefilling;
    for (Slot &s : st.slots)
      if (s.gen && !s.generating)
        prefilling.push_back(&s);
    if (!prefilling.empty()) {
      Slot &s = *prefilling[prefillTurn++ % prefilling.size()];
      bool othersWait = std::any_of(st.slots.begin(), st.slots.end(),
                                    [](const Slot &o) { return o.gen && o.generating; });
      int64_t rest = int64_t(s.job.prompt.size() - s.promptFed);
      int64_t n = std::min(rest, options_.prefillChunk * (othersWait ? 1 : kAloneChunks));
      bool last = n == rest;
      Clock::time_point t0 = Clock::now();
      int status = lib->prefill(s.session, s.job.prompt.data() + s.promptFed, n,
                                last ? st.logits.data() : nullptr, 0);
      double seconds = secondsSince(t0);
      if (status != 0) {
        fail(s, makeError(manifest().name + "_prefill: " + lib->lastError()));
      } else {
        s.tokens.insert(s.tokens.end(), s.job.prompt.begin() + long(s.promptFed),
                        s.job.prompt.begin() + long(s.promptFed) + n);
        s.promptFed += size_t(n);
        s.gen->promptSeconds += seconds;
        {
          std::lock_guard<std::mutex> lock(st.m);
          st.metrics.promptSeconds += seconds;
          st.metrics.promptTokensFed += n;
        }
        if (last) {
          sample(s, st.logits.data()); // the first token goes out first
          snapshot(s);
        }
      }
    }

    publish();
  }
}

void Engine::publish() {
  State &st = *state;
  int64_t active = 0, bytes = 0;
  std::vector<SlotInfo> info;
  for (Slot &s : st.slots) {
    active += s.gen != nullptr;
    int64_t held = s.session ? lib->sessionStateBytes(s.session) : 0;
    bytes += held;
    info.push_back({s.id, s.gen != nullptr, int64_t(s.tokens.size()), held});
  }
  std::lock_guard<std::mutex> lock(st.m);
  st.slotInfo = std::move(info);
  st.metrics.activeSlots = active;
  st.metrics.slotStateBytes = bytes;
  st.metrics.cacheEntries = st.cache->entriesInMemory();
  st.metrics.cacheBytes = st.cache->bytesInMemory();
  st.metrics.cacheDiskEntries = st.cache->entriesOnDisk();
}

} // namespace hybridc::serve
