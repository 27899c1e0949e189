//===- ChatSession.h - one conversation kept in one model session -*- C++ -*-===//
//
// A hybrid model's state carries the whole conversation, so a new turn need
// cost only its own tokens. ChatSession keeps the messages, renders them
// with the model's chat template after every change, and feeds the session
// only the text past what it has already consumed: the rendered prompt of
// the new turn. When a template renders the history differently from what
// the session saw (one that drops earlier reasoning, say), the session is
// rewound to the last turn whose text still matches, or started over, and
// the turn says so. `hybridc chat` drives one; a server would drive many.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_CHAT_CHATSESSION_H
#define HYBRIDC_CHAT_CHATSESSION_H

#include "hybridc/Chat/ChatTemplate.h"
#include "hybridc/Chat/ChatTemplateSource.h"
#include "hybridc/Chat/ToolCalls.h"
#include "hybridc/Run/LibraryText.h"
#include "hybridc/Run/ModelLibrary.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hybridc {

struct ChatSettings {
  std::optional<std::string> system;       // a system message first
  std::optional<std::string> templateName; // else as transformers picks
  std::optional<jinja::JinjaValue> tools;  // a list of tool dicts
  SamplerSettings sampling;                // temperature 0: greedy
  int64_t maxReplyTokens = 512;
  /// The session keeps a state every this many tokens, so /undo rewinds by
  /// re-feeding at most this many tokens.
  int64_t checkpointInterval = 512;
};

/// What one turn did.
struct ChatTurn {
  std::string reply;         // the model's text
  ParsedReply parsed;        // its text and tool calls
  int64_t promptTokens = 0;  // tokens fed for this turn's prompt
  bool rewound = false;      // the template changed history: some of it was fed again
  int64_t replyTokens = 0;
  double promptSeconds = 0, replySeconds = 0;
  bool stoppedAtEndOfText = false;
};

class ChatSession {
public:
  static llvm::Expected<std::unique_ptr<ChatSession>>
  start(ModelLibrary &model, const ChatTemplateSet &templates, ChatSettings settings);

  /// Adds a message of `role` ("user", or "tool" for a tool's result) and
  /// generates the reply, handing its text to `onText` as whole UTF-8
  /// characters while it is generated. A failure leaves the conversation
  /// and the session as they were.
  llvm::Expected<ChatTurn> say(const std::string &role, const std::string &content,
                               llvm::function_ref<void(llvm::StringRef)> onText);
  /// Back to before the last exchange; false when there is none.
  llvm::Expected<bool> undo();
  /// An empty conversation (the system message kept).
  llvm::Error reset();
  /// The session image to `path` and the conversation to `path`.json (the
  /// messages, the text and the tokens the session was fed); load reads
  /// both back (into this model's session).
  llvm::Error save(const std::string &path) const;
  llvm::Error load(const std::string &path);

  int64_t position() const { return model.position(); }
  int64_t stateBytes() const { return model.stateBytes(); }
  size_t exchanges() const { return marks.size(); }
  const ChatTurn *lastTurn() const { return last ? &*last : nullptr; }

private:
  ChatSession(ModelLibrary &model) : model(model) {}
  llvm::Expected<std::string> render(const jinja::ValueList &messages,
                                     bool addGenerationPrompt) const;
  /// Makes the session hold exactly `target`, feeding what it lacks (from
  /// where it holds a prefix of it: now, at an earlier exchange, or from
  /// the start); the logits of its last token go to `logits`, the tokens
  /// fed to `fed`, and where feeding began (position, consumed bytes) to
  /// `from`.
  struct Mark;
  llvm::Error consume(const std::string &target, std::vector<float> &logits,
                      std::vector<int32_t> &fed, ChatTurn &turn, Mark &from);
  /// Tokenizes `text` (special tokens parsed, none added: the template
  /// writes them) and prefills it.
  llvm::Error feed(llvm::StringRef text, std::vector<float> &logits, std::vector<int32_t> &fed);
  /// Back to the state of mark `k` (marks after it dropped).
  llvm::Error rewindTo(size_t k);
  /// Starts the session over holding exactly `ids` (the history it had):
  /// where no kept state lets truncate go back.
  llvm::Error refeed(std::vector<int32_t> ids);
  jinja::JinjaValue message(const std::string &role, const std::string &content) const;

  ModelLibrary &model;
  std::unique_ptr<LibraryText> text;
  ChatSettings settings;
  std::optional<ChatTemplate> tmpl;
  std::optional<std::string> bosToken, eosToken;
  jinja::ValueList messages; // the conversation, the system message first
  size_t fixedMessages = 0;  // the system message: kept by reset
  std::string consumed;      // exactly the text the session has been fed
  std::vector<int32_t> tokens; // and its tokens, as fed (the session's history)
  /// Before each exchange: the session position, the messages and the
  /// bytes of `consumed` then, a prefix of it now (for undo, and to rewind
  /// when a render changes history).
  struct Mark {
    int64_t position = 0;
    size_t messages = 0;
    size_t consumedBytes = 0;
  };
  std::vector<Mark> marks;
  std::optional<ChatTurn> last;
  /// Everything a failed turn puts back.
  struct Snapshot {
    int64_t position;
    jinja::ValueList messages;
    std::string consumed;
    std::vector<int32_t> tokens;
    std::vector<Mark> marks;
  };
  llvm::Error restore(const Snapshot &before, bool rewound);
};

} // namespace hybridc

#endif // HYBRIDC_CHAT_CHATSESSION_H
