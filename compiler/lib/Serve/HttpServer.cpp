//===- HttpServer.cpp - `hybridc serve`'s HTTP front -------------------------===//
#include "hybridc/Serve/HttpServer.h"

#include "hybridc/Chat/ChatTemplateSource.h"
#include "hybridc/Serve/ChatPrompts.h"
#include "hybridc/Serve/Requests.h"
#include "hybridc/Serve/Responses.h"
#include "hybridc/Serve/ToolCallStream.h"
#include "hybridc/Support/Error.h"

#include "llvm/Support/raw_ostream.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <ctime>
#include <pthread.h>
#include <sys/socket.h>
#include <thread>

namespace hybridc::serve {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char *kJson = "application/json";

std::string dump(const Json &j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void sendError(httplib::Response &res, const ApiError &e) {
  res.status = e.status;
  res.set_content(errorBody(e), kJson);
}

void sendError(httplib::Response &res, llvm::Error e) { sendError(res, toApiError(std::move(e))); }

class Front {
public:
  Front(const ServerOptions &options, Engine &engine, const ChatPrompts &prompts)
      : options(options), engine(engine), prompts(prompts) {
    limits.modelName = engine.manifest().name;
    limits.vocab = static_cast<int32_t>(engine.manifest().vocabSize);
    limits.maxContext = options.engine.maxContext;
  }

  void install(httplib::Server &svr);

private:
  void generate(const httplib::Request &req, httplib::Response &res, Endpoint endpoint);
  llvm::Expected<std::vector<int32_t>> promptOf(const GenerationRequest &r);
  void slotAction(const httplib::Request &req, httplib::Response &res);

  const ServerOptions &options;
  Engine &engine;
  const ChatPrompts &prompts;
  RequestLimits limits;
  std::atomic<uint64_t> nextId{0};
};

llvm::Expected<std::vector<int32_t>> Front::promptOf(const GenerationRequest &r) {
  const char *param = r.endpoint == Endpoint::Completion ? "prompt" : "messages";
  std::vector<int32_t> ids;
  if (r.endpoint == Endpoint::ChatCompletion) {
    llvm::Expected<std::string> text = prompts.render(r.messages, r.tools, r.templateName);
    if (!text)
      return text.takeError();
    // The template writes the special tokens (BOS included) as text.
    llvm::Expected<std::vector<int32_t>> t = engine.text().tokenize(*text, kTokenizeParseSpecial);
    if (!t)
      return badRequest(param, llvm::toString(t.takeError()));
    ids = std::move(*t);
  } else if (r.promptText) {
    llvm::Expected<std::vector<int32_t>> t =
        engine.text().tokenize(*r.promptText, kTokenizeAddSpecial | kTokenizeParseSpecial);
    if (!t)
      return badRequest(param, llvm::toString(t.takeError()));
    ids = std::move(*t);
  } else {
    ids = r.promptTokens;
  }
  if (ids.empty())
    return badRequest(param, llvm::Twine("the ") + param + " gives no tokens");
  const int64_t context = options.engine.maxContext;
  if (int64_t(ids.size()) >= context)
    return badRequest(param, llvm::Twine("the ") + param + " is " + llvm::Twine(ids.size()) +
                                 " tokens; this server's context (--max-context) holds " +
                                 llvm::Twine(context) + " tokens, prompt and reply together");
  return ids;
}

void Front::generate(const httplib::Request &req, httplib::Response &res, Endpoint endpoint) {
  llvm::Expected<GenerationRequest> r = parseGenerationRequest(req.body, endpoint, limits);
  if (!r)
    return sendError(res, r.takeError());
  llvm::Expected<std::vector<int32_t>> prompt = promptOf(*r);
  if (!prompt)
    return sendError(res, prompt.takeError());
  GenerationJob job;
  const int64_t room = options.engine.maxContext - int64_t(prompt->size());
  job.maxTokens = std::min(r->maxTokens.value_or(room), room);
  job.prompt = std::move(*prompt);
  job.sampling = r->sampling;
  job.stop = r->stop;
  job.ignoreEos = r->ignoreEos;
  llvm::Expected<std::shared_ptr<Generation>> submitted = engine.submit(std::move(job));
  if (!submitted)
    return sendError(res, submitted.takeError());
  std::shared_ptr<Generation> gen = std::move(*submitted);

  ResponseHeader h;
  h.endpoint = endpoint;
  h.id = (endpoint == Endpoint::Completion ? "cmpl-" : "chatcmpl-") + std::to_string(++nextId);
  h.created = int64_t(std::time(nullptr));
  h.model = r->model;
  const bool withTools = endpoint == Endpoint::ChatCompletion && r->tools.has_value();

  if (!r->stream) {
    std::string reply, piece;
    while (gen->next(piece))
      reply += piece;
    if (gen->reason == FinishReason::Error)
      return sendError(res, *gen->error);
    res.set_content(completionBody(h, reply, withTools, r->returnTokens, *gen), kJson);
    return;
  }
  const bool includeUsage = r->includeUsage;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [h, gen, withTools, includeUsage](size_t, httplib::DataSink &sink) {
        auto send = [&](const std::string &data) {
          std::string event = "data: " + data + "\n\n";
          return sink.write(event.data(), event.size());
        };
        auto gone = [&] {
          gen->cancel(); // the client left: the engine frees the slot
          return false;
        };
        if (h.endpoint == Endpoint::ChatCompletion && !send(roleChunk(h)))
          return gone();
        ToolCallStream calls;
        std::string piece;
        while (gen->next(piece)) {
          std::string out = withTools ? calls.push(piece) : std::move(piece);
          if (!out.empty() && !send(textChunk(h, out)))
            return gone();
        }
        if (gen->reason == FinishReason::Error) {
          send(errorBody(*gen->error));
          sink.done();
          return true;
        }
        ToolCallStream::End end = withTools ? calls.finish() : ToolCallStream::End{};
        if (!end.text.empty() && !send(textChunk(h, end.text)))
          return gone();
        if (!send(finishChunk(h, gen->reason, end.calls)))
          return gone();
        if (includeUsage && !send(usageChunk(h, *gen)))
          return gone();
        send("[DONE]");
        sink.done();
        return true;
      });
}

void Front::slotAction(const httplib::Request &req, httplib::Response &res) {
  int id = -1;
  llvm::StringRef(req.matches[1].str()).getAsInteger(10, id);
  std::string action = req.get_param_value("action");
  Json out;
  out["id_slot"] = id;
  if (action == "erase") {
    if (llvm::Error e = engine.eraseSlot(id))
      return sendError(res, std::move(e));
    res.set_content(dump(out), kJson);
    return;
  }
  if (action != "save" && action != "restore")
    return sendError(res, ApiError(400, "invalid_request_error",
                                   "action must be save, restore or erase, not '" + action + "'",
                                   "action"));
  if (options.engine.cacheDir.empty())
    return sendError(res, ApiError(400, "invalid_request_error",
                                   "slot files go to the server's --cache-dir, and it was started "
                                   "without one",
                                   "action"));
  llvm::Expected<std::string> name = parseSlotFileRequest(req.body);
  if (!name)
    return sendError(res, name.takeError());
  std::string path = options.engine.cacheDir + "/" + *name;
  out["filename"] = *name;
  if (action == "save") {
    llvm::Expected<int64_t> bytes = engine.saveSlot(id, path);
    if (!bytes)
      return sendError(res, bytes.takeError());
    out["n_written"] = *bytes;
  } else {
    llvm::Expected<int64_t> tokens = engine.restoreSlot(id, path);
    if (!tokens)
      return sendError(res, tokens.takeError());
    out["n_restored"] = *tokens;
  }
  res.set_content(dump(out), kJson);
}

void Front::install(httplib::Server &svr) {
  // Everything but /health needs the key, when there is one.
  svr.set_pre_routing_handler([this](const httplib::Request &req, httplib::Response &res) {
    if (options.apiKey.empty() || req.path == "/health")
      return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + options.apiKey)
      return httplib::Server::HandlerResponse::Unhandled;
    sendError(res, ApiError(401, "authentication_error",
                            "a valid API key is required: send 'Authorization: Bearer KEY'", "",
                            "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // httplib's own refusals (no such path, body too large, bad request line)
  // in OpenAI's error shape too.
  svr.set_error_handler([](const httplib::Request &req, httplib::Response &res) {
    if (!res.body.empty())
      return;
    std::string message = res.status == 404   ? "no such endpoint: " + req.method + " " + req.path
                          : res.status == 413 ? "the request body is too large"
                          : res.status == 405 ? "method not allowed: " + req.method + " " + req.path
                                              : "bad request";
    res.set_content(errorBody(ApiError(res.status, "invalid_request_error", message)), kJson);
  });
  svr.set_exception_handler([](const httplib::Request &, httplib::Response &res,
                               std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception &e) {
      what += std::string(": ") + e.what();
    } catch (...) {
    }
    sendError(res, ApiError(500, "server_error", what));
  });

  svr.Get("/health", [](const httplib::Request &, httplib::Response &res) {
    res.set_content("{\"status\":\"ok\"}", kJson);
  });
  svr.Get("/v1/models", [this](const httplib::Request &, httplib::Response &res) {
    const Manifest &m = engine.manifest();
    Json model;
    model["id"] = m.name;
    model["object"] = "model";
    model["created"] = 0;
    model["owned_by"] = "hybridc";
    model["meta"] = {{"vocab_size", m.vocabSize},
                     {"max_context", options.engine.maxContext},
                     {"slots", options.engine.slots},
                     {"chat_template", !prompts.empty()}};
    Json out;
    out["object"] = "list";
    out["data"] = Json::array({std::move(model)});
    res.set_content(dump(out), kJson);
  });
  svr.Post("/v1/completions", [this](const httplib::Request &req, httplib::Response &res) {
    generate(req, res, Endpoint::Completion);
  });
  svr.Post("/v1/chat/completions", [this](const httplib::Request &req, httplib::Response &res) {
    generate(req, res, Endpoint::ChatCompletion);
  });
  svr.Post("/tokenize", [this](const httplib::Request &req, httplib::Response &res) {
    llvm::Expected<TokenizeRequest> r = parseTokenizeRequest(req.body);
    if (!r)
      return sendError(res, r.takeError());
    int32_t flags = (r->addSpecial ? kTokenizeAddSpecial : 0) |
                    (r->parseSpecial ? kTokenizeParseSpecial : 0);
    llvm::Expected<std::vector<int32_t>> ids = engine.text().tokenize(r->content, flags);
    if (!ids)
      return sendError(res, badRequest("content", llvm::toString(ids.takeError())));
    res.set_content(dump(Json{{"tokens", *ids}}), kJson);
  });
  svr.Post("/detokenize", [this](const httplib::Request &req, httplib::Response &res) {
    llvm::Expected<std::vector<int32_t>> ids = parseDetokenizeRequest(req.body, limits);
    if (!ids)
      return sendError(res, ids.takeError());
    llvm::Expected<std::string> text = engine.text().detokenize(*ids);
    if (!text)
      return sendError(res, badRequest("tokens", llvm::toString(text.takeError())));
    res.set_content(dump(Json{{"content", *text}}), kJson);
  });
  svr.Get("/metrics", [this](const httplib::Request &, httplib::Response &res) {
    res.set_content(renderPrometheus(engine.metrics()), "text/plain; version=0.0.4");
  });
  svr.Get("/slots", [this](const httplib::Request &, httplib::Response &res) {
    Json list = Json::array();
    for (const SlotInfo &s : engine.slots())
      list.push_back({{"id", s.id},
                      {"is_processing", s.busy},
                      {"n_tokens", s.tokens},
                      {"state_bytes", s.stateBytes}});
    res.set_content(dump(list), kJson);
  });
  svr.Post(R"(/slots/(\d+))", [this](const httplib::Request &req, httplib::Response &res) {
    slotAction(req, res);
  });
}

} // namespace

llvm::Error serve(const ServerOptions &options) {
  // SIGINT and SIGTERM are taken by one thread that stops the server; every
  // other thread (httplib's, the engine's, the sessions') starts with them
  // blocked. SIGPIPE: a client gone mid-write is a failed write, not a death.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  llvm::Expected<std::unique_ptr<Engine>> engine = Engine::start(options.engine);
  if (!engine)
    return engine.takeError();
  const Manifest &m = (*engine)->manifest();
  ChatTemplateSet templates;
  if (m.description)
    templates = chatTemplatesOfLibrary(*m.description, options.engine.outDir);
  ChatPrompts prompts(std::move(templates));
  for (const std::string &p : prompts.problems())
    llvm::errs() << "hybridc serve: warning: " << p << " (chat requests with it are refused)\n";

  httplib::Server svr;
  int threads = options.httpThreads > 0
                    ? options.httpThreads
                    : int(options.engine.slots + options.engine.maxQueued + 8);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  svr.set_payload_max_length(options.maxBodyBytes);
  // httplib's default also sets SO_REUSEPORT, which would let a second
  // server listen on a port already in use and take half its connections.
  svr.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  svr.set_read_timeout(30, 0);
  Front front(options, **engine, prompts);
  front.install(svr);

  int port = options.port;
  if (port == 0) {
    port = svr.bind_to_any_port(options.host);
    if (port < 0)
      return makeError("cannot listen on " + options.host + " (any port)");
  } else if (!svr.bind_to_port(options.host, port)) {
    return makeError("cannot listen on " + options.host + ":" + std::to_string(port) +
                     " (in use, or not an address of this machine)");
  }
  llvm::outs() << "hybridc serve: listening on http://" << options.host << ":" << port << "\n";
  llvm::outs().flush();

  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stopSignals, &sig);
    // Generations in flight end now (their clients get a 503), so that
    // the connection threads svr.stop() waits for are free.
    (*engine)->close();
    svr.stop();
  });
  bool ok = svr.listen_after_bind();
  // Wake the stopper if the server ended by itself.
  if (!svr.is_running())
    pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  if (!ok)
    return makeError("the server stopped listening on " + options.host + ":" +
                     std::to_string(port));
  return llvm::Error::success();
}

} // namespace hybridc::serve
