//===- EngineState.h - what the engine's scheduler owns ---------*- C++ -*-===//
//
// The slots and the shared state of an Engine (Engine.h), for the files
// that implement it: Engine.cpp (lifecycle and the scheduler) and
// SlotCommands.cpp (/slots save, restore, erase).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SERVE_ENGINESTATE_H
#define HYBRIDC_SERVE_ENGINESTATE_H

#include "hybridc/Serve/Engine.h"
#include "hybridc/Serve/PrefixCache.h"
#include "hybridc/Serve/TextStream.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace hybridc::serve {

struct Engine::Slot {
  int id = 0;
  void *session = nullptr;
  std::vector<int32_t> tokens; // what the session has been fed
  uint64_t lastUse = 0;
  // The request it runs (null: idle).
  std::shared_ptr<Generation> gen;
  GenerationJob job;
  size_t promptFed = 0; // prompt tokens the session holds
  bool generating = false; // else prefilling
  int32_t next = 0;        // sampled, not fed yet
  std::unique_ptr<LibrarySampler> sampler;
  TextStream stream;
  std::chrono::steady_clock::time_point firstToken;
};

struct Engine::State {
  std::mutex m;
  std::condition_variable cv;
  bool stopping = false;
  bool closing = false; // refuse new requests, end the ones in flight
  std::deque<std::pair<std::shared_ptr<Generation>, GenerationJob>> waiting;
  std::deque<std::function<void()>> commands;
  int64_t inFlight = 0; // submitted and not ended, under m
  std::vector<Slot> slots;
  std::unique_ptr<PrefixCache> cache;
  Metrics metrics; // under m
  std::vector<SlotInfo> slotInfo; // under m, as of the latest step
  uint64_t clock = 0;
  std::thread scheduler;
  std::vector<float> logits; // [slots][vocab]
};

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_ENGINESTATE_H
