//===- HttpServer.h - `hybridc serve`'s HTTP front ----------------*- C++ -*-===//
//
// OpenAI's API (and llama-server's /tokenize, /detokenize, /slots, /metrics)
// over cpp-httplib, in front of one Engine. Requests are checked
// (Requests.h), prompts rendered (ChatPrompts.h) and tokenized on the
// connection's thread; the engine's scheduler does the rest. Streams are
// server-sent events in OpenAI's chunk format ending in `data: [DONE]`; a
// client that goes away mid-stream stops its generation.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_SERVE_HTTPSERVER_H
#define HYBRIDC_SERVE_HTTPSERVER_H

#include "hybridc/Serve/Engine.h"

#include "llvm/Support/Error.h"

#include <cstddef>
#include <string>

namespace hybridc::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0: any free port (printed)
  std::string apiKey;               // "": no authentication
  size_t maxBodyBytes = 8u << 20;
  int httpThreads = 0;              // 0: slots + queue + 8
  EngineOptions engine;
};

/// Serves until SIGINT or SIGTERM. Prints one line to stdout when it
/// listens: "hybridc serve: listening on http://HOST:PORT".
llvm::Error serve(const ServerOptions &options);

} // namespace hybridc::serve

#endif // HYBRIDC_SERVE_HTTPSERVER_H
