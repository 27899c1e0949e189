//===- ServeCommand.cpp - `hybridc serve OUT_DIR` ---------------------------===//
//
// An OpenAI-compatible server over a compiled library (docs/serving.md):
// the flags, checked in words, handed to the serve library.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "OptionChecks.h"

#include "hybridc/Serve/HttpServer.h"

using namespace hybridc;

void hybridc::addServeCommand(CLI::App &app, int &exitCode) {
  auto opts = std::make_shared<serve::ServerOptions>();
  auto cacheMiB = std::make_shared<int64_t>(1024);
  auto bodyMiB = std::make_shared<int64_t>(8);
  auto diskMiB = std::make_shared<int64_t>(4096);
  CLI::App *cmd = app.add_subcommand(
      "serve", "Serve a compiled model over HTTP: OpenAI's /v1/completions and "
               "/v1/chat/completions (streamed or not), /tokenize, /metrics, /slots");
  serve::EngineOptions &e = opts->engine;
  cmd->add_option("out_dir", e.outDir, "Output folder of `hybridc compile`")->required();
  cmd->add_option("--host", opts->host,
                  "The address to listen on (default 127.0.0.1: this machine only)")
      ->capture_default_str();
  cmd->add_option("--port", opts->port, "The port (0: any free one, printed)")
      ->check(wholeNumber("the port", 0, 65535))
      ->capture_default_str();
  cmd->add_option("--slots", e.slots,
                  "Requests generated at once, batched into one decode step (more wait in a "
                  "queue)")
      ->check(wholeNumber("the slot count", 1, 256))
      ->capture_default_str();
  cmd->add_option("--threads", e.threads, "Threads per session (default: every CPU)")
      ->check(wholeNumber("the thread count", 1, 1024));
  cmd->add_option("--api-key", opts->apiKey,
                  "Require 'Authorization: Bearer KEY' on every request but /health");
  cmd->add_option("--max-context", e.maxContext,
                  "Tokens one request may hold, prompt and reply together")
      ->check(wholeNumber("the context in tokens", 2, int64_t(1) << 31))
      ->capture_default_str();
  cmd->add_option("--max-queue", e.maxQueued,
                  "Requests that may wait for a slot; more are answered 503")
      ->check(wholeNumber("the queue length", 0, 100000))
      ->capture_default_str();
  cmd->add_option("--prefill-chunk", e.prefillChunk,
                  "Prompt tokens prefilled per step while other requests generate (bounds "
                  "their time between tokens)")
      ->check(wholeNumber("the prefill chunk in tokens", 1, int64_t(1) << 31))
      ->capture_default_str();
  cmd->add_option("--checkpoint-interval", e.checkpointInterval,
                  "Keep each session's state every this many tokens, so a new request can "
                  "start from any point of a kept one (each costs the recurrent state's size)")
      ->check(wholeNumber("the checkpoint interval in tokens", 1, int64_t(1) << 31))
      ->capture_default_str();
  cmd->add_option("--cache-ram", *cacheMiB,
                  "MiB of finished sessions kept in memory for their prefixes (0: none)")
      ->check(wholeNumber("the prefix cache size in MiB", 0, int64_t(1) << 40))
      ->capture_default_str();
  cmd->add_option("--cache-dir", e.cacheDir,
                  "A folder for sessions evicted from memory and for /slots save and restore "
                  "(created if missing)");
  cmd->add_option("--cache-disk", *diskMiB,
                  "MiB of state images --cache-dir may hold (the oldest files go first)")
      ->check(wholeNumber("the cache folder size in MiB", 0, int64_t(1) << 40))
      ->capture_default_str();
  cmd->add_flag("--share-cache", opts->engine.shareCache,
                "Write every finished session to --cache-dir and look there before each "
                "request: replicas sharing the folder continue each other's conversations")
      ->needs("--cache-dir");
  cmd->add_flag("--no-prefix-reuse", [opts](int64_t) { opts->engine.reusePrefixes = false; },
               "Prefill every prompt whole in a fresh session (what servers that cannot cut "
               "back a recurrent state do; for comparisons)");
  cmd->add_option("--max-body", *bodyMiB, "The largest request body, in MiB")
      ->check(wholeNumber("the request body limit in MiB", 1, 4096))
      ->capture_default_str();
  cmd->callback([opts, cacheMiB, bodyMiB, diskMiB, &exitCode] {
    opts->engine.cacheRamBytes = *cacheMiB << 20;
    opts->engine.cacheDiskBytes = *diskMiB << 20;
    opts->maxBodyBytes = size_t(*bodyMiB) << 20;
    exitCode = 0;
    if (llvm::Error err = serve::serve(*opts)) {
      reportError(std::move(err));
      exitCode = 1;
    }
  });
}
