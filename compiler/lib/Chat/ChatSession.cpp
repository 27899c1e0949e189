//===- ChatSession.cpp - one conversation kept in one model session -------===//
#include "hybridc/Chat/ChatSession.h"

#include "hybridc/Chat/JsonText.h"
#include "hybridc/Support/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace hybridc;
using jinja::JinjaDict;
using jinja::JinjaValue;
using jinja::ValueList;

namespace {

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

llvm::Expected<std::unique_ptr<ChatSession>>
ChatSession::start(ModelLibrary &model, const ChatTemplateSet &templates, ChatSettings settings) {
  std::unique_ptr<ChatSession> s(new ChatSession(model));
  llvm::Expected<std::unique_ptr<LibraryText>> text =
      LibraryText::bind(model.library(), model.modelHandle());
  if (!text)
    return text.takeError();
  s->text = std::move(*text);
  llvm::Expected<std::pair<std::string, std::string>> chosen =
      templates.select(settings.templateName, settings.tools.has_value());
  if (!chosen)
    return chosen.takeError();
  llvm::Expected<ChatTemplate> tmpl = ChatTemplate::parse(chosen->second, chosen->first);
  if (!tmpl)
    return tmpl.takeError();
  s->tmpl = std::move(*tmpl);
  s->bosToken = templates.bosToken;
  s->eosToken = templates.eosToken;
  if (llvm::Error e = model.setCheckpointInterval(settings.checkpointInterval))
    return std::move(e);
  if (settings.system)
    s->messages.push_back(s->message("system", *settings.system));
  s->fixedMessages = s->messages.size();
  s->settings = std::move(settings);
  return s;
}

JinjaValue ChatSession::message(const std::string &role, const std::string &content) const {
  JinjaDict d;
  d.set(JinjaValue::string("role"), JinjaValue::string(role));
  d.set(JinjaValue::string("content"), JinjaValue::string(content));
  return JinjaValue::dict(std::move(d));
}

llvm::Expected<std::string> ChatSession::render(const ValueList &list,
                                                bool addGenerationPrompt) const {
  ChatInputs inputs;
  inputs.messages = JinjaValue::list(list);
  inputs.tools = settings.tools;
  inputs.addGenerationPrompt = addGenerationPrompt;
  inputs.bosToken = bosToken;
  inputs.eosToken = eosToken;
  llvm::Expected<JinjaValue> context = buildChatContext(inputs);
  if (!context)
    return context.takeError();
  return tmpl->render(*context);
}

llvm::Error ChatSession::feed(llvm::StringRef part, std::vector<float> &logits,
                              std::vector<int32_t> &fed) {
  llvm::Expected<std::vector<int32_t>> ids = text->tokenize(part, kTokenizeParseSpecial);
  if (!ids)
    return ids.takeError();
  if (ids->empty())
    return makeError("the chat template's text for this turn gives no tokens");
  if (llvm::Error e = model.prefill(ids->data(), int64_t(ids->size()), logits.data(), false))
    return e;
  fed.insert(fed.end(), ids->begin(), ids->end());
  tokens.insert(tokens.end(), ids->begin(), ids->end());
  return llvm::Error::success();
}

llvm::Error ChatSession::refeed(std::vector<int32_t> ids) {
  if (llvm::Error e = model.reset())
    return e;
  tokens.clear();
  if (!ids.empty()) {
    std::vector<float> logits(static_cast<size_t>(model.vocab()));
    if (llvm::Error e = model.prefill(ids.data(), int64_t(ids.size()), logits.data(), false))
      return e;
  }
  tokens = std::move(ids);
  return llvm::Error::success();
}

llvm::Error ChatSession::rewindTo(size_t k) {
  const Mark m = marks[k];
  if (llvm::Error e = model.truncate(m.position)) {
    // No kept state at or before it: start over with its tokens.
    llvm::consumeError(std::move(e));
    if (llvm::Error r = refeed({tokens.begin(), tokens.begin() + m.position}))
      return r;
  }
  consumed.resize(m.consumedBytes);
  tokens.resize(static_cast<size_t>(model.position()));
  messages.resize(m.messages);
  marks.resize(k);
  return llvm::Error::success();
}

llvm::Error ChatSession::consume(const std::string &target, std::vector<float> &logits,
                                 std::vector<int32_t> &fed, ChatTurn &turn, Mark &from) {
  llvm::StringRef t(target);
  // The usual case: the session holds the history as the template renders
  // it, and only the new turn is fed. (An empty remainder would leave no
  // logits to sample from, so it rewinds too.)
  from = {model.position(), 0, consumed.size()};
  if (t.size() > consumed.size() && t.starts_with(consumed))
    return feed(t.drop_front(consumed.size()), logits, fed);
  turn.rewound = true;
  for (size_t k = marks.size(); k-- > 0;) {
    const Mark m = marks[k];
    if (t.size() > m.consumedBytes &&
        t.starts_with(llvm::StringRef(consumed).take_front(m.consumedBytes))) {
      if (llvm::Error e = rewindTo(k))
        return e;
      from = {model.position(), 0, m.consumedBytes};
      return feed(t.drop_front(m.consumedBytes), logits, fed);
    }
  }
  if (llvm::Error e = model.reset())
    return e;
  consumed.clear();
  tokens.clear();
  marks.clear();
  from = {0, 0, 0};
  return feed(t, logits, fed);
}

llvm::Error ChatSession::restore(const Snapshot &before, bool rewound) {
  // Without a rewind the session still holds the old text as its first
  // before.position tokens; after one, it must be fed again.
  llvm::Error e = rewound ? makeError("rewound") : model.truncate(before.position);
  if (e) {
    llvm::consumeError(std::move(e));
    if (llvm::Error r = refeed(before.tokens))
      return r;
  }
  messages = before.messages;
  consumed = before.consumed;
  tokens = before.tokens;
  marks = before.marks;
  return llvm::Error::success();
}

llvm::Expected<ChatTurn> ChatSession::say(const std::string &role, const std::string &content,
                                          llvm::function_ref<void(llvm::StringRef)> onText) {
  ValueList next = messages;
  next.push_back(message(role, content));
  llvm::Expected<std::string> prompt = render(next, /*addGenerationPrompt=*/true);
  if (!prompt)
    return prompt.takeError();

  // What a failure below goes back to.
  const Snapshot before{model.position(), messages, consumed, tokens, marks};
  ChatTurn turn;
  auto fail = [&](llvm::Error e) -> llvm::Error {
    if (llvm::Error r = restore(before, turn.rewound))
      return makeError(llvm::toString(std::move(e)) + "; and the session could not be put "
                       "back: " + llvm::toString(std::move(r)) + " (/reset starts over)");
    return e;
  };

  std::vector<float> logits(static_cast<size_t>(model.vocab()));
  std::vector<int32_t> fed;
  Mark start;
  auto t0 = std::chrono::steady_clock::now();
  if (llvm::Error e = consume(*prompt, logits, fed, turn, start))
    return fail(std::move(e));
  start.messages = before.messages.size();
  turn.promptTokens = static_cast<int64_t>(fed.size());
  turn.promptSeconds = secondsSince(t0);

  llvm::Expected<std::unique_ptr<LibrarySampler>> sampler = text->sampler(settings.sampling);
  if (!sampler)
    return fail(sampler.takeError());
  if (llvm::Error e = (*sampler)->accept(fed))
    return fail(std::move(e));

  // Generate, streaming whole UTF-8 characters.
  t0 = std::chrono::steady_clock::now();
  const int32_t eos = text->eos();
  std::vector<int32_t> waiting;
  std::string waitingBytes;
  auto flush = [&]() -> llvm::Error {
    llvm::Expected<std::string> out = text->detokenize(waiting);
    if (!out)
      return out.takeError();
    turn.reply += *out;
    onText(*out);
    waiting.clear();
    waitingBytes.clear();
    return llvm::Error::success();
  };
  for (int64_t i = 0; i < settings.maxReplyTokens; ++i) {
    llvm::Expected<int32_t> nextToken = (*sampler)->sample(logits.data());
    if (!nextToken)
      return fail(nextToken.takeError());
    if (*nextToken == eos) {
      turn.stoppedAtEndOfText = true;
      break;
    }
    llvm::Expected<std::string> piece = text->piece(*nextToken);
    if (!piece)
      return fail(piece.takeError());
    waiting.push_back(*nextToken);
    waitingBytes += *piece;
    if (unfinishedUtf8Tail(waitingBytes) == 0)
      if (llvm::Error e = flush())
        return fail(std::move(e));
    if (llvm::Error e = model.decode(*nextToken, logits.data()))
      return fail(std::move(e));
    tokens.push_back(*nextToken);
    ++turn.replyTokens;
  }
  if (!waiting.empty())
    if (llvm::Error e = flush())
      return fail(std::move(e));
  turn.replySeconds = secondsSince(t0);

  // The session now holds the prompt and the reply's tokens (not the end of
  // text, which the next render writes and the next turn feeds).
  consumed = *prompt + turn.reply;
  turn.parsed = parseToolCalls(turn.reply);
  messages = std::move(next);
  messages.push_back(turn.parsed.toolCalls.empty() ? message("assistant", turn.reply)
                                                   : assistantMessage(turn.parsed));
  marks.push_back(start);
  last = turn;
  return turn;
}

llvm::Expected<bool> ChatSession::undo() {
  if (marks.empty())
    return false;
  if (llvm::Error e = rewindTo(marks.size() - 1))
    return std::move(e);
  last.reset();
  return true;
}

llvm::Error ChatSession::reset() {
  if (llvm::Error e = model.reset())
    return e;
  messages.resize(fixedMessages);
  consumed.clear();
  tokens.clear();
  marks.clear();
  last.reset();
  return llvm::Error::success();
}

llvm::Error ChatSession::save(const std::string &path) const {
  if (llvm::Error e = model.saveState(path))
    return e;
  JinjaDict d;
  d.set(JinjaValue::string("messages"), JinjaValue::list(messages));
  d.set(JinjaValue::string("consumed"), JinjaValue::string(consumed));
  ValueList ids;
  for (int32_t t : tokens)
    ids.push_back(JinjaValue::integer(t));
  d.set(JinjaValue::string("tokens"), JinjaValue::list(std::move(ids)));
  ValueList list;
  for (const Mark &m : marks) {
    JinjaDict md;
    md.set(JinjaValue::string("position"), JinjaValue::integer(m.position));
    md.set(JinjaValue::string("messages"), JinjaValue::integer(int64_t(m.messages)));
    md.set(JinjaValue::string("consumed_bytes"), JinjaValue::integer(int64_t(m.consumedBytes)));
    list.push_back(JinjaValue::dict(std::move(md)));
  }
  d.set(JinjaValue::string("exchanges"), JinjaValue::list(std::move(list)));
  llvm::Expected<std::string> json = jinja::dumpJson(JinjaValue::dict(std::move(d)));
  if (!json)
    return json.takeError();
  std::error_code ec;
  llvm::raw_fd_ostream out(path + ".json", ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError(path + ".json: cannot write: " + ec.message());
  out << *json;
  out.close();
  if (out.has_error())
    return makeError(path + ".json: " + out.error().message());
  return llvm::Error::success();
}

llvm::Error ChatSession::load(const std::string &path) {
  const std::string sidecar = path + ".json";
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf = llvm::MemoryBuffer::getFile(sidecar);
  if (!buf)
    return makeError(sidecar + ": cannot read: " + buf.getError().message() +
                     " (/save writes the session image and this file beside it)");
  llvm::Expected<JinjaValue> root = jinja::parseJson((*buf)->getBuffer(), sidecar);
  if (!root)
    return root.takeError();
  auto field = [&](const char *key) -> const JinjaValue * {
    return root->isDict() ? root->getDict().find(key) : nullptr;
  };
  const JinjaValue *msgs = field("messages"), *text = field("consumed"),
                   *ids = field("tokens"), *exchanges = field("exchanges");
  if (!msgs || !msgs->isList() || !text || !text->isString() || !ids || !ids->isList() ||
      !exchanges || !exchanges->isList())
    return makeError(sidecar + ": expected {\"messages\": [...], \"consumed\": \"...\", "
                               "\"tokens\": [...], \"exchanges\": [...]}");
  std::vector<int32_t> loadedTokens;
  for (const JinjaValue &t : ids->getList()) {
    if (!t.isInt() || t.getInt() < 0 || t.getInt() >= model.vocab())
      return makeError(sidecar + ": tokens: " + (t.isInt() ? std::to_string(t.getInt()) : "a value") +
                       " is not a token id of this model");
    loadedTokens.push_back(static_cast<int32_t>(t.getInt()));
  }
  std::vector<Mark> loaded;
  for (const JinjaValue &m : exchanges->getList()) {
    const JinjaValue *p = m.isDict() ? m.getDict().find("position") : nullptr;
    const JinjaValue *n = m.isDict() ? m.getDict().find("messages") : nullptr;
    const JinjaValue *b = m.isDict() ? m.getDict().find("consumed_bytes") : nullptr;
    if (!p || !n || !b || !p->isInt() || !n->isInt() || !b->isInt() || n->getInt() < 0 ||
        uint64_t(n->getInt()) > msgs->getList().size() || b->getInt() < 0 ||
        uint64_t(b->getInt()) > text->getString().size())
      return makeError(sidecar + ": an exchange is not {position, messages, consumed_bytes} "
                                 "within the conversation");
    loaded.push_back({p->getInt(), size_t(n->getInt()), size_t(b->getInt())});
  }
  // The image and the conversation must be one /save's: the image's
  // position is the number of tokens the conversation fed.
  const std::vector<int32_t> tokensBefore = tokens;
  if (llvm::Error e = model.loadState(path)) // leaves the session as it was on failure
    return e;
  if (model.position() != static_cast<int64_t>(loadedTokens.size())) {
    const int64_t got = model.position();
    // Put the conversation's session back as it was.
    if (llvm::Error r = refeed(tokensBefore))
      return r;
    return makeError(path + " holds " + std::to_string(got) + " tokens but " + sidecar +
                     " says " + std::to_string(loadedTokens.size()) +
                     ": the two are not from one /save");
  }
  messages = msgs->getList();
  consumed = text->getString();
  tokens = std::move(loadedTokens);
  marks = std::move(loaded);
  last.reset();
  return llvm::Error::success();
}
