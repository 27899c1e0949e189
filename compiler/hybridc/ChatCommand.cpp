//===- ChatCommand.cpp - `hybridc chat OUT_DIR` ---------------------------===//
//
// A conversation in the terminal, as people use `ollama run` or llama-cli:
// each line typed is a user message, rendered with the library's chat
// template; the reply streams as it is generated. One session carries the
// whole conversation, so a turn feeds only its own tokens. From a pipe it
// reads one message per line and writes one reply per line, nothing else
// on stdout. Commands start with '/': /help lists them.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "OptionChecks.h"
#include "SamplingOptions.h"

#include "hybridc/Chat/ChatSession.h"
#include "hybridc/Chat/ChatTemplateSource.h"
#include "hybridc/Chat/JsonText.h"
#include "hybridc/Run/Manifest.h"
#include "hybridc/Support/Error.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <iostream>
#include <string>
#include <unistd.h>

using namespace hybridc;

namespace {

struct ChatOptions {
  std::string outDir;
  std::optional<std::string> system;
  std::optional<std::string> templateName;
  std::string toolsFile;
  SamplingOptions sampling;
  int64_t maxTokens = 512;
  int32_t threads = 0;
  int64_t checkpointInterval = 512;
};

constexpr const char *kHelp =
    "Type a message and press Enter. Commands:\n"
    "  /undo        forget the last exchange (your message and the reply)\n"
    "  /reset       start the conversation over (the system message stays)\n"
    "  /save FILE   write the conversation: the session to FILE, the messages to FILE.json\n"
    "  /load FILE   continue a conversation /save wrote (same model)\n"
    "  /tool TEXT   answer the model's tool call with this result\n"
    "  /stats       tokens and speed of the last turn, the session's size\n"
    "  /help        this list\n"
    "  /exit        leave (so does end of input)\n";

std::string statsLine(const ChatSession &s) {
  std::string out;
  if (const ChatTurn *t = s.lastTurn()) {
    auto rate = [](int64_t n, double sec) { return sec > 0 ? n / sec : 0.0; };
    out += llvm::formatv("last turn: prompt {0} tokens in {1:f2} s ({2:f1} tok/s){3}, reply {4} "
                         "tokens in {5:f2} s ({6:f1} tok/s){7}\n",
                         t->promptTokens, t->promptSeconds, rate(t->promptTokens, t->promptSeconds),
                         t->rewound ? ", history fed again (the template rewrote it)" : "",
                         t->replyTokens, t->replySeconds, rate(t->replyTokens, t->replySeconds),
                         t->stoppedAtEndOfText ? "" : ", cut at --max-tokens")
               .str();
  } else {
    out += "no turn yet\n";
  }
  out += llvm::formatv("session: {0} tokens, {1} exchanges, {2:f2} MiB of state and KV cache\n",
                       s.position(), s.exchanges(), s.stateBytes() / 1048576.0)
             .str();
  return out;
}

/// Prints the tool calls of a reply, one JSON object a line.
void printToolCalls(const ChatTurn &turn, llvm::raw_ostream &os) {
  for (const ToolCall &c : turn.parsed.toolCalls) {
    llvm::Expected<std::string> json = jinja::dumpJson(toolCallValue(c));
    if (!json) {
      llvm::consumeError(json.takeError());
      continue;
    }
    os << "[tool call] " << *json << "\n";
  }
}

llvm::Error chat(const ChatOptions &o) {
  llvm::Expected<Manifest> m = readManifest(o.outDir);
  if (!m)
    return m.takeError();
  if (!m->description || m->description->chatTemplates.empty())
    return makeError(o.outDir + ": the library stores no chat template (its model shipped none); "
                                "compile it with --chat-template FILE");
  ChatSettings settings;
  settings.system = o.system;
  settings.templateName = o.templateName;
  settings.sampling = o.sampling.settings();
  settings.maxReplyTokens = o.maxTokens;
  settings.checkpointInterval = o.checkpointInterval;
  if (!o.toolsFile.empty()) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
        llvm::MemoryBuffer::getFile(o.toolsFile);
    if (!buf)
      return makeError("--tools " + o.toolsFile + ": cannot read: " + buf.getError().message());
    llvm::Expected<jinja::JinjaValue> tools = jinja::parseJson((*buf)->getBuffer(), o.toolsFile);
    if (!tools)
      return tools.takeError();
    if (!tools->isList())
      return makeError("--tools " + o.toolsFile + ": expected a JSON array of tools");
    settings.tools = std::move(*tools);
  }
  llvm::Expected<std::unique_ptr<ModelLibrary>> model = ModelLibrary::open(o.outDir, o.threads);
  if (!model)
    return model.takeError();
  // The templates the library itself returns (<name>_chat_template) are the
  // manifest's: a folder edited after the compile is refused.
  llvm::Expected<std::unique_ptr<LibraryText>> text =
      LibraryText::bind((*model)->library(), (*model)->modelHandle());
  if (!text)
    return text.takeError();
  std::vector<std::pair<std::string, std::string>> stored = (*text)->chatTemplates();
  const std::vector<ChatTemplateFacts> &recorded = m->description->chatTemplates;
  if (stored.size() != recorded.size() ||
      !std::equal(stored.begin(), stored.end(), recorded.begin(), [](const auto &a, const auto &b) {
        return a.first == b.name && a.second == b.text;
      }))
    return makeError(o.outDir + ": the library's chat templates differ from the ones its " +
                     kManifestFileName + " records (the folder changed after the compile)");
  llvm::Expected<std::unique_ptr<ChatSession>> session = ChatSession::start(
      **model, chatTemplatesOfLibrary(*m->description, o.outDir), std::move(settings));
  if (!session)
    return session.takeError();
  ChatSession &s = **session;

  // On a terminal: a banner, a prompt and a blank line after each reply.
  // From a pipe: the replies only, one a line.
  const bool interactive = isatty(STDIN_FILENO);
  llvm::raw_ostream &out = llvm::outs();
  if (interactive)
    llvm::errs() << "hybridc chat: " << m->name << " (" << (*model)->target()
                 << "); /help lists the commands, /exit leaves\n";
  auto report = [&](llvm::Error e) {
    llvm::errs() << "hybridc: error: " << llvm::toString(std::move(e)) << "\n";
  };
  auto turn = [&](const std::string &role, const std::string &content) {
    llvm::Expected<ChatTurn> t = s.say(role, content, [&](llvm::StringRef piece) {
      out << piece;
      out.flush();
    });
    if (!t) {
      out << "\n";
      out.flush();
      report(t.takeError());
      return;
    }
    out << "\n";
    printToolCalls(*t, out);
    if (interactive)
      out << "\n";
    out.flush();
  };

  std::string line;
  while (true) {
    if (interactive) {
      out << ">>> ";
      out.flush();
    }
    if (!std::getline(std::cin, line))
      break;
    llvm::StringRef l = llvm::StringRef(line).rtrim("\r");
    if (l.trim().empty())
      continue;
    if (!l.starts_with("/")) {
      turn("user", l.str());
      continue;
    }
    auto [command, rest] = l.split(' ');
    const std::string arg = rest.trim().str();
    if (command == "/exit" || command == "/quit" || command == "/bye")
      break;
    if (command == "/help") {
      llvm::errs() << kHelp;
    } else if (command == "/stats") {
      llvm::errs() << statsLine(s);
    } else if (command == "/undo") {
      llvm::Expected<bool> undone = s.undo();
      if (!undone)
        report(undone.takeError());
      else
        llvm::errs() << (*undone ? "forgot the last exchange\n" : "nothing to undo\n");
    } else if (command == "/reset") {
      if (llvm::Error e = s.reset())
        report(std::move(e));
      else
        llvm::errs() << "started over\n";
    } else if (command == "/save" || command == "/load") {
      if (arg.empty()) {
        llvm::errs() << command << " needs a file name\n";
        continue;
      }
      llvm::Error e = command == "/save" ? s.save(arg) : s.load(arg);
      if (e)
        report(std::move(e));
      else
        llvm::errs() << (command == "/save" ? "saved " : "loaded ") << s.exchanges()
                     << " exchanges, " << s.position() << " tokens\n";
    } else if (command == "/tool") {
      if (arg.empty())
        llvm::errs() << "/tool needs the tool's result as text\n";
      else
        turn("tool", arg);
    } else {
      llvm::errs() << "unknown command " << command << " (/help lists them)\n";
    }
  }
  return llvm::Error::success();
}

} // namespace

void hybridc::addChatCommand(CLI::App &app, int &exitCode) {
  auto opts = std::make_shared<ChatOptions>();
  CLI::App *cmd = app.add_subcommand(
      "chat", "Talk to a compiled model in the terminal (or through a pipe: one message a "
              "line in, one reply a line out), with its chat template");
  cmd->add_option("out_dir", opts->outDir, "Output folder of `hybridc compile`")->required();
  cmd->add_option("--system", opts->system, "A system message to start the conversation with");
  cmd->add_option("--template", opts->templateName,
                  "Which of the library's chat templates (default: 'tool_use' with --tools "
                  "when there is one, else 'default')");
  cmd->add_option("--tools", opts->toolsFile,
                  "A JSON array of tools (function schemas) the model may call; its calls "
                  "are printed as [tool call] lines, and /tool answers them")
      ->check(CLI::ExistingFile);
  opts->sampling.addTo(cmd);
  cmd->add_option("--max-tokens", opts->maxTokens,
                  "The longest reply, in tokens (default 512)")
      ->check(wholeNumber("the longest reply in tokens", 1));
  cmd->add_option("--checkpoint-interval", opts->checkpointInterval,
                  "Keep the model's state every this many tokens, so /undo feeds at most that "
                  "many again (each kept state costs the recurrent state's size; 0: none, "
                  "/undo then feeds the conversation again)")
      ->check(wholeNumber("the checkpoint interval in tokens", 0))
      ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Threads for the session")
      ->check(wholeNumber("the thread count", 1, INT32_MAX));
  cmd->callback([opts, &exitCode] {
    exitCode = 0;
    if (llvm::Error e = chat(*opts)) {
      reportError(std::move(e));
      exitCode = 1;
    }
  });
}
