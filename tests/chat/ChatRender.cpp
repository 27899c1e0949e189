//===- ChatRender.cpp - hybridc-chat-render: render cases for the oracle --===//
//
// Reads a JSONL file of cases and writes one JSON line per case, for
// oracle.py to compare with Python's Jinja2. A case is either
//   {"template": T, "context": {...}}             rendered as given, or
//   {"template": T, "messages": [...], "tools": [...]?, "add_generation_prompt": b?,
//    "bos_token": s?, "eos_token": s?, "vars": {...}?}
// whose context is built by buildChatContext, as `hybridc chat-template`
// builds it. The output line is {"text": ...} or {"error": ...}.
//
// Usage: hybridc-chat-render CASES.jsonl > RESULTS.jsonl
//
//===----------------------------------------------------------------------===//
#include "hybridc/Chat/ChatTemplate.h"
#include "hybridc/Chat/JsonText.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace hybridc;
using namespace hybridc::jinja;

namespace {

llvm::Expected<std::string> renderCase(const JinjaValue &c) {
  if (!c.isDict())
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "a case must be an object");
  const JinjaDict &d = c.getDict();
  const JinjaValue *tmpl = d.find("template");
  if (!tmpl || !tmpl->isString())
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "a case needs \"template\"");
  const JinjaValue *name = d.find("name");
  llvm::Expected<ChatTemplate> t =
      ChatTemplate::parse(tmpl->getString(), name && name->isString() ? name->getString() : "case");
  if (!t)
    return t.takeError();
  JinjaValue context;
  if (const JinjaValue *ctx = d.find("context")) {
    context = *ctx;
  } else {
    ChatInputs in;
    if (const JinjaValue *m = d.find("messages"))
      in.messages = *m;
    if (const JinjaValue *tools = d.find("tools"); tools && !tools->isNone())
      in.tools = *tools;
    if (const JinjaValue *g = d.find("add_generation_prompt"))
      in.addGenerationPrompt = truthy(*g);
    if (const JinjaValue *b = d.find("bos_token"); b && b->isString())
      in.bosToken = b->getString();
    if (const JinjaValue *e = d.find("eos_token"); e && e->isString())
      in.eosToken = e->getString();
    if (const JinjaValue *vars = d.find("vars"); vars && vars->isDict())
      for (const auto &kv : vars->getDict().items)
        in.extra.emplace_back(toStr(kv.first), kv.second);
    llvm::Expected<JinjaValue> built = buildChatContext(in);
    if (!built)
      return built.takeError();
    context = std::move(*built);
  }
  return t->render(context);
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    llvm::errs() << "usage: hybridc-chat-render CASES.jsonl\n";
    return 2;
  }
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf = llvm::MemoryBuffer::getFile(argv[1]);
  if (!buf) {
    llvm::errs() << argv[1] << ": " << buf.getError().message() << "\n";
    return 2;
  }
  llvm::SmallVector<llvm::StringRef, 0> lines;
  (*buf)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (size_t i = 0; i < lines.size(); ++i) {
    JinjaDict result;
    llvm::Expected<JinjaValue> c = parseJson(lines[i], "case " + std::to_string(i + 1));
    llvm::Expected<std::string> text =
        c ? renderCase(*c) : llvm::Expected<std::string>(c.takeError());
    if (text)
      result.set(JinjaValue::string("text"), JinjaValue::string(std::move(*text)));
    else
      result.set(JinjaValue::string("error"), JinjaValue::string(llvm::toString(text.takeError())));
    llvm::Expected<std::string> line = dumpJson(JinjaValue::dict(std::move(result)));
    if (!line) {
      llvm::errs() << llvm::toString(line.takeError()) << "\n";
      return 2;
    }
    llvm::outs() << *line << "\n";
  }
  return 0;
}
