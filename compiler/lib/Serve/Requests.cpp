//===- Requests.cpp - OpenAI requests, checked and typed --------------------===//
//
// nlohmann::ordered_json keeps the client's key order, which a chat
// template's `tojson` of the tools shows to the model.
//
//===----------------------------------------------------------------------===//
#include "hybridc/Serve/Requests.h"

#include "hybridc/Chat/JsonText.h"
#include "hybridc/Serve/ApiError.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <limits>

namespace hybridc::serve {
namespace {

using Json = nlohmann::ordered_json;

llvm::Expected<Json> parseBody(llvm::StringRef body) {
  try {
    Json j = Json::parse(body.begin(), body.end());
    if (!j.is_object())
      return badRequest("", "the request body must be a JSON object");
    return j;
  } catch (const Json::exception &e) { // a syntax error, or a number beyond a double
    return badRequest("", llvm::Twine("the request body is not valid JSON: ") + e.what());
  }
}

const char *typeName(const Json &v) {
  switch (v.type()) {
  case Json::value_t::null: return "null";
  case Json::value_t::boolean: return "a boolean";
  case Json::value_t::string: return "a string";
  case Json::value_t::array: return "an array";
  case Json::value_t::object: return "an object";
  case Json::value_t::number_float: return "a float";
  default: return "an integer";
  }
}

llvm::Error wrongType(const std::string &key, const Json &v, const char *want) {
  return badRequest(key, "'" + key + "' must be " + want + ", not " + typeName(v));
}

/// The field, or nullptr when absent or null (OpenAI clients send nulls for
/// unset options).
const Json *field(const Json &j, const char *key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string showNumber(double x) {
  char buf[32];
  snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

llvm::Error readNumber(const Json &j, const char *key, double lo, double hi, bool loOpen,
                       std::optional<double> &out) {
  const Json *v = field(j, key);
  if (!v)
    return llvm::Error::success();
  if (!v->is_number())
    return wrongType(key, *v, "a number");
  double x = v->get<double>();
  if (!std::isfinite(x) || x > hi || (loOpen ? x <= lo : x < lo))
    return badRequest(key, llvm::Twine("'") + key + "' is " + showNumber(x) + "; it must be in " +
                               (loOpen ? "(" : "[") + showNumber(lo) + ", " + showNumber(hi) +
                               "]");
  out = x;
  return llvm::Error::success();
}

llvm::Error readInteger(const Json &j, const char *key, int64_t lo, int64_t hi,
                        std::optional<int64_t> &out) {
  const Json *v = field(j, key);
  if (!v)
    return llvm::Error::success();
  if (!v->is_number_integer())
    return wrongType(key, *v, "an integer");
  const bool huge = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX);
  const int64_t x = huge ? 0 : v->get<int64_t>();
  if (huge || x < lo || x > hi)
    return badRequest(key, llvm::Twine("'") + key + "' is " +
                               (huge ? llvm::Twine(v->get<uint64_t>()) : llvm::Twine(x)) +
                               "; it must be in [" + llvm::Twine(lo) + ", " + llvm::Twine(hi) + "]");
  out = x;
  return llvm::Error::success();
}

llvm::Error readBool(const Json &j, const char *key, bool &out) {
  const Json *v = field(j, key);
  if (!v)
    return llvm::Error::success();
  if (!v->is_boolean())
    return wrongType(key, *v, "a boolean");
  out = v->get<bool>();
  return llvm::Error::success();
}

llvm::Error readTokenIds(const Json &v, const char *key, const RequestLimits &limits,
                         std::vector<int32_t> &out) {
  for (size_t i = 0; i < v.size(); ++i) {
    const Json &t = v[i];
    if (!t.is_number_integer())
      return badRequest(key, llvm::Twine("'") + key + "[" + llvm::Twine(i) + "]' must be a token id "
                                 "(an integer), not " + typeName(t));
    int64_t id = t.is_number_unsigned() && t.get<uint64_t>() > uint64_t(INT32_MAX)
                     ? int64_t(INT32_MAX) + 1
                     : t.get<int64_t>();
    if (id < 0 || id >= limits.vocab)
      return badRequest(key, llvm::Twine("'") + key + "[" + llvm::Twine(i) + "]' is token " +
                                 llvm::Twine(id) + ", outside the vocabulary [0, " +
                                 llvm::Twine(limits.vocab) + ")");
    out.push_back(static_cast<int32_t>(id));
  }
  return llvm::Error::success();
}

llvm::Error readPrompt(const Json &j, const RequestLimits &limits, GenerationRequest &r) {
  const Json *p = field(j, "prompt");
  if (!p)
    return badRequest("prompt", "'prompt' is required");
  if (p->is_string()) {
    r.promptText = p->get<std::string>();
    return llvm::Error::success();
  }
  if (!p->is_array())
    return wrongType("prompt", *p, "a string or an array of token ids");
  if (p->empty())
    return badRequest("prompt", "'prompt' is an empty array");
  if (p->size() == 1 && (*p)[0].is_string()) { // ["text"]
    r.promptText = (*p)[0].get<std::string>();
    return llvm::Error::success();
  }
  if ((*p)[0].is_string())
    return badRequest("prompt", "'prompt' holds several strings: one completion a request "
                                "(send them one by one)");
  return readTokenIds(*p, "prompt", limits, r.promptTokens);
}

llvm::Error readMessages(const Json &j, GenerationRequest &r) {
  const Json *m = field(j, "messages");
  if (!m)
    return badRequest("messages", "'messages' is required");
  if (!m->is_array())
    return wrongType("messages", *m, "an array of messages");
  if (m->empty())
    return badRequest("messages", "'messages' is empty");
  for (size_t i = 0; i < m->size(); ++i) {
    const Json &msg = (*m)[i];
    std::string at = "messages[" + std::to_string(i) + "]";
    if (!msg.is_object())
      return wrongType(at, msg, "an object");
    const Json *role = field(msg, "role");
    if (!role || !role->is_string())
      return badRequest(at + ".role", "'" + at + ".role' must be a string");
    const Json *content = field(msg, "content");
    if (content && !content->is_string() && !content->is_array())
      return wrongType(at + ".content", *content, "a string, an array of parts or null");
  }
  llvm::Expected<jinja::JinjaValue> v = jinja::parseJson(m->dump(), "messages");
  if (!v)
    return badRequest("messages", llvm::toString(v.takeError()));
  r.messages = std::move(*v);
  return llvm::Error::success();
}

llvm::Error readTools(const Json &j, GenerationRequest &r) {
  const Json *t = field(j, "tools");
  const Json *choice = field(j, "tool_choice");
  if (choice) {
    // "required" and naming a function would force a call, which the
    // sampler cannot: refused rather than ignored.
    if (!choice->is_string() || (*choice != "auto" && *choice != "none"))
      return badRequest("tool_choice", "'tool_choice' must be \"auto\" or \"none\" (forcing a call, "
                                       "\"required\" or a named function, is not supported)");
    if (*choice == "none")
      return llvm::Error::success();
  }
  if (!t)
    return llvm::Error::success();
  if (!t->is_array())
    return wrongType("tools", *t, "an array of tools");
  for (size_t i = 0; i < t->size(); ++i) {
    const Json &tool = (*t)[i];
    std::string at = "tools[" + std::to_string(i) + "]";
    if (!tool.is_object())
      return wrongType(at, tool, "an object");
    const Json *fn = field(tool, "function");
    if (!fn || !fn->is_object() || !field(*fn, "name") || !(*fn)["name"].is_string())
      return badRequest(at + ".function.name", "'" + at + ".function.name' must be a string");
  }
  if (t->empty())
    return llvm::Error::success();
  llvm::Expected<jinja::JinjaValue> v = jinja::parseJson(t->dump(), "tools");
  if (!v)
    return badRequest("tools", llvm::toString(v.takeError()));
  r.tools = std::move(*v);
  return llvm::Error::success();
}

llvm::Error readStop(const Json &j, const RequestLimits &limits, GenerationRequest &r) {
  const Json *s = field(j, "stop");
  if (!s)
    return llvm::Error::success();
  auto add = [&](const Json &v, const std::string &at) -> llvm::Error {
    if (!v.is_string())
      return wrongType(at, v, "a string");
    std::string text = v.get<std::string>();
    if (text.empty())
      return badRequest("stop", "'" + at + "' is an empty string");
    if (text.size() > limits.maxStopBytes)
      return badRequest("stop", "'" + at + "' is longer than " +
                                    std::to_string(limits.maxStopBytes) + " bytes");
    r.stop.push_back(std::move(text));
    return llvm::Error::success();
  };
  if (s->is_string())
    return add(*s, "stop");
  if (!s->is_array())
    return wrongType("stop", *s, "a string or an array of strings");
  if (s->size() > limits.maxStopStrings)
    return badRequest("stop", "'stop' holds " + std::to_string(s->size()) + " strings; at most " +
                                  std::to_string(limits.maxStopStrings));
  for (size_t i = 0; i < s->size(); ++i)
    if (llvm::Error e = add((*s)[i], "stop[" + std::to_string(i) + "]"))
      return e;
  return llvm::Error::success();
}

llvm::Error readSampling(const Json &j, SamplerSettings &s) {
  std::optional<double> temperature, topP, minP, repeatPenalty;
  std::optional<int64_t> topK, repeatLastN, seed;
  if (llvm::Error e = readNumber(j, "temperature", 0, 2, false, temperature))
    return e;
  if (llvm::Error e = readNumber(j, "top_p", 0, 1, true, topP))
    return e;
  if (llvm::Error e = readNumber(j, "min_p", 0, 1, false, minP))
    return e;
  if (llvm::Error e = readNumber(j, "repeat_penalty", 0, 100, true, repeatPenalty))
    return e;
  if (llvm::Error e = readInteger(j, "top_k", 0, INT32_MAX, topK))
    return e;
  if (llvm::Error e = readInteger(j, "repeat_last_n", 0, INT32_MAX, repeatLastN))
    return e;
  if (llvm::Error e = readInteger(j, "seed", 0, INT64_MAX, seed))
    return e;
  // OpenAI's penalties have no counterpart in the library's sampler: 0 (their
  // default) is accepted, anything else refused rather than ignored.
  for (const char *key : {"presence_penalty", "frequency_penalty"}) {
    std::optional<double> p;
    if (llvm::Error e = readNumber(j, key, -2, 2, false, p))
      return e;
    if (p && *p != 0)
      return badRequest(key, llvm::Twine("'") + key + "' is not supported (use repeat_penalty)");
  }
  s.temperature = static_cast<float>(temperature.value_or(1.0));
  s.topP = static_cast<float>(topP.value_or(s.topP));
  s.minP = static_cast<float>(minP.value_or(s.minP));
  s.repeatPenalty = static_cast<float>(repeatPenalty.value_or(s.repeatPenalty));
  s.topK = static_cast<int32_t>(topK.value_or(s.topK));
  s.repeatLastN = static_cast<int32_t>(repeatLastN.value_or(s.repeatLastN));
  s.seed = static_cast<uint64_t>(seed.value_or(0));
  return llvm::Error::success();
}

} // namespace

llvm::Expected<GenerationRequest> parseGenerationRequest(llvm::StringRef body, Endpoint endpoint,
                                                         const RequestLimits &limits) {
  llvm::Expected<Json> parsed = parseBody(body);
  if (!parsed)
    return parsed.takeError();
  const Json &j = *parsed;
  GenerationRequest r;
  r.endpoint = endpoint;
  if (const Json *m = field(j, "model")) {
    if (!m->is_string())
      return wrongType("model", *m, "a string");
    r.model = m->get<std::string>();
    if (!r.model.empty() && r.model != limits.modelName)
      return llvm::make_error<ApiError>(404, "invalid_request_error",
                                        "the model '" + r.model + "' does not exist; this server "
                                        "serves '" + limits.modelName + "'",
                                        "model", "model_not_found");
  }
  if (r.model.empty())
    r.model = limits.modelName;

  if (endpoint == Endpoint::Completion) {
    if (llvm::Error e = readPrompt(j, limits, r))
      return std::move(e);
  } else {
    if (llvm::Error e = readMessages(j, r))
      return std::move(e);
    if (llvm::Error e = readTools(j, r))
      return std::move(e);
    if (const Json *name = field(j, "chat_template_name")) {
      if (!name->is_string())
        return wrongType("chat_template_name", *name, "a string");
      r.templateName = name->get<std::string>();
    }
  }

  std::optional<int64_t> maxTokens;
  const char *maxKey = endpoint == Endpoint::ChatCompletion && field(j, "max_completion_tokens")
                           ? "max_completion_tokens"
                           : "max_tokens";
  if (llvm::Error e = readInteger(j, maxKey, 1, limits.maxContext, maxTokens))
    return std::move(e);
  r.maxTokens = maxTokens;
  if (endpoint == Endpoint::Completion && !r.maxTokens)
    r.maxTokens = 16;

  if (llvm::Error e = readSampling(j, r.sampling))
    return std::move(e);
  if (llvm::Error e = readStop(j, limits, r))
    return std::move(e);
  if (llvm::Error e = readBool(j, "stream", r.stream))
    return std::move(e);
  if (llvm::Error e = readBool(j, "return_tokens", r.returnTokens))
    return std::move(e);
  if (llvm::Error e = readBool(j, "ignore_eos", r.ignoreEos))
    return std::move(e);
  if (const Json *so = field(j, "stream_options")) {
    if (!so->is_object())
      return wrongType("stream_options", *so, "an object");
    if (llvm::Error e = readBool(*so, "include_usage", r.includeUsage))
      return std::move(e);
  }
  std::optional<int64_t> n;
  if (llvm::Error e = readInteger(j, "n", 1, 1, n))
    return std::move(e);
  for (const char *key : {"logprobs", "echo"}) {
    const Json *v = field(j, key);
    if (v && !(v->is_boolean() && !v->get<bool>()) && !(v->is_number_integer() && *v == 0))
      return badRequest(key, llvm::Twine("'") + key + "' is not supported");
  }
  if (const Json *b = field(j, "logit_bias"); b && !(b->is_object() && b->empty()))
    return badRequest("logit_bias", "'logit_bias' is not supported");
  return r;
}

llvm::Expected<TokenizeRequest> parseTokenizeRequest(llvm::StringRef body) {
  llvm::Expected<Json> parsed = parseBody(body);
  if (!parsed)
    return parsed.takeError();
  TokenizeRequest r;
  const Json *c = field(*parsed, "content");
  if (!c)
    return badRequest("content", "'content' is required");
  if (!c->is_string())
    return wrongType("content", *c, "a string");
  r.content = c->get<std::string>();
  if (llvm::Error e = readBool(*parsed, "add_special", r.addSpecial))
    return std::move(e);
  if (llvm::Error e = readBool(*parsed, "parse_special", r.parseSpecial))
    return std::move(e);
  return r;
}

llvm::Expected<std::vector<int32_t>> parseDetokenizeRequest(llvm::StringRef body,
                                                            const RequestLimits &limits) {
  llvm::Expected<Json> parsed = parseBody(body);
  if (!parsed)
    return parsed.takeError();
  const Json *t = field(*parsed, "tokens");
  if (!t)
    return badRequest("tokens", "'tokens' is required");
  if (!t->is_array())
    return wrongType("tokens", *t, "an array of token ids");
  std::vector<int32_t> ids;
  if (llvm::Error e = readTokenIds(*t, "tokens", limits, ids))
    return std::move(e);
  return ids;
}

llvm::Expected<std::string> parseSlotFileRequest(llvm::StringRef body) {
  llvm::Expected<Json> parsed = parseBody(body);
  if (!parsed)
    return parsed.takeError();
  const Json *f = field(*parsed, "filename");
  if (!f)
    return badRequest("filename", "'filename' is required");
  if (!f->is_string())
    return wrongType("filename", *f, "a string");
  std::string name = f->get<std::string>();
  if (name.empty() || name.size() > 200 || name[0] == '.' ||
      name.find_first_of("/\\") != std::string::npos || name.find('\0') != std::string::npos)
    return badRequest("filename", "'filename' must be a plain file name (no '/', not starting "
                                  "with '.', at most 200 bytes)");
  return name;
}

} // namespace hybridc::serve
